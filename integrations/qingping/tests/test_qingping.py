"""Qingping 0xFDCD frames against published captures, plus hand-made edge cases.

Qingping publishes no specification or test vectors for this broadcast, so the vectors
below are real frames that people captured from their devices and posted publicly, each
with the source in a comment. Where the poster also gave the device's display, it is
noted; our decoded values must (and do) agree with it to the display's resolution.
Hand-made frames are built from the documented layout (see ../README.md) and say so.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, assert_reading_or_failure, decode, mutations
from integrations.qingping import INTEGRATION

UUID = 0xFDCD


def run(hex_payload: str, address: str = "58:2D:34:12:3C:E8") -> Decoded | DecodeFailure | None:
    payload = bytes.fromhex(hex_payload.replace(" ", ""))
    return decode(INTEGRATION, advertisement(address, service_data={UUID: payload}))


def decoded(hex_payload: str) -> Decoded:
    result = run(hex_payload)
    assert isinstance(result, Decoded), result
    return result


@pytest.mark.parametrize(
    ("vector", "model", "expected"),
    [
        # CGG1, OpenMQTTGateway issue #1286: servicedata 8816e83c12342d580104dc00ad02020164,
        # decoded there as 22 °C, 68.5 %, battery 100.
        pytest.param(
            "88 16 e83c12342d58 0104 dc00 ad02 0201 64",
            "CGG1",
            {"temperature": 22.0, "humidity": 68.5, "battery": 100},
            id="cgg1",
        ),
        # CGDN1, ble_monitor issue #1170 (hcidump "data1"); display at capture time:
        # PM2.5 7, PM10 7, CO2 773 ppm, 31.4 °C, 35 % (temperature/humidity rounded).
        pytest.param(
            "88 0e 46918fe64854 0104 3901 5901 1204 0700 0700 1302 0503",
            "CGDN1",
            {"temperature": 31.3, "humidity": 34.5, "pm2_5": 7, "pm10": 7, "co2": 773},
            id="cgdn1",
        ),
        # CGDN1 with product id 0x24, ble_monitor issue #1147 (logged service data).
        pytest.param(
            "08 24 b6ebc994c27c 0104 d100 bb01 1204 0a00 0a00 1302 6f02",
            "CGDN1",
            {"temperature": 20.9, "humidity": 44.3, "pm2_5": 10, "pm10": 10, "co2": 623},
            id="cgdn1-0x24",
        ),
        # CGP1W, ble_monitor issue #81 (hcidump table: temp, hum, air pressure, battery).
        pytest.param(
            "08 09 6f1c40342d58 0104 be00 0d02 0702 7226 0201 57",
            "CGP1W",
            {"temperature": 19.0, "humidity": 52.5, "pressure": 984.2, "battery": 87},
            id="cgp1w",
        ),
        # CGP23W, qingping-ble issue #23: 8818072240342d5801041701ca0002016107027227.
        pytest.param(
            "88 18 072240342d58 0104 1701 ca00 0201 61 0702 7227",
            "CGP23W",
            {"temperature": 27.9, "humidity": 20.2, "battery": 97, "pressure": 1009.8},
            id="cgp23w",
        ),
        # CGD1 alarm clock, OpenMQTTGateway PR #810 ("before the fix" line):
        # 080cd0a050342d580104c0007c02. The PR's "after" line (19.2 °C, 63.5 %) is a later
        # advertisement, so only its temperature coincides; 0x027C is 63.6 %.
        pytest.param(
            "08 0c d0a050342d58 0104 c000 7c02",
            "CGD1",
            {"temperature": 19.2, "humidity": 63.6},
            id="cgd1",
        ),
        # CGDN1 header-only frame, ble_monitor issue #81: 080e0aa4288ccf04 (no objects).
        pytest.param("08 0e 0aa4288ccf04", "CGDN1", {}, id="cgdn1-empty"),
    ],
)
def test_published_captures(vector: str, model: str, expected: dict[str, float]) -> None:
    result = decoded(vector)
    assert result.measurements == expected
    assert result.model == model
    assert result.format == "qingping"
    assert result.states == {}
    assert result.sequence is None


@pytest.mark.parametrize(
    ("vector", "expected", "states", "sequence"),
    [
        # CGPR1, home-assistant/core issue #97177 (bleak repr of the 0xFDCD service data):
        # battery 100, packet id 0x65, illuminance 21 lx.
        pytest.param(
            "08 12 dd6160342d58 0201 64 0f01 65 0904 15000000",
            {"battery": 100, "illuminance": 21},
            {},
            0x65,
            id="cgpr1-illuminance",
        ),
        # CGPR1 captures quoted in pvvx/TLB2Z src/ble_scaning.c (above filter_qingping_ad):
        # "0201 62 0F01 0B 0804 01830800": battery 98, packet 11, motion, 0x000883 lx.
        pytest.param(
            "08 12 005e60342d58 0201 62 0f01 0b 0804 01830800",
            {"battery": 98, "illuminance": 2179},
            {"motion": True},
            11,
            id="cgpr1-motion",
        ),
        # Same source: "0201 50 0F01 59 0804 00 000000": no motion, 0 lx.
        pytest.param(
            "08 12 005e60342d58 0201 50 0f01 59 0804 00000000",
            {"battery": 80, "illuminance": 0},
            {"motion": False},
            0x59,
            id="cgpr1-still",
        ),
        # Same source, an event frame (0x48): motion only, the rest of 0x08 is no lux value.
        pytest.param(
            "48 12 005e60342d58 0804 01000000 0f01 f4",
            {},
            {"motion": True},
            0xF4,
            id="cgpr1-event",
        ),
        # Same source, event frame with the light object: "1101 01".
        pytest.param(
            "48 12 005e60342d58 1101 01 0f01 f7",
            {},
            {"light": True},
            0xF7,
            id="cgpr1-light",
        ),
        # Same source: "0201 64 0F01 7D 0904 8C120000": 0x128C lx.
        pytest.param(
            "08 12 005e60342d58 0201 64 0f01 7d 0904 8c120000",
            {"battery": 100, "illuminance": 4748},
            {},
            0x7D,
            id="cgpr1-lux32",
        ),
        # CGH1 door sensor, qingping-ble tests/test_parser.py QINGPING_DOOR_WINDOW
        # (c8 04 4d3a40342d58 0401 01 0f01 ef): door code 1 = closed.
        pytest.param(
            "c8 04 4d3a40342d58 0401 01 0f01 ef",
            {},
            {"door": False},
            0xEF,
            id="cgh1-closed",
        ),
    ],
)
def test_published_state_captures(
    vector: str, expected: dict[str, int], states: dict[str, bool], sequence: int
) -> None:
    result = decoded(vector)
    assert result.measurements == expected
    assert result.states == states
    assert result.sequence == sequence


@pytest.mark.parametrize(("code", "is_open"), [(0, True), (1, False), (2, True)])
def test_door_codes(code: int, is_open: bool) -> None:
    # Hand-made from the documented door object: 0 open, 1 closed, 2 left open.
    result = decoded(f"c8 04 4d3a40342d58 0401 {code:02x}")
    assert result.states == {"door": is_open}
    assert result.model == "CGH1"


def test_unknown_door_code_reports_no_door_state() -> None:
    # Hand-made: code 3 has no documented meaning, so no state is reported.
    assert decoded("c8 04 4d3a40342d58 0401 03").states == {}


def test_negative_temperature() -> None:
    # Hand-made from the CGG1 capture above with temperature 0xFF83 = -125 -> -12.5 °C.
    result = decoded("88 16 e83c12342d58 0104 83ff ad02 0201 64")
    assert result.measurements == {"temperature": -12.5, "humidity": 68.5, "battery": 100}


def test_extremes() -> None:
    # Hand-made: int16 minimum temperature, 100.0 % humidity, maximum pressure, 0 battery.
    result = decoded("08 09 6f1c40342d58 0104 0080 e803 0702 ffff 0201 00")
    assert result.measurements == {
        "temperature": -3276.8,
        "humidity": 100.0,
        "pressure": 6553.5,
        "battery": 0,
    }


def test_values_that_are_not_readings_are_absent() -> None:
    # Hand-made: humidity above 100.0 % and battery 0xFF (mains powered) are left out.
    result = decoded("08 0e 46918fe64854 0104 3901 e903 0201 ff 1302 0503")
    assert result.measurements == {"temperature": 31.3, "co2": 773}


def test_unknown_objects_are_skipped() -> None:
    # Hand-made: object 0x19 (unverified layout) between two known objects.
    result = decoded("08 16 e83c12342d58 1901 30 0104 dc00 ad02")
    assert result.measurements == {"temperature": 22.0, "humidity": 68.5}


def test_unknown_product_still_decodes_without_a_model() -> None:
    result = decoded("08 7f e83c12342d58 0104 dc00 ad02")
    assert result.model is None
    assert result.measurements == {"temperature": 22.0, "humidity": 68.5}


@pytest.mark.parametrize(
    ("vector", "reason"),
    [
        ("", "frame of 0 bytes is shorter than the 8-byte header"),
        ("88 16 e83c12342d", "frame of 7 bytes is shorter than the 8-byte header"),
        ("88 16 e83c12342d58 01", "object header at byte 8 is truncated"),
        ("88 16 e83c12342d58 0104 dc00 ad", "object 0x01 needs 4 bytes, 3 left"),
        ("88 16 e83c12342d58 0103 dc00 ad", "object 0x01 has 3 bytes, expected 4"),
        ("88 16 e83c12342d58 0104 dc00 ad02 0202 6400", "object 0x02 has 2 bytes, expected 1"),
        # A MiBeacon-style frame (frame control 0x5830), as some firmwares broadcast:
        # OpenMQTTGateway issue #845 "3058480bca...08" (MAC masked there; zeros here).
        ("30 58 48 0b ca 000000000000 08", "frame control 0x30 is not a Qingping object frame"),
    ],
)
def test_failures_say_why(vector: str, reason: str) -> None:
    assert run(vector) == DecodeFailure(reason)


def test_other_service_data_is_not_ours() -> None:
    adv = advertisement(service_data={0x181A: b"\x01\x02"})
    assert decode(INTEGRATION, adv) is None


VALID = bytes.fromhex("880e46918fe6485401043901590112040700070013020503")


@given(mutations(VALID))
def test_mutations_never_raise(payload: bytes) -> None:
    result = run(payload.hex())
    assert_reading_or_failure(result)
    assert result is not None


@given(st.binary(max_size=40))
def test_random_bytes_never_raise(payload: bytes) -> None:
    result = run(payload.hex())
    assert isinstance(result, Decoded | DecodeFailure)
    assert_reading_or_failure(result)
    if isinstance(result, Decoded):
        assert 0 <= result.measurements.get("battery", 0) <= 100
        assert 0 <= result.measurements.get("humidity", 0) <= 100
