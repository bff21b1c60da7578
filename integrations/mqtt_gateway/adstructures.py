"""Raw BLE advertising data (the AD structures of the Core Specification, Vol 3 Part C §11)
turned into the fields of an advertisement record: manufacturer data, service data,
service UUIDs, local name, TX power.

Each structure is one length byte, one type byte, and length-1 bytes of data. A zero
length ends the data (the rest is padding). Multi-byte values are little-endian.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.errors import HubError

_BASE = "-0000-1000-8000-00805f9b34fb"

FLAGS = 0x01
UUID16 = (0x02, 0x03)
UUID32 = (0x04, 0x05)
UUID128 = (0x06, 0x07)
SHORT_NAME = 0x08
COMPLETE_NAME = 0x09
TX_POWER = 0x0A
SERVICE_DATA16 = 0x16
SERVICE_DATA32 = 0x20
SERVICE_DATA128 = 0x21
MANUFACTURER = 0xFF


class AdError(HubError):
    """Advertising data that cannot be split into AD structures."""


@dataclass(slots=True)
class AdFields:
    """What an advertisement's AD structures carry, in the shapes of contract 1."""

    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    service_data: dict[str, bytes] = field(default_factory=dict)
    service_uuids: list[str] = field(default_factory=list)
    name: str | None = None
    tx_power: int | None = None


def uuid16(value: int) -> str:
    return f"0000{value:04x}{_BASE}"


def uuid32(value: int) -> str:
    return f"{value:08x}{_BASE}"


def uuid128(little_endian: bytes) -> str:
    return str(uuid.UUID(bytes=little_endian[::-1]))


def parse_ad(data: bytes) -> AdFields:
    """Split `data` into AD structures; raises AdError when a structure is cut short."""
    fields = AdFields()
    short_name: str | None = None
    i, size = 0, len(data)
    while i < size:
        length = data[i]
        if length == 0:
            break
        end = i + 1 + length
        if end > size:
            raise AdError(f"AD structure at byte {i} needs {length} bytes, {size - i - 1} left")
        kind, value = data[i + 1], data[i + 2 : end]
        i = end
        if kind == MANUFACTURER:
            if len(value) < 2:
                raise AdError("manufacturer data shorter than its company id")
            fields.manufacturer_data[int.from_bytes(value[:2], "little")] = bytes(value[2:])
        elif kind == SERVICE_DATA16:
            if len(value) < 2:
                raise AdError("16-bit service data shorter than its UUID")
            fields.service_data[uuid16(int.from_bytes(value[:2], "little"))] = bytes(value[2:])
        elif kind == SERVICE_DATA32:
            if len(value) < 4:
                raise AdError("32-bit service data shorter than its UUID")
            fields.service_data[uuid32(int.from_bytes(value[:4], "little"))] = bytes(value[4:])
        elif kind == SERVICE_DATA128:
            if len(value) < 16:
                raise AdError("128-bit service data shorter than its UUID")
            fields.service_data[uuid128(value[:16])] = bytes(value[16:])
        elif kind in UUID16:
            _add_uuids(fields, value, 2, lambda b: uuid16(int.from_bytes(b, "little")))
        elif kind in UUID32:
            _add_uuids(fields, value, 4, lambda b: uuid32(int.from_bytes(b, "little")))
        elif kind in UUID128:
            _add_uuids(fields, value, 16, uuid128)
        elif kind == COMPLETE_NAME:
            fields.name = value.decode("utf-8", errors="replace")
        elif kind == SHORT_NAME:
            short_name = value.decode("utf-8", errors="replace")
        elif kind == TX_POWER and len(value) == 1:
            fields.tx_power = int.from_bytes(value, "little", signed=True)
        # Flags, appearance and the rest carry nothing a decoder reads.
    if fields.name is None:
        fields.name = short_name
    return fields


def _add_uuids(fields: AdFields, value: bytes, width: int, convert: Callable[[bytes], str]) -> None:
    if len(value) % width:
        raise AdError(f"service UUID list of {len(value)} bytes is not a multiple of {width}")
    for start in range(0, len(value), width):
        found = convert(value[start : start + width])
        if found not in fields.service_uuids:
            fields.service_uuids.append(found)


def build_ad(
    *,
    manufacturer_data: dict[int, bytes] | None = None,
    service_data: dict[str, bytes] | None = None,
    name: str | None = None,
    flags: int | None = 0x06,
) -> bytes:
    """The AD structures a device would send for these fields (tests, simulations)."""
    out = bytearray()

    def put(kind: int, value: bytes) -> None:
        if len(value) > 254:
            raise AdError("an AD structure holds at most 254 bytes")
        out.extend((len(value) + 1, kind))
        out.extend(value)

    if flags is not None:
        put(FLAGS, bytes([flags]))
    for key, payload in (service_data or {}).items():
        text = key.lower()
        if text.endswith(_BASE) and text.startswith("0000"):
            put(SERVICE_DATA16, int(text[4:8], 16).to_bytes(2, "little") + payload)
        elif text.endswith(_BASE):
            put(SERVICE_DATA32, int(text[:8], 16).to_bytes(4, "little") + payload)
        else:
            put(SERVICE_DATA128, uuid.UUID(text).bytes[::-1] + payload)
    for company, payload in (manufacturer_data or {}).items():
        put(MANUFACTURER, company.to_bytes(2, "little") + payload)
    if name:
        put(COMPLETE_NAME, name.encode())
    return bytes(out)
