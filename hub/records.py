"""Advertisement records (contract 1): one JSON object per line, to and from `Advertisement`."""

from __future__ import annotations

import math
import re
from typing import Any

import orjson

from hub.errors import RecordError
from hub.events import Advertisement

_ADDRESS = re.compile(r"[0-9A-F]{2}(?::[0-9A-F]{2}){5}")
_BASE_UUID_SUFFIX = "-0000-1000-8000-00805f9b34fb"


def normalise_address(value: object) -> str:
    """Upper-case `AA:BB:CC:DD:EE:FF`; raises RecordError for anything else."""
    if not isinstance(value, str):
        raise RecordError("address missing or not a string")
    address = value.strip().upper().replace("-", ":")
    if not _ADDRESS.fullmatch(address):
        raise RecordError(f"address {value!r} is not AA:BB:CC:DD:EE:FF")
    return address


def normalise_uuid(value: str) -> str:
    """Full 128-bit lower-case UUID; 16- and 32-bit short forms are expanded."""
    text = value.strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if len(text) == 4:
        return f"0000{text}{_BASE_UUID_SUFFIX}"
    if len(text) == 8:
        return f"{text}{_BASE_UUID_SUFFIX}"
    return text


def _hex(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise RecordError(f"{where}: payload must be a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise RecordError(f"{where}: payload is not hex") from None


def _optional_int(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"{key} must be a number")
    return int(value)


def parse_record(obj: object, *, now: float | None = None, source: str = "") -> Advertisement:
    """Build an Advertisement from a decoded JSON record; raises RecordError with the reason."""
    if not isinstance(obj, dict):
        raise RecordError("record is not a JSON object")
    address = obj.get("address")
    # Fast path for the usual, already normalised address.
    if not (isinstance(address, str) and _ADDRESS.fullmatch(address)):
        address = normalise_address(address)
    ts = obj.get("ts")
    if ts is None:
        if now is None:
            raise RecordError("ts missing")
        ts = now
    elif isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
        raise RecordError("ts must be seconds since the epoch")

    manufacturer: dict[int, bytes] = {}
    raw_mfr = obj.get("manufacturer_data") or {}
    if not isinstance(raw_mfr, dict):
        raise RecordError("manufacturer_data must be an object")
    for key, payload in raw_mfr.items():
        try:
            company = int(key)
        except ValueError:
            raise RecordError(
                f"manufacturer_data key {key!r} is not a decimal company id"
            ) from None
        if not 0 <= company <= 0xFFFF:
            raise RecordError(f"manufacturer_data key {key!r} is out of range")
        manufacturer[company] = _hex(payload, f"manufacturer_data[{key}]")

    service: dict[str, bytes] = {}
    raw_svc = obj.get("service_data") or {}
    if not isinstance(raw_svc, dict):
        raise RecordError("service_data must be an object")
    for key, payload in raw_svc.items():
        service[key if len(key) == 36 and key.islower() else normalise_uuid(key)] = _hex(
            payload, f"service_data[{key}]"
        )

    raw_uuids = obj.get("service_uuids") or ()
    if not isinstance(raw_uuids, list | tuple) or not all(isinstance(u, str) for u in raw_uuids):
        raise RecordError("service_uuids must be a list of strings")
    name = obj.get("name")
    rssi = obj.get("rssi")
    return Advertisement(
        ts=float(ts),
        address=address,
        name=name if isinstance(name, str) else None,
        rssi=rssi if type(rssi) is int else _optional_int(obj, "rssi"),
        manufacturer_data=manufacturer,
        service_data=service,
        service_uuids=tuple(normalise_uuid(u) for u in raw_uuids) if raw_uuids else (),
        tx_power=_optional_int(obj, "tx_power") if "tx_power" in obj else None,
        source=source,
    )


def parse_line(line: str, *, now: float | None = None, source: str = "") -> Advertisement:
    """Parse one JSONL line; raises RecordError with a short reason."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    return parse_record(obj, now=now, source=source)


def to_record(adv: Advertisement) -> dict[str, Any]:
    """The contract 1 record of an advertisement (optional fields left out when empty)."""
    record: dict[str, Any] = {"ts": adv.ts, "address": adv.address}
    if adv.name is not None:
        record["name"] = adv.name
    if adv.rssi is not None:
        record["rssi"] = adv.rssi
    if adv.manufacturer_data:
        record["manufacturer_data"] = {str(k): v.hex() for k, v in adv.manufacturer_data.items()}
    if adv.service_data:
        record["service_data"] = {k: v.hex() for k, v in adv.service_data.items()}
    if adv.service_uuids:
        record["service_uuids"] = list(adv.service_uuids)
    if adv.tx_power is not None:
        record["tx_power"] = adv.tx_power
    return record
