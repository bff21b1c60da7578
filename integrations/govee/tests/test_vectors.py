"""Govee layouts against published captures with the values their publishers report.

Govee publishes no documentation and no test vectors of its advertisements. The vectors
below are real captures that reverse-engineering projects published together with the
values they report for them (checked against the Govee app or display by those projects;
sources in each comment; "govee-ble"
is Bluetooth-Devices/govee-ble tests/test_parser.py, "GoveeBTTempLogger" is
wcbonner/GoveeBTTempLogger). Where no capture exists, the vector is built by hand from the
documented layout and says so. Payloads are as bleak gives them: without the company id.
"""

from __future__ import annotations

import pytest

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, decode
from integrations.govee import INTEGRATION

Expected = dict[str, float | int]
# govee-ble's macOS captures: the sensor's iBeacon record glued onto the Govee payload.
GLUE_PU = bytes.fromhex("4c000215") + b"INTELLI_ROCKS_HWPu" + bytes.fromhex("f2ff0c")
GLUE_QW = bytes.fromhex("4c000215") + b"INTELLI_ROCKS_HWQw" + bytes.fromhex("f2ffc2")


def run(company_id: int, payload: bytes, name: str | None) -> Decoded | DecodeFailure | None:
    adv = advertisement(manufacturer_data={company_id: payload}, name=name)
    return decode(INTEGRATION, adv)


