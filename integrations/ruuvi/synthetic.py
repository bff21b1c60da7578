"""Deterministic RuuviTag format 5 payloads for benchmarks: many tags, every one a new
measurement, values varying in every field so nothing is served from a cache."""

from __future__ import annotations

from integrations.ruuvi.df5 import encode

MAC_BASE = 0xC0_00_00_00_00_00


def tag_mac(sensor: int) -> bytes:
    """The MAC of synthetic tag number `sensor`."""
    return (MAC_BASE + sensor).to_bytes(6, "big")


def tag_address(sensor: int) -> str:
    """`tag_mac` as the hub writes addresses (AA:BB:...)."""
    return ":".join(f"{b:02X}" for b in tag_mac(sensor))


def tag_name(sensor: int) -> str:
    """The name a real tag would advertise: "Ruuvi" and the MAC's last four hex digits."""
    return f"Ruuvi {tag_mac(sensor).hex()[-4:].upper()}"


def payload(i: int, sensor: int, sequence: int) -> bytes:
    """The format 5 payload of reading number `i` of `sensor`, with its frame `sequence`."""
    return encode(
        temperature=20 + (i % 97) * 0.01,
        humidity=40 + (i % 89) * 0.05,
        pressure=1000 + (i % 83) * 0.1,
        acceleration=(0.01, -0.02, 1.0),
        voltage=2.95,
        tx_power=4,
        movement_counter=i % 200,
        sequence=sequence % 65535,
        mac=tag_mac(sensor),
    )
