"""MiBeacon (service data 0xFE95), unencrypted frames: header, objects, models.

Vector sources:
- [XBLE] public captures in the test suite of Bluetooth-Devices/xiaomi-ble
  (tests/test_parser.py), with the values asserted there.
- [PVVX-PY] pvvx/ATC_MiThermometer python-interface/atc_mi_interface/atc_mi_format_test.py
  ("mi_like" samples of the custom firmware).
- [HAND] built by hand from Xiaomi's MiBeacon and object specifications (MiEcosystem
  miio_open, ble/02-米家BLE MiBeacon协议.md and 04-米家BLE Object定义.md) where no
  published frame covers the case.
"""

from __future__ import annotations

import pytest

from hub.integrations import DecodeFailure
from integrations.xiaomi.tests.frames import MIBEACON, reading, run


def b(raw: bytes) -> str:
    """xiaomi-ble writes its captures as Python bytes literals; keep them recognisable."""
    return raw.hex()


@pytest.mark.parametrize(
    ("payload", "address", "model", "data_format", "expected", "sequence"),
    [
        pytest.param(
            # [XBLE] test_Xiaomi_LYWSDCGQ: object 0x100D, 25.4 °C and 58.4 %
            b(b"P \xaa\x01\xda!\x9354-X\r\x10\x04\xfe\x00H\x02"),
            "58:2D:34:35:93:21",
            "LYWSDCGQ/01ZM",
            "mibeacon_v2",
            {"temperature": 25.4, "humidity": 58.4},
            0xDA,
            id="LYWSDCGQ",
        ),
        pytest.param(
            # [XBLE] test_Xiaomi_LYWSD03MMC: v3, object 0x100D, 27.2 °C and 49.0 %
            b(b"P0[\x05\x03L\x94\xb48\xc1\xa4\r\x10\x04\x10\x01\xea\x01"),
            "A4:C1:38:B4:94:4C",
            "LYWSD03MMC",
            "mibeacon_v3",
            {"temperature": 27.2, "humidity": 49.0},
            3,
            id="LYWSD03MMC",
        ),
        pytest.param(
            # [XBLE] test_Xiaomi_HHCCJCY01: capability byte, object 0x1004, 19.6 °C
            b(b"q \x98\x00\x12\xf3Ok\x8d|\xc4\r\x04\x10\x02\xc4\x00"),
            "C4:7C:8D:6B:4F:F3",
            "HHCCJCY01",
            "mibeacon_v2",
            {"temperature": 19.6},
            0x12,
            id="HHCCJCY01-temperature",
        ),
        pytest.param(
            # [XBLE] test_Xiaomi_HHCCJCY01_all_values: object 0x1007, 0 lx
            b(b"q \x98\x00fz>j\x8d|\xc4\r\x07\x10\x03\x00\x00\x00"),
            "C4:7C:8D:6A:3E:7A",
            "HHCCJCY01",
            "mibeacon_v2",
            {"illuminance": 0},
            0x66,
            id="HHCCJCY01-illuminance",
        ),
        pytest.param(
            # [XBLE] same test: object 0x1009, 599 µS/cm
            b(b"q \x98\x00hz>j\x8d|\xc4\r\t\x10\x02W\x02"),
            "C4:7C:8D:6A:3E:7A",
            "HHCCJCY01",
            "mibeacon_v2",
            {"conductivity": 599},
            0x68,
            id="HHCCJCY01-conductivity",
        ),
        pytest.param(
            # [XBLE] same test: object 0x1008, 64 %
            b(b"q \x98\x00Gz>j\x8d|\xc4\r\x08\x10\x01@"),
            "C4:7C:8D:6A:3E:7A",
            "HHCCJCY01",
            "mibeacon_v2",
            {"moisture": 64},
            0x47,
            id="HHCCJCY01-moisture",
        ),
        pytest.param(
            # [XBLE] same test: object 0x1004, 24.4 °C
            b(b"q \x98\x00iz>j\x8d|\xc4\r\x04\x10\x02\xf4\x00"),
            "C4:7C:8D:6A:3E:7A",
            "HHCCJCY01",
            "mibeacon_v2",
            {"temperature": 24.4},
            0x69,
            id="HHCCJCY01-temperature-2",
        ),
        pytest.param(
            # [XBLE] test_Xiaomi_GCLS002: object 0x1004, 31.6 °C
            b(b"q \xbc\x03\xcd>Ym\x8d|\xc4\r\x04\x10\x02<\x01"),
            "C4:7C:8D:6D:59:3E",
            "GCLS002",
            "mibeacon_v2",
            {"temperature": 31.6},
            0xCD,
            id="GCLS002",
        ),
        pytest.param(
            # [PVVX-PY] sample "mi_like (temp, humidity)": 0x100D, 0x00BE and 0x0200
            "50585b051bccbbaa38c1a40d1004be000002",
            "A4:C1:38:AA:BB:CC",
            "LYWSD03MMC",
            "mibeacon_v5",
            {"temperature": 19.0, "humidity": 51.2},
            0x1B,
            id="pvvx-temperature-humidity",
        ),
        pytest.param(
            # [PVVX-PY] sample "mi_like (batt)": 0x100A, 0x4F = 79 %
            "50585b0522ccbbaa38c1a40a10014f",
            "A4:C1:38:AA:BB:CC",
            "LYWSD03MMC",
            "mibeacon_v5",
            {"battery": 79},
            0x22,
            id="pvvx-battery",
        ),
        pytest.param(
            # [HAND] v3, object 0x1004 = 0xFF85 = -123: -12.3 °C
            "50305b054433221138c1a404100285ff",
            "A4:C1:38:11:22:33",
            "LYWSD03MMC",
            "mibeacon_v3",
            {"temperature": -12.3},
            0x44,
            id="negative-temperature",
        ),
        pytest.param(
            # [HAND] capability 0x28 has bit 5: two I/O-capability bytes (01 00) precede
            # the object 0x100A = 55 %. Per Xiaomi's spec the I/O field is 2 bytes.
            "70505b054333221138c1a42801000a100137",
            "A4:C1:38:11:22:33",
            "LYWSD03MMC",
            "mibeacon_v5",
            {"battery": 55},
            0x43,
            id="io-capability",
        ),
        pytest.param(
            # [HAND] no MAC in the frame (control 0x5040): objects follow the counter
            "40505b0545041002e100",
            "A4:C1:38:11:22:33",
            "LYWSD03MMC",
            "mibeacon_v5",
            {"temperature": 22.5},
            0x45,
            id="no-mac",
        ),
    ],
)
def test_clear_frames(
    payload: str,
    address: str,
    model: str,
    data_format: str,
    expected: dict[str, float],
    sequence: int,
) -> None:
    result = reading(payload, MIBEACON, address)
    assert result.measurements == expected
    assert result.model == model
    assert result.format == data_format
    assert result.sequence == sequence
    assert dict(result.states) == {}
    assert result.events == ()