CAPTURES = [
    # --- 0xEC88, packed, 6 bytes (H5072/H5075) --------------------------------------
    # Thrilleratplay/GoveeWatcher README "Decoding Data" example 03 21 5d; the full frame
    # "88ec0003215d6400" with name GVH5075_CB9B is Ernst79/bleparser's test_Govee_H5075
    # (which reports 20.5149 °C untruncated; the sensor's own resolution is 0.1 °C).
    (
        "GVH5075_CB9B",
        0xEC88,
        "0003215d6400",
        {"temperature": 20.5, "humidity": 14.9, "battery": 100},
        "H5075",
        "ec88_packed",
    ),
    # govee-ble GVH5075_SERVICE_INFO (macOS capture with the iBeacon glued on): 21.3/44.2/100.
    (
        "GVH5075_2762",
        0xEC88,
        "000341c26400" + GLUE_PU.hex(),
        {"temperature": 21.3, "humidity": 44.2, "battery": 100},
        "H5075",
        "ec88_packed",
    ),
    # govee-ble GVH5075_SERVICE_INFO_OTHER_VALUES: 20.0 °C, 64.9 %, 53 %.
    (
        "GVH5075_2762",
        0xEC88,
        "00030fc93500",
        {"temperature": 20.0, "humidity": 64.9, "battery": 53},
        "H5075",
        "ec88_packed",
    ),
    # GoveeBTTempLogger goveebttemplogger.cpp comment, GVH5075_BCAE: 26.8 °C, 42.3 %, 97 %.
    (
        "GVH5075_BCAE",
        0xEC88,
        "000418876100",
        {"temperature": 26.8, "humidity": 42.3, "battery": 97},
        "H5075",
        "ec88_packed",
    ),
    # GoveeBTTempLogger README, GVH5075_427B "EC88:0002542F5100": 15.2 °C, 62.3 %, 81 %.
    (
        "GVH5075_427B",
        0xEC88,
        "0002542f5100",
        {"temperature": 15.2, "humidity": 62.3, "battery": 81},
        "H5075",
        "ec88_packed",
    ),
    # govee-ble GVH5075_SERVICE_INFO_NEGATIVE_VALUES: decodes to -393.2 °C, which govee-ble
    # reports as "error": not a measurement. Only the battery (62 %) is reported.
    ("GVH5075_2762", 0xEC88, "00bc00043e27", {"battery": 62}, "H5075", "ec88_packed"),
    # govee-ble GVH5075_SERVICE_INFO_OVERSIZED_VALUES: 484.9 °C, "error"; battery 59 %.
    ("GVH5075_2762", 0xEC88, "004a00283b00", {"battery": 59}, "H5075", "ec88_packed"),
    # --- 0xEC88, int16 LE, 7 bytes (H5074) -------------------------------------------
    # govee-ble GVH5074_SERVICE_INFO: 25.34 °C, 47.96 %, 100 %.
    (
        "Govee_H5074_5FF4",
        0xEC88,
        "00e609bc126402",
        {"temperature": 25.34, "humidity": 47.96, "battery": 100},
        "H5074",
        "ec88_le16",
    ),
    # GoveeBTTempLogger comment, Govee_H5074_5C0F "ec88:00f8099f1c6402": 25.52/73.27/100.
    (
        "Govee_H5074_5C0F",
        0xEC88,
        "00f8099f1c6402",
        {"temperature": 25.52, "humidity": 73.27, "battery": 100},
        "H5074",
        "ec88_le16",
    ),
    # neilsheps/GoveeTemperatureAndHumidity frame "88ec00dd07911364 02" as quoted in
    # GoveeBTTempLogger: LSB-first hundredths, 20.13 °C, 50.09 %, 100 %.
    (
        "Govee_H5074_XXXX",
        0xEC88,
        "00dd0791136402",
        {"temperature": 20.13, "humidity": 50.09, "battery": 100},
        "H5074",
        "ec88_le16",
    ),
    # --- 0xEC88, int16 LE, 9 bytes (H5051/H5052/H5071) -------------------------------
    # govee-ble GVH5052_SERVICE_INFO: 2.84 °C, 52.87 %, 59 %.
    (
        "Govee_H5052_E81B",
        0xEC88,
        "001c01a7143b000002",
        {"temperature": 2.84, "humidity": 52.87, "battery": 59},
        "H5052",
        "ec88_le16_long",
    ),
    # govee-ble GVH5071_SERVICE_INFO: 25.93 °C, 47.9 %, 24 %.
    (
        "Govee_H5071_FD12",
        0xEC88,
        "00210ab61218c80001",
        {"temperature": 25.93, "humidity": 47.9, "battery": 24},
        "H5071",
        "ec88_le16_long",
    ),
    # --- 0x8801, int16 LE (H5179) ----------------------------------------------------
    # govee-ble GVH5179_SERVICE_INFO: 25.7 °C, 17.0 %, 100 %.
    (
        "Govee_H5179_3CD5",
        0x8801,
        "ec0001010a0aa40664",
        {"temperature": 25.7, "humidity": 17.0, "battery": 100},
        "H5179",
        "8801_le16",
    ),
    # GoveeBTTempLogger issue #36, Govee_H5179_00B7 raw "0188EC000101EC09621664" (company id
    # 0x8801 little-endian, then the payload): 25.4 °C, 57.3 %, 100 % by the same layout.
    (
        "Govee_H5179_00B7",
        0x8801,
        "ec000101ec09621664",
        {"temperature": 25.4, "humidity": 57.3, "battery": 100},
        "H5179",
        "8801_le16",
    ),
    # --- 0x0001, packed, 6 bytes (H5100-H5105/H5174/H5177, GV5179 firmware) ----------
    # govee-ble GVH5177_SERVICE_INFO (iBeacon glued on): 21.0 °C, 47.0 %, 100 %.
    (
        "GVH5177_2EC8",
        0x0001,
        "010103362664" + GLUE_QW.hex(),
        {"temperature": 21.0, "humidity": 47.0, "battery": 100},
        "H5177",
        "0001_packed",
    ),
    # GoveeBTTempLogger comment, GVH5177_3B10 "0001:010104245d54": 27.1 °C, 45.3 %, 84 %.
    (
        "GVH5177_3B10",
        0x0001,
        "010104245d54",
        {"temperature": 27.1, "humidity": 45.3, "battery": 84},
        "H5177",
        "0001_packed",
    ),
    # GoveeBTTempLogger issue #10, GVH5177_3B10 "01000101029D1A64": 17.1 °C, 29.0 %, 100 %.
    (
        "GVH5177_3B10",
        0x0001,
        "0101029d1a64",
        {"temperature": 17.1, "humidity": 29.0, "battery": 100},
        "H5177",
        "0001_packed",
    ),
    # Ernst79/bleparser test_Govee_H5102, GVH5102_CB9B: 24.8 °C, 57.7 %, 100 %.
    (
        "GVH5102_CB9B",
        0x0001,
        "010103cb0164",
        {"temperature": 24.8, "humidity": 57.7, "battery": 100},
        "H5102",
        "0001_packed",
    ),
    # GoveeBTTempLogger BTData hcidump, GVH5104_6177 "Data: 010103237e2b": 20.5/69.4/43.
    (
        "GVH5104_6177",
        0x0001,
        "010103237e2b",
        {"temperature": 20.5, "humidity": 69.4, "battery": 43},
        "H5104",
        "0001_packed",
    ),
    # GoveeBTTempLogger BTData/hci-5105.txt, GVH5105_4403 "0001:01010351AA64": 21.7/51.4/100.
    (
        "GVH5105_4403",
        0x0001,
        "01010351aa64",
        {"temperature": 21.7, "humidity": 51.4, "battery": 100},
        "H5105",
        "0001_packed",
    ),
    # GoveeBTTempLogger README, GVH5105_4403 "0100010102868262": 16.5 °C, 50.6 %, 98 %.
    (
        "GVH5105_4403",
        0x0001,
        "010102868262",
        {"temperature": 16.5, "humidity": 50.6, "battery": 98},
        "H5105",
        "0001_packed",
    ),
    # GoveeBTTempLogger README, GVH5100_2550 "0001:010102B1903D": 17.6 °C, 52.8 %, 61 %
    # (its log prints 17.7 because that code path rounds; the packed value is 176528).
    (
        "GVH5100_2550",
        0x0001,
        "010102b1903d",
        {"temperature": 17.6, "humidity": 52.8, "battery": 61},
        "H5100",
        "0001_packed",
    ),
    # govee-ble GVH5103_SERVICE_INFO (iBeacon glued on): 21.7 °C, 40.6 %, 100 %.
    (
        "GVH5103_5A4E",
        0x0001,
        "010103513e64" + GLUE_PU.hex(),
        {"temperature": 21.7, "humidity": 40.6, "battery": 100},
        "H5103",
        "0001_packed",
    ),
    # GoveeBTTempLogger README, GV5179_250D (H5179 on newer firmware) "0001:010102A1F064":
    # 17.2 °C, 52.8 %, 100 %.
    (
        "GV5179_250D",
        0x0001,
        "010102a1f064",
        {"temperature": 17.2, "humidity": 52.8, "battery": 100},
        "H5179",
        "0001_packed",
    ),
    # --- 0x0001, packed 32 bit with PM2.5 (H5106) ------------------------------------
    # govee-ble GVH5106_SERVICE_INFO (its Home Assistant test expects PM2.5 "0"):
    # 248591000 -> 24.8 °C, 59.1 %, 0 µg/m³.
    (
        "GVH5106_4E05",
        0x0001,
        "01010ed13298",
        {"temperature": 24.8, "humidity": 59.1, "pm2_5": 0},
        "H5106",
        "0001_packed_pm25",
    ),
    # govee-ble issue #65, the next advertisement of the same sensor: PM2.5 1 µg/m³.
    (
        "GVH5106_4E05",
        0x0001,
        "01010ed13299",
        {"temperature": 24.8, "humidity": 59.1, "pm2_5": 1},
        "H5106",
        "0001_packed_pm25",
    ),
]


