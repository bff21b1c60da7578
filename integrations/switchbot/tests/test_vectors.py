"""SwitchBot meters against the maker's documentation and published captures.

The maker's BLE documentation is OpenWonderLabs/SwitchBotAPI-BLE (README.md: device types
and the 0x0059->0x0969 / 0x0D00->0xFD3D change; devicetypes/meter.md: the service-data
layout). It publishes one advertisement as bytes, the Outdoor Meter sample of meter.md
(commit 2bd727ec, section "Outdoor Temperature/Humidity Sensor"); its Meter examples are
screenshots. Other vectors are real captures published with the values the app or the
capturing project reported (source in each comment), or hand-built from the documented
layout where the comment says so. Payloads are as bleak gives them: manufacturer data
without the two company-id bytes, service data without the UUID.
"""

from __future__ import annotations

import pytest

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, decode
from integrations.switchbot import INTEGRATION

Expected = dict[str, float | int]
MAC = "AABBCCDDEEFF"


def run(
    service_data: str | None, manufacturer_data: str | None, uuid: int = 0xFD3D
) -> Decoded | DecodeFailure | None:
    adv = advertisement(
        address="AA:BB:CC:DD:EE:FF",
        service_data={uuid: bytes.fromhex(service_data)} if service_data is not None else None,
        manufacturer_data=(
            {0x0969: bytes.fromhex(manufacturer_data)} if manufacturer_data is not None else None
        ),
    )
    return decode(INTEGRATION, adv)


def test_official_outdoor_meter_sample() -> None:
    # meter.md: manufacturer data "6909XXXXXXXXXXXX360302963700" (XX.. = the MAC), service
    # data "3DFD770064". Tenths 0x02, 0x96 = sign set + 22, humidity 0x37 = 55, battery 0x64.
    result = run("770064", MAC + "360302963700")
    assert result == Decoded(
        measurements={"battery": 100, "temperature": 22.2, "humidity": 55},
        model="Outdoor Meter",
        format="manufacturer_data",
    )


CAPTURES = [
    # sblibs/pySwitchbot tests/test_adv_parser.py test_wosensor_passive_and_active: Meter,
    # 24.6 °C, 53 %, battery 100 (service data battery byte 0xE4: bit 7 is reserved).
    (
        "5400e4069835",
        "d7c17d5deb43de03069835",
        {"battery": 100, "temperature": 24.6, "humidity": 53},
        "Meter",
    ),
    # OpenWonderLabs/SwitchBotAPI-BLE issue #33 (device type "T"): 24.5 °C, 56 %.
    (
        "5400e4059838",
        MAC + "2903059838",
        {"battery": 100, "temperature": 24.5, "humidity": 56},
        "Meter",
    ),
    # 1technophile/OpenMQTTGateway issue #1288, Meter Plus C6:C7:52:66:3C:BF: servicedata
    # "6980e409914a", manufacturerdata "6909c6c752663cbf160b09914a"; gateway reported
    # tempc 17.9, hum 74, batt 100. Status byte 0x80 has a reserved bit set.
    (
        "6980e409914a",
        "c6c752663cbf160b09914a",
        {"battery": 100, "temperature": 17.9, "humidity": 74},
        "Meter Plus",
    ),
    # pySwitchbot test_woiosensor_passive_and_active: Outdoor Meter 24.6 °C, 53 %, 100 %.
    (
        "7700e4",
        "aabbccddeeffe00f06983500",
        {"battery": 100, "temperature": 24.6, "humidity": 53},
        "Outdoor Meter",
    ),
    # custom-components/ble_monitor issue #1411, WoSensorTHO c7:6b:04:06:15:5e, firmware 0.8,
    # values read off the app: 24.3 °C / 31 % / 100 % and 25.8 °C / 32 % / 100 %.
    (
        "770064",
        "c76b0406155eff0203981f00",
        {"battery": 100, "temperature": 24.3, "humidity": 31},
        "Outdoor Meter",
    ),
    (
        "770064",
        "c76b0406155e150208992000",
        {"battery": 100, "temperature": 25.8, "humidity": 32},
        "Outdoor Meter",
    ),
    # SwitchBotAPI-BLE issue #33 (device type "w"): 21.0 °C, 74 %.
    (
        "770064",
        MAC + "2c0b00954a00",
        {"battery": 100, "temperature": 21.0, "humidity": 74},
        "Outdoor Meter",
    ),
    # pySwitchbot test_meter_pro_active: Meter Pro 23.8 °C, 44 %, 100 %.
    (
        "340064",
        "b0e9fe52dd84066408972c0005",
        {"battery": 100, "temperature": 23.8, "humidity": 44},
        "Meter Pro",
    ),
    # pySwitchbot issue #251 (device "WoTHPc" B0:E9:FE:54:32:15) and test_meter_pro_c_active:
    # Meter Pro CO2 27.7 °C, 36 %, 100 %, CO2 0x02D5 = 725 ppm.
    (
        "350064",
        "b0e9fe543215b7e4079ba4003702d500",
        {"battery": 100, "temperature": 27.7, "humidity": 36, "co2": 725},
        "Meter Pro CO2",
    ),
]


@pytest.mark.parametrize(("service", "manufacturer", "expected", "model"), CAPTURES)
def test_published_captures(
    service: str, manufacturer: str, expected: Expected, model: str
) -> None:
    result = run(service, manufacturer)
    assert isinstance(result, Decoded), result
    assert result.measurements == expected
    assert result.model == model
    assert result.format == "manufacturer_data"
    assert result.sequence is None  # the documented formats carry no frame counter


SERVICE_DATA_ONLY = [
    # Hand-built from meter.md's service-data table (bytes 0-5): type 'T', status 0,
    # battery 100, tenths 5, sign set + 23, humidity 45 -> 23.5 °C, 45 %.
    ("54006405972d", {"battery": 100, "temperature": 23.5, "humidity": 45}, "Meter"),
    # Byte 5 bit 7 set: the display shows °F, the value is still Celsius.
    ("5400640597ad", {"battery": 100, "temperature": 23.5, "humidity": 45}, "Meter"),
    # Alert bits 7-4 of byte 3 set (0xC5): the tenths are still 5.
    ("540064c5972d", {"battery": 100, "temperature": 23.5, "humidity": 45}, "Meter"),
    # Device type 't' (add mode) and byte 0 bit 7 (reserved) set: still the Meter.
    ("74006405972d", {"battery": 100, "temperature": 23.5, "humidity": 45}, "Meter"),
    ("d4006405972d", {"battery": 100, "temperature": 23.5, "humidity": 45}, "Meter"),
    # Meter Plus 'i', pySwitchbot's capture values through the service data alone.
    ("6980e409914a", {"battery": 100, "temperature": 17.9, "humidity": 74}, "Meter Plus"),
    # Largest and smallest values the layout can carry: ±127.9 °C, 99 % (documented range).
    ("54006409ff63", {"battery": 100, "temperature": 127.9, "humidity": 99}, "Meter"),
    ("540064097f63", {"battery": 100, "temperature": -127.9, "humidity": 99}, "Meter"),
]


@pytest.mark.parametrize(("service", "expected", "model"), SERVICE_DATA_ONLY)
@pytest.mark.parametrize("uuid", [0xFD3D, 0x0D00])
def test_service_data_layout(service: str, expected: Expected, model: str, uuid: int) -> None:
    # 0x0D00 is the service-data UUID before Meter firmware 2.7 (README "UUID Update Notes").
    result = run(service, None, uuid)
    assert isinstance(result, Decoded), result
    assert result.measurements == expected
    assert (result.model, result.format) == (model, "service_data")
