"""Gateway messages turned into advertisements (contract 1), one function per format.

- `ruuvi`: the Ruuvi Gateway's MQTT format. Topic `ruuvi/<gateway MAC>/<tag MAC>`, payload
  `{"gw_mac": ..., "rssi": -62, "ts": 1732300000, "data": "0201061BFF9904..."}` where
  `data` is the raw advertising data (AD structures) in hex. Messages on other topics of
  the gateway (`ruuvi/<gw>/gw_status`) are not advertisements and are skipped.
- `openmqttgateway`: OpenMQTTGateway's (and Theengs Gateway's) BLE messages. Topic
  `<base>/<gateway>/BTtoMQTT/<MAC without colons>`, payload `{"id": "C8:25:...",
  "rssi": -67, "name": ..., "manufacturerdata": "9904...", "servicedata": "...",
  "servicedatauuid": "0xfcd2"}`. `manufacturerdata` starts with the company id
  (little-endian), as in the radio frame. Messages that carry only decoded values (no raw
  data) are skipped: the gateway must publish its raw advertisement data.
- `record`: our own advertisement records (contract 1) as JSON, e.g. from a custom
  ESP32 firmware or a script.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from hub.errors import HubError, RecordError
from hub.events import Advertisement
from hub.records import normalise_address, normalise_uuid, parse_record
from integrations.mqtt_gateway.adstructures import AdError, parse_ad

Format = Literal["ruuvi", "openmqttgateway", "record"]
_BARE_MAC = re.compile(r"[0-9A-Fa-f]{12}")
NO_RAW_DATA = "no raw advertisement data"


class GatewayMessageError(HubError):
    """A gateway message that claims to be an advertisement but cannot be read."""


@dataclass(frozen=True, slots=True)
class Skipped:
    """A message that is not an advertisement (a status message, decoded values only)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Received:
    """An advertisement and the receiver that heard it."""

    advertisement: Advertisement
    gateway: str


def parse_message(
    fmt: Format,
    topic: str,
    payload: bytes,
    *,
    now: float,
    source: str,
    gateway_time: bool = False,
) -> Received | Skipped:
    """The advertisement in one message; raises GatewayMessageError with a short reason."""
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise GatewayMessageError(f"not JSON: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise GatewayMessageError("not a JSON object")
    if fmt == "ruuvi":
        return _ruuvi(topic, obj, now, source, gateway_time)
    if fmt == "openmqttgateway":
        return _openmqttgateway(topic, obj, now, source)
    try:
        adv = parse_record(obj, now=now, source=f"{source}:{topic}")
    except RecordError as exc:
        raise GatewayMessageError(str(exc)) from None
    return Received(adv, topic)


def _ruuvi(
    topic: str, obj: dict[str, Any], now: float, source: str, gateway_time: bool
) -> Received | Skipped:
    levels = topic.split("/")
    try:
        address = normalise_address(levels[-1])
    except RecordError:
        return Skipped("not a tag topic")
    data = obj.get("data")
    if not isinstance(data, str):
        return Skipped(NO_RAW_DATA)
    try:
        fields = parse_ad(_hex(data, "data"))
    except AdError as exc:
        raise GatewayMessageError(f"data: {exc}") from None
    gateway = obj.get("gw_mac")
    if not isinstance(gateway, str) or not gateway:
        gateway = levels[-2] if len(levels) >= 2 else "?"
    ts = now
    if gateway_time:
        heard = _number(obj.get("ts"))
        if heard is not None and heard > 0:
            ts = heard
    return Received(
        Advertisement(
            ts=ts,
            address=address,
            name=fields.name,
            rssi=_int(obj.get("rssi")),
            manufacturer_data=fields.manufacturer_data,
            service_data=fields.service_data,
            service_uuids=tuple(fields.service_uuids),
            tx_power=fields.tx_power,
            source=f"{source}:{gateway}",
        ),
        gateway,
    )


def _openmqttgateway(
    topic: str, obj: dict[str, Any], now: float, source: str
) -> Received | Skipped:
    levels = topic.split("/")
    ident = obj.get("id")
    if not isinstance(ident, str):
        ident = levels[-1]
    if _BARE_MAC.fullmatch(ident):
        ident = ":".join(ident[i : i + 2] for i in range(0, 12, 2))
    try:
        address = normalise_address(ident)
    except RecordError as exc:
        raise GatewayMessageError(str(exc)) from None
    manufacturer: dict[int, bytes] = {}
    raw = obj.get("manufacturerdata")
    if raw is not None:
        data = _hex(raw, "manufacturerdata")
        if len(data) < 2:
            raise GatewayMessageError("manufacturerdata shorter than its company id")
        manufacturer[int.from_bytes(data[:2], "little")] = data[2:]
    service: dict[str, bytes] = {}
    raw = obj.get("servicedata")
    uuid = obj.get("servicedatauuid")
    if raw is not None and isinstance(uuid, str) and uuid:
        service[normalise_uuid(uuid)] = _hex(raw, "servicedata")
    if not manufacturer and not service:
        return Skipped(NO_RAW_DATA)
    gateway = levels[levels.index("BTtoMQTT") - 1] if "BTtoMQTT" in levels[1:] else levels[0]
    name = obj.get("name")
    return Received(
        Advertisement(
            ts=now,
            address=address,
            name=name if isinstance(name, str) and name else None,
            rssi=_int(obj.get("rssi")),
            manufacturer_data=manufacturer,
            service_data=service,
            tx_power=_int(obj.get("txpower")),
            source=f"{source}:{gateway}",
        ),
        gateway,
    )


def _hex(value: object, key: str) -> bytes:
    if not isinstance(value, str):
        raise GatewayMessageError(f"{key} is not a hex string")
    try:
        data = bytes.fromhex(value)
    except ValueError:
        raise GatewayMessageError(f"{key} is not hex") from None
    return data


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _int(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None and abs(number) < 2**31 else None
