"""Gateway messages and raw AD structures turned into advertisements (contract 1)."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.integrations import DecodeContext, Decoded
from integrations.mqtt_gateway.adstructures import AdError, build_ad, parse_ad, uuid16
from integrations.mqtt_gateway.formats import (
    NO_RAW_DATA,
    GatewayMessageError,
    Received,
    Skipped,
    parse_message,
)
from integrations.ruuvi import INTEGRATION as RUUVI

# Ruuvi's official data format 5 vector, and the advertisement a RuuviTag sends with it.
DF5 = "0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F"
RUUVI_DATA = "0201061BFF9904" + DF5
BTHOME = "0000fcd2-0000-1000-8000-00805f9b34fb"
NOW = 1_795_155_600.0


def received(result: Received | Skipped) -> Received:
    assert isinstance(result, Received), result
    return result


def test_ruuvi_gateway_message_becomes_the_advertisement_the_tag_sent() -> None:
    payload = {
        "gw_mac": "C8:25:2D:8E:9C:2C",
        "rssi": -62,
        "aoa": [],
        "gwts": "1732300001",
        "ts": "1732300000",
        "data": RUUVI_DATA,
        "coords": "",
    }
    found = received(
        parse_message(
            "ruuvi",
            "ruuvi/C8:25:2D:8E:9C:2C/CB:B8:33:4C:88:4F",
            json.dumps(payload).encode(),
            now=NOW,
            source="gw",
        )
    )
    adv = found.advertisement
    assert found.gateway == "C8:25:2D:8E:9C:2C"
    assert adv.address == "CB:B8:33:4C:88:4F"
    assert adv.rssi == -62
    assert adv.ts == NOW, "received time by default"
    assert adv.manufacturer_data == {0x0499: bytes.fromhex(DF5)}
    assert adv.source == "gw:C8:25:2D:8E:9C:2C"
    assert RUUVI.decode is not None
    decoded = RUUVI.decode(adv, DecodeContext())
    assert isinstance(decoded, Decoded)
    assert decoded.measurements["temperature"] == 24.3


def test_ruuvi_gateway_time_is_used_when_asked() -> None:
    payload = json.dumps({"rssi": -70, "ts": 1732300000, "data": RUUVI_DATA}).encode()
    topic = "ruuvi/AA:BB:CC:DD:EE:FF/CB:B8:33:4C:88:4F"
    found = received(
        parse_message("ruuvi", topic, payload, now=NOW, source="gw", gateway_time=True)
    )
    assert found.advertisement.ts == 1732300000.0
    assert found.gateway == "AA:BB:CC:DD:EE:FF", "from the topic when gw_mac is missing"


def test_ruuvi_gateway_status_topic_is_skipped_not_an_error() -> None:
    result = parse_message(
        "ruuvi", "ruuvi/C8:25:2D:8E:9C:2C/gw_status", b'{"state":"online"}', now=NOW, source="g"
    )
    assert result == Skipped("not a tag topic")


def test_openmqttgateway_message_with_manufacturer_and_service_data() -> None:
    payload = {
        "id": "a4:c1:38:0a:1b:01",
        "mac_type": 0,
        "name": "ATC_0A1B01",
        "rssi": -67,
        "txpower": 4,
        "manufacturerdata": "9904" + DF5,
        "servicedata": "4002c40903bf13",
        "servicedatauuid": "0xfcd2",
    }
    found = received(
        parse_message(
            "openmqttgateway",
            "home/kitchen_gw/BTtoMQTT/A4C1380A1B01",
            json.dumps(payload).encode(),
            now=NOW,
            source="omg",
        )
    )
    adv = found.advertisement
    assert found.gateway == "kitchen_gw"
    assert adv.address == "A4:C1:38:0A:1B:01"
    assert adv.name == "ATC_0A1B01"
    assert (adv.rssi, adv.tx_power) == (-67, 4)
    assert adv.manufacturer_data == {0x0499: bytes.fromhex(DF5)}
    assert adv.service_data == {BTHOME: bytes.fromhex("4002c40903bf13")}


def test_openmqttgateway_address_from_the_topic_when_the_id_is_missing() -> None:
    payload = b'{"rssi": -50, "manufacturerdata": "990405"}'
    found = received(
        parse_message(
            "openmqttgateway", "home/gw/BTtoMQTT/C8252D8EAB4C", payload, now=1, source="o"
        )
    )
    assert found.advertisement.address == "C8:25:2D:8E:AB:4C"


def test_openmqttgateway_decoded_only_message_is_skipped_with_a_reason() -> None:
    payload = b'{"id": "C8:25:2D:8E:AB:4C", "model": "RuuviTag_RAWv2", "tempc": 24.3}'
    result = parse_message("openmqttgateway", "home/gw/BTtoMQTT/x", payload, now=1, source="o")
    assert result == Skipped(NO_RAW_DATA)


def test_record_format_is_contract_1() -> None:
    record = {"address": "c8:25:2d:8e:ab:4c", "rssi": -60, "manufacturer_data": {"1177": DF5}}
    found = received(
        parse_message("record", "ble/raw", json.dumps(record).encode(), now=5, source="r")
    )
    assert found.advertisement.address == "C8:25:2D:8E:AB:4C"
    assert found.advertisement.ts == 5
    assert found.advertisement.manufacturer_data == {1177: bytes.fromhex(DF5)}


@pytest.mark.parametrize(
    ("fmt", "topic", "payload", "reason"),
    [
        ("ruuvi", "ruuvi/g/C8:25:2D:8E:AB:4C", b"{not json", "not JSON"),
        ("ruuvi", "ruuvi/g/C8:25:2D:8E:AB:4C", b"[1, 2]", "not a JSON object"),
        ("ruuvi", "ruuvi/g/C8:25:2D:8E:AB:4C", b'{"data": "zz"}', "data is not hex"),
        ("ruuvi", "ruuvi/g/C8:25:2D:8E:AB:4C", b'{"data": "1BFF9904"}', "needs 27 bytes"),
        (
            "openmqttgateway",
            "home/g/BTtoMQTT/x",
            b'{"id": "nope", "manufacturerdata": "99"}',
            "is not",
        ),
        (
            "openmqttgateway",
            "home/g/BTtoMQTT/x",
            b'{"id": "C8:25:2D:8E:AB:4C", "manufacturerdata": "99"}',
            "shorter",
        ),
        ("record", "t", b'{"rssi": -1}', "address"),
    ],
)
def test_bad_messages_are_errors_with_a_reason(
    fmt: str, topic: str, payload: bytes, reason: str
) -> None:
    with pytest.raises(GatewayMessageError, match=reason):
        parse_message(fmt, topic, payload, now=1, source="s")  # type: ignore[arg-type]


def test_ad_structures_of_every_kind() -> None:
    custom = "12345678-1234-5678-1234-567812345678"
    data = (
        bytes.fromhex("020106")  # flags
        + bytes.fromhex("0503d2fc1a18")  # complete list of 16-bit UUIDs: fcd2, 181a
        + bytes.fromhex("03084142")  # short name "AB"
        + bytes.fromhex("020af8")  # TX power -8 dBm
        + build_ad(service_data={custom: b"\x01\x02", uuid16(0x181A): b"\x03"}, flags=None)
        + build_ad(manufacturer_data={0x0499: b"\x05"}, name="Ruuvi AB4C", flags=None)
        + b"\x00\x00\x00"  # padding
    )
    fields = parse_ad(data)
    assert fields.service_uuids == [uuid16(0xFCD2), uuid16(0x181A)]
    assert fields.tx_power == -8
    assert fields.service_data == {custom: b"\x01\x02", uuid16(0x181A): b"\x03"}
    assert fields.manufacturer_data == {0x0499: b"\x05"}
    assert fields.name == "Ruuvi AB4C", "the complete name wins over the short one"


def test_short_name_is_used_without_a_complete_one() -> None:
    assert parse_ad(b"\x03\x08AB").name == "AB"


@pytest.mark.parametrize(
    "data",
    [
        "05ff9904",  # runs past the end
        "02ff99",  # manufacturer data without a whole company id
        "021699",  # service data without a whole UUID
        "0403d2fc1a",  # a UUID list that is not a multiple of 2 bytes
    ],
)
def test_truncated_ad_structures_are_errors(data: str) -> None:
    with pytest.raises(AdError):
        parse_ad(bytes.fromhex(data))


@given(st.binary(max_size=64))
def test_any_bytes_give_fields_or_an_ad_error(data: bytes) -> None:
    with contextlib.suppress(AdError):
        parse_ad(data)


@given(
    st.dictionaries(st.integers(0, 0xFFFF), st.binary(max_size=20), max_size=2),
    st.dictionaries(st.integers(0, 0xFFFF).map(uuid16), st.binary(max_size=20), max_size=2),
    st.one_of(st.none(), st.text(min_size=1, max_size=10)),
)
def test_build_and_parse_round_trip(
    manufacturer: dict[int, bytes], service: dict[str, bytes], name: str | None
) -> None:
    fields = parse_ad(build_ad(manufacturer_data=manufacturer, service_data=service, name=name))
    assert fields.manufacturer_data == manufacturer
    assert fields.service_data == service
    assert fields.name == name
