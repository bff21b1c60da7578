"""Advertisement records (contract 1): JSON lines to Advertisement and back."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from hub.errors import RecordError
from hub.events import Advertisement
from hub.records import normalise_address, normalise_uuid, parse_line, parse_record, to_record

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo" / "ruuvitags.jsonl"
ADDRESS = "C8:25:2D:8E:AB:4C"
BASE = "-0000-1000-8000-00805f9b34fb"


def record(**fields: object) -> dict[str, object]:
    return {"ts": 1795155600.168, "address": ADDRESS, **fields}


def test_a_full_record() -> None:
    line = json.dumps(
        {
            "ts": 1795155600.168,
            "address": ADDRESS,
            "name": "Ruuvi AB4C",
            "rssi": -58,
            "manufacturer_data": {"1177": "05107f41a3"},
            "service_data": {"0000fcd2" + BASE: "40020a"},
            "service_uuids": ["0000fcd2" + BASE],
            "tx_power": 4,
        }
    )
    adv = parse_line(line, source="demo")

    assert adv == Advertisement(
        ts=1795155600.168,
        address=ADDRESS,
        name="Ruuvi AB4C",
        rssi=-58,
        manufacturer_data={0x0499: bytes.fromhex("05107f41a3")},
        service_data={"0000fcd2" + BASE: b"\x40\x02\x0a"},
        service_uuids=("0000fcd2" + BASE,),
        tx_power=4,
        source="demo",
    )


def test_a_minimal_record() -> None:
    adv = parse_record({"ts": 12, "address": ADDRESS})

    assert adv == Advertisement(ts=12.0, address=ADDRESS)
    assert isinstance(adv.ts, float)


@pytest.mark.parametrize(
    "address",
    ["c8:25:2d:8e:ab:4c", "C8-25-2D-8E-AB-4C", "c8-25-2d-8e-ab-4c", " C8:25:2D:8E:ab:4c\n"],
)
def test_the_address_is_normalised(address: str) -> None:
    assert parse_record(record(address=address)).address == ADDRESS
    assert normalise_address(address) == ADDRESS


def test_company_ids_are_decimal_keys() -> None:
    adv = parse_record(record(manufacturer_data={"1177": "05", "76": "0215", "0": ""}))
    assert adv.manufacturer_data == {0x0499: b"\x05", 0x004C: b"\x02\x15", 0: b""}


def test_service_data_uuids_are_expanded_and_lower_case() -> None:
    adv = parse_record(
        record(
            service_data={"FCD2": "01", "0x181a": "02", "0000FEAA" + BASE.upper(): "03"},
            service_uuids=["FE95", "0000181A" + BASE],
        )
    )
    assert adv.service_data == {
        "0000fcd2" + BASE: b"\x01",
        "0000181a" + BASE: b"\x02",
        "0000feaa" + BASE: b"\x03",
    }
    assert adv.service_uuids == ("0000fe95" + BASE, "0000181a" + BASE)
    assert normalise_uuid("12345678") == "12345678" + BASE


def test_a_missing_timestamp_is_now_when_given() -> None:
    line = json.dumps({"address": ADDRESS})
    assert parse_line(line, now=1_700_000_000.5).ts == 1_700_000_000.5
    with pytest.raises(RecordError, match="ts missing"):
        parse_line(line)


def test_numbers_are_accepted_as_floats_and_cast_to_int() -> None:
    adv = parse_record(record(rssi=-70.0, tx_power=4.0))
    assert (adv.rssi, adv.tx_power) == (-70, 4)
    assert type(adv.rssi) is int


def test_a_non_string_name_is_ignored() -> None:
    assert parse_record(record(name=42)).name is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        pytest.param('{"ts": 1, "address": ', "invalid JSON", id="truncated"),
        pytest.param("not json", "invalid JSON", id="garbage"),
        pytest.param("\x00\x00\x00", "invalid JSON", id="nul-bytes"),
        pytest.param("[1, 2]", "not a JSON object", id="array"),
        pytest.param('{"ts": 1}', "address missing", id="no-address"),
        pytest.param('{"ts": 1, "address": 42}', "address missing or not a string", id="int"),
        pytest.param('{"ts": 1, "address": "C8:25:2D:8E:AB"}', "is not AA:BB", id="short"),
        pytest.param('{"ts": 1, "address": "G8:25:2D:8E:AB:4C"}', "is not AA:BB", id="not-hex"),
        pytest.param('{"ts": "now", "address": "C8:25:2D:8E:AB:4C"}', "ts must be", id="ts-str"),
        pytest.param('{"ts": true, "address": "C8:25:2D:8E:AB:4C"}', "ts must be", id="ts-bool"),
        pytest.param(
            '{"ts": 1, "address": "C8:25:2D:8E:AB:4C", "manufacturer_data": {"1177": "zz"}}',
            "manufacturer_data[1177]: payload is not hex",
            id="payload-not-hex",
        ),
        pytest.param(
            '{"ts": 1, "address": "C8:25:2D:8E:AB:4C", "manufacturer_data": {"1177": "051"}}',
            "payload is not hex",
            id="payload-odd-length",
        ),
        pytest.param(
            '{"ts": 1, "address": "C8:25:2D:8E:AB:4C", "manufacturer_data": {"1177": 5}}',
            "payload must be a hex string",
            id="payload-number",
        ),
        pytest.param(
            '{"ts": 1, "address": "C8:25:2D:8E:AB:4C", "manufacturer_data": {"0x0499": "05"}}',
            "not a decimal company id",
            id="hex-company-id",
        ),
        pytest.param(
            '{"ts": 1, "address": "C8:25:2D:8E:AB:4C", "manufacturer_data": {"65536": "05"}}',
            "out of range",
            id="company-id-range",
        ),
        pytest.param(
            '{"ts": 1, "address": "C8:25:2D:8E:AB:4C", "manufacturer_data": ["05"]}',
            "manufacturer_data must be an object",
            id="mfr-list",
        ),
        pytest.param(
            '{"ts": 1, "address": "C8:25:2D:8E:AB:4C", "service_data": {"fcd2": "xyz"}}',
            "service_data[fcd2]: payload is not hex",
            id="service-payload",
        ),
        pytest.param(
            '{"ts": 1, "address": "C8:25:2D:8E:AB:4C", "service_uuids": "fcd2"}',
            "service_uuids must be a list",
            id="uuids-string",
        ),
        pytest.param(
            '{"ts": 1, "address": "C8:25:2D:8E:AB:4C", "rssi": "-70"}',
            "rssi must be a number",
            id="rssi-string",
        ),
        pytest.param(
            '{"ts": 1, "address": "C8:25:2D:8E:AB:4C", "rssi": true}',
            "rssi must be a number",
            id="rssi-bool",
        ),
        pytest.param(
            '{"ts": 1, "address": "C8:25:2D:8E:AB:4C", "tx_power": "4"}',
            "tx_power must be a number",
            id="tx-power-string",
        ),
    ],
)
def test_bad_records_are_refused_with_a_short_reason(line: str, reason: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_line(line, now=5.0)
    message = str(caught.value)
    assert reason in message
    assert len(message) < 100
    assert "\n" not in message


def test_invalid_json_says_where() -> None:
    with pytest.raises(RecordError, match=r"^invalid JSON: .+ at column 21$"):
        parse_line('{"ts": 1, "address" "x"}')


@pytest.mark.parametrize("ts", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_non_finite_timestamp_line_is_refused(ts: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_line(f'{{"ts": {ts}, "address": "{ADDRESS}"}}', now=5.0)
    assert len(str(caught.value)) < 100


@pytest.mark.parametrize("ts", [math.nan, math.inf, -math.inf])
def test_a_non_finite_timestamp_is_refused(ts: float) -> None:
    """Sources that decode JSON themselves (or build records in code) go through parse_record."""
    with pytest.raises(RecordError, match="ts must be seconds since the epoch"):
        parse_record(record(ts=ts))


def test_to_record_leaves_out_what_is_empty() -> None:
    assert to_record(Advertisement(ts=3.5, address=ADDRESS)) == {"ts": 3.5, "address": ADDRESS}


def test_to_record_round_trips() -> None:
    adv = Advertisement(
        ts=1795155600.157,
        address=ADDRESS,
        name="Ruuvi AB4C",
        rssi=-78,
        manufacturer_data={0x0499: bytes(range(24)), 0x004C: b""},
        service_data={"0000fcd2" + BASE: b"\x40\xff"},
        service_uuids=("0000fcd2" + BASE,),
        tx_power=-8,
    )
    record = to_record(adv)
    assert parse_line(json.dumps(record)) == adv
    assert record["manufacturer_data"] == {"1177": bytes(range(24)).hex(), "76": ""}


def test_the_demo_capture_round_trips_line_for_line() -> None:
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    assert len(lines) > 1000
    for line in lines:
        assert to_record(parse_line(line)) == json.loads(line)
