"""ThermoPro TP357: the name is "TP357 (XXXX)"; the manufacturer data's company-id bytes
are an undocumented byte and the temperature's low byte, then the temperature's high byte,
the humidity (%) and the battery level (0 low, 1 half, 2 full). No counter.
"""

from __future__ import annotations

from soak.families.base import (
    AdvertisementRecordFields,
    Family,
    Measurements,
    Values,
    broken,
    fields,
    short_id,
    steps,
)

_FIRST_BYTE = 0xC2
_LEVELS = {0: 10, 1: 50, 2: 100}  # battery level -> the % the hub reports


def level_of(battery: float) -> int:
    """The three-bar battery level a TP357 shows for a charge of `battery` %."""
    return 2 if battery > 66 else 1 if battery > 25 else 0


def encode_tp357(
    values: Values, _counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    raw = steps(values["temperature"], 0.1, -32768, 32767) & 0xFFFF
    humidity = steps(values["humidity"], 1, 0, 100)
    level = level_of(values["battery"])
    company = _FIRST_BYTE | (raw & 0xFF) << 8
    payload = bytes((raw >> 8, humidity, level, 0x2C))
    signed = raw - 0x10000 if raw & 0x8000 else raw
    m: Measurements = {"temperature": signed / 10, "humidity": humidity, "battery": _LEVELS[level]}
    return fields(m, name=f"TP357 ({short_id(address)})", manufacturer_data={company: payload})


def broken_thermopro(address: str, _key: bytes | None) -> tuple[AdvertisementRecordFields, ...]:
    name = f"TP357 ({short_id(address)})"
    return (
        broken("payload of 7 bytes", name=name, manufacturer_data={0x00C2: b"\x01" * 7}),
        broken("payload of 2 bytes", name=name, manufacturer_data={0x00C2: b"\x01\x02"}),
        broken(
            "two entries", name=name, manufacturer_data={0x10C2: b"\x01" * 4, 0x20C2: b"\x02" * 4}
        ),
    )


TP357 = Family(
    name="thermopro_tp357",
    integration="thermopro",
    model="TP357",
    quantities=("temperature", "humidity", "battery"),
    encode_fn=encode_tp357,
    broken_fn=broken_thermopro,
    intervals=(5.0, 10.0),
    repeats=(1, 2),
    ranges={"temperature": (-20.0, 60.0)},
    resolution={"temperature": 0.1, "humidity": 1},
)