def test_miflora_integers_stay_integers() -> None:
    m = reading(b(b"q \x98\x00hz>j\x8d|\xc4\r\t\x10\x02W\x02"), MIBEACON).measurements
    assert type(m["conductivity"]) is int


def test_illuminance_uses_all_24_bits() -> None:
    # [HAND] HHCCJCY01, object 0x1007 = 0x01D4C0 = 120000 lx (the documented maximum)
    result = reading("71209800013322118d7cc40d071003c0d401", MIBEACON)
    assert result.measurements == {"illuminance": 120000}


def test_same_quantity_twice_is_numbered() -> None:
    # [HAND] 0x100D (21.5 °C, 45.6 %) then 0x1004 (21.6 °C): two temperatures
    result = reading("50585b054233221138c1a40d1004d700c801041002d800", MIBEACON)
    assert result.measurements == {"temperature_1": 21.5, "temperature_2": 21.6, "humidity": 45.6}


def test_battery_out_of_range_is_absent() -> None:
    # [HAND] object 0x100A = 0x65 = 101 %: outside the documented 0-100
    result = reading("50585b0546ccbbaa38c1a40a100165", MIBEACON)
    assert result.measurements == {}
    assert result.sequence is None


@pytest.mark.parametrize(
    ("payload", "address", "model"),
    [
        pytest.param(
            # [XBLE] test_blank_advertisements_then_encrypted: capability only, no object
            b(b"0X[\x05\x02H<\xd48\xc1\xa4\x08"),
            "A4:C1:38:D4:3C:48",
            "LYWSD03MMC",
            id="capability-only",
        ),
        pytest.param(
            # [XBLE] test_Xiaomi_MUE4094RT: a motion event (object 0x0003), no measurement
            b(b"@0\xdd\x03$\x03\x00\x01\x01"),
            "DE:70:E8:B2:39:0C",
            "MiBeacon product 0x03DD",
            id="event-object",
        ),
        pytest.param(
            # [XBLE] test_Xiaomi_MMC_T201_1: vendor object 0x2000 (body temperature), which
            # this integration does not read
            b(b'p"\xdb\x00o\xc1o\xdd\xf9\x81\x00\t\x00 \x05\xc6\rc\rQ'),
            "00:81:F9:DD:6F:C1",
            "MiBeacon product 0x00DB",
            id="vendor-object",
        ),
        pytest.param(
            # [HAND] MJYD02YL night light: its 0x1007 (100) is a light flag, not lux
            "5058f6071133221138c1a4071003640000",
            "A4:C1:38:11:22:33",
            "MJYD02YL",
            id="light-flag-not-lux",
        ),
    ],
)
def test_frames_without_measurements_are_empty_readings(
    payload: str, address: str, model: str
) -> None:
    # A valid frame that measures nothing: no values and no sequence (so its counter cannot
    # hide a later measurement), which the core counts as "sensor seen".
    result = reading(payload, MIBEACON, address)
    assert result.measurements == {}
    assert result.sequence is None
    assert result.model == model