@pytest.mark.parametrize(
    ("name", "company_id", "payload", "expected", "model", "layout"),
    CAPTURES,
    ids=[f"{c[0]}-{c[2][:12]}" for c in CAPTURES],
)
def test_published_captures(
    name: str, company_id: int, payload: str, expected: Expected, model: str, layout: str
) -> None:
    result = run(company_id, bytes.fromhex(payload), name)
    assert isinstance(result, Decoded), result
    assert result.measurements == expected
    assert result.model == model
    assert result.format == layout
    assert result.sequence is None  # no Govee layout carries a frame counter


NAMELESS = [
    # govee-ble GVH5051_SERVICE_INFO has an empty name: 27.46 °C, 40.89 %, 99 %. A 9-byte
    # 0xEC88 payload is H5051/H5052/H5071, so the model stays unknown.
    (
        0xEC88,
        "00ba0af90f63020101",
        {"temperature": 27.46, "humidity": 40.89, "battery": 99},
        None,
        "ec88_le16_long",
    ),
    # The H5074 sends its name and its data in separate advertisements (GoveeBTTempLogger):
    # a 7-byte 0xEC88 payload is only ever an H5074. govee-ble GVH5074 capture.
    (
        0xEC88,
        "00e609bc126402",
        {"temperature": 25.34, "humidity": 47.96, "battery": 100},
        "H5074",
        "ec88_le16",
    ),
    # 6-byte 0xEC88: H5072 or H5075. GoveeWatcher example.
    (
        0xEC88,
        "0003215d6400",
        {"temperature": 20.5, "humidity": 14.9, "battery": 100},
        None,
        "ec88_packed",
    ),
    # 9-byte 0x8801: only the H5179. theengs/decoder test frame "0188ec000101ee07581641".
    (
        0x8801,
        "ec000101ee07581641",
        {"temperature": 20.3, "humidity": 57.2, "battery": 65},
        "H5179",
        "8801_le16",
    ),
]