def test_encrypted_frame_without_object_needs_no_key() -> None:
    # [HAND] control 0x5818: encrypted + MAC, but no object: nothing to decrypt
    result = reading("18585b054733221138c1a4", MIBEACON)
    assert result.measurements == {}
    assert result.format == "mibeacon_v5_encrypted"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("", "MiBeacon frame is shorter than its 5-byte header"),
        ("50585b05", "MiBeacon frame is shorter than its 5-byte header"),
        ("50585b051bccbbaa38c1", "MiBeacon frame is truncated in its MAC address"),
        ("70505b054333221138c1a4", "MiBeacon frame is truncated in its capability"),
        ("70505b054333221138c1a42801", "MiBeacon frame is truncated in its capability"),
        ("50585b051bccbbaa38c1a40d10", "MiBeacon object list is truncated"),
        ("50585b051bccbbaa38c1a40d1004be0000", "MiBeacon object 0x100D is truncated"),
        ("50585b051bccbbaa38c1a40d1003be0000", "MiBeacon object 0x100D has 3 bytes, expected 4"),
        ("50185b051bccbbaa38c1a40d1004be000002", "MiBeacon version 1 is not supported"),
        ("50605b051bccbbaa38c1a40d1004be000002", "MiBeacon version 6 is not supported"),
        ("d0585b051bccbbaa38c1a40d1004be000002", "MiBeacon mesh frames are not supported"),
    ],
)
def test_broken_frames_say_why(payload: str, reason: str) -> None:
    assert run(payload, MIBEACON) == DecodeFailure(reason)


def test_unknown_product_still_decodes() -> None:
    # [HAND] product id 0xABCD, object 0x1004 = 20.0 °C
    result = reading("5058cdab4833221138c1a4041002c800", MIBEACON)
    assert result.measurements == {"temperature": 20.0}
    assert result.model == "MiBeacon product 0xABCD"


def test_other_service_data_is_not_ours() -> None:
    assert run("50585b051bccbbaa38c1a40d1004be000002", 0xFE96) is None