@pytest.mark.parametrize(("company_id", "payload", "expected", "model", "layout"), NAMELESS)
@pytest.mark.parametrize("name", [None, "", "61DE521B-F0BF-9F44"])
def test_without_a_govee_name_the_shape_identifies_the_layout(
    company_id: int, payload: str, expected: Expected, model: str | None, layout: str, name: str
) -> None:
    result = run(company_id, bytes.fromhex(payload), name)
    assert isinstance(result, Decoded), result
    assert result.measurements == expected
    assert (result.model, result.format) == (model, layout)


def test_company_0001_without_a_govee_name_is_not_ours() -> None:
    # govee-ble NOT_GVH5106_SERVICE_INFO: a device named "RZSS" sends a 6-byte 0x0001
    # payload that is not a Govee measurement; without a name the layout is ambiguous too
    # (H5101 family or H5106).
    assert run(0x0001, bytes.fromhex("01010b005864"), "RZSS") is None
    assert run(0x0001, bytes.fromhex("010103cb0164"), None) is None


HAND_BUILT = [
    # No published capture: built from the documented layout of their family.
    # H5072: same layout as the H5075 (govee-ble, GoveeBTTempLogger). 23.4 °C, 56.7 %, 88 %:
    # 234567 = 0x039447.
    (
        "GVH5072_1A2B",
        "H5072",
        0xEC88,
        "000394475800",
        {"temperature": 23.4, "humidity": 56.7, "battery": 88},
    ),
    # H5101 and H5174: same layout as the H5177 (GoveeBTTempLogger: "the H5174 uses the exact
    # same data format as the H5177"; theengs H5102_json covers H5101). 0x039447 again.
    (
        "GVH5101_1A2B",
        "H5101",
        0x0001,
        "010103944758",
        {"temperature": 23.4, "humidity": 56.7, "battery": 88},
    ),
    (
        "GVH5174_1A2B",
        "H5174",
        0x0001,
        "010103944758",
        {"temperature": 23.4, "humidity": 56.7, "battery": 88},
    ),
    (
        "ihoment_H5177_1A2B",
        "H5177",
        0x0001,
        "010103944758",
        {"temperature": 23.4, "humidity": 56.7, "battery": 88},
    ),
]


@pytest.mark.parametrize(("name", "model", "company_id", "payload", "expected"), HAND_BUILT)
def test_hand_built_vectors_for_models_without_a_capture(
    name: str, model: str, company_id: int, payload: str, expected: Expected
) -> None:
    result = run(company_id, bytes.fromhex(payload), name)
    assert isinstance(result, Decoded)
    assert result.measurements == expected
    assert result.model == model
