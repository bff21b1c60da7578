"""ATC1441 and pvvx custom firmware formats (service data 0x181A), clear and encrypted.

Vector sources:
- [ATC-README] atc1441/ATC_MiThermometer README, "Advertising format of the custom firmware".
- [PVVX-PY] pvvx/ATC_MiThermometer python-interface/README.md (decoded outputs printed
  there) and python-interface/atc_mi_interface/atc_mi_format_test.py (sample frames;
  bindkey "aa" * 16 for A4:C1:38:AA:BB:CC).
- [HAND] derived by hand from the layouts in pvvx's README "Custom format" and
  src/custom_beacon.h, where no published frame covers the case.
"""

from __future__ import annotations

import pytest

from hub.integrations import DecodeFailure
from integrations.xiaomi.tests.frames import ENVIRONMENTAL_SENSING, reading, run

ADDRESS = "A4:C1:38:AA:BB:CC"
KEY = bytes.fromhex("aa" * 16)  # [PVVX-PY] ref_key_descriptor
KEYS = {ADDRESS: KEY}


def states(flags: int) -> dict[str, bool]:
    names = (
        "reed_switch",
        "trigger_output",
        "trigger_enabled",
        "temperature_trigger",
        "humidity_trigger",
    )
    return {name: bool(flags >> bit & 1) for bit, name in enumerate(names)}


# -- ATC1441, 13 bytes, big-endian ---------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "address", "expected", "sequence"),
    [
        pytest.param(
            # [PVVX-PY] atc_mi_format_test.py sample "atc1441":
            # 10 16 1a 18 | a4 c1 38 aa bb cc | 00 ce | 33 | 43 | 0a 6e | c3
            "a4c138aabbcc00ce33430a6ec3",
            ADDRESS,
            {"temperature": 20.6, "humidity": 51, "battery": 67, "voltage": 2.67},
            195,
            id="pvvx-sample",
        ),
        pytest.param(
            # [ATC-README] the README's example frame (placeholder bytes): it fixes the byte
            # positions and big-endian order; battery 0xCC = 204 % is out of range, absent.
            "000000000000aaaabbccdddd00",
            "00:00:00:00:00:00",
            {"temperature": -2184.6, "humidity": 187, "voltage": 56.797},
            0,
            id="readme-layout",
        ),
        pytest.param(
            # [HAND] -5.3 °C = 0xFFCB, 99 %, 100 %, 3000 mV = 0x0BB8, counter 255
            "a4c138aabbccffcb63640bb8ff",
            ADDRESS,
            {"temperature": -5.3, "humidity": 99, "battery": 100, "voltage": 3.0},
            255,
            id="negative",
        ),
    ],
)
def test_atc1441(payload: str, address: str, expected: dict[str, float], sequence: int) -> None:
    result = reading(payload, ENVIRONMENTAL_SENSING, address)
    assert result.measurements == expected
    assert result.format == "atc1441"
    assert result.sequence == sequence
    assert result.model is None
    assert dict(result.states) == {}


def test_atc1441_integers_stay_integers() -> None:
    m = reading("a4c138aabbcc00ce33430a6ec3", ENVIRONMENTAL_SENSING).measurements
    assert type(m["humidity"]) is int
    assert type(m["battery"]) is int


# -- pvvx custom, 15 bytes, little-endian ---------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "address", "expected", "sequence", "flags"),
    [
        pytest.param(
            # [PVVX-PY] README "Parsing a custom frame": 22.24 °C, 53.15 %, 2.762 V, 80 %,
            # counter 20, flags: input_gpio_value and out_gpio_trg_flag set
            "5cc8ee38c1a4b008c314ca0a501405",
            "A4:C1:38:EE:C8:5C",
            {"temperature": 22.24, "humidity": 53.15, "battery": 80, "voltage": 2.762},
            20,
            0x05,
            id="readme-parse",
        ),
        pytest.param(
            # [PVVX-PY] README "Building the frame": 19.11 °C, 50.0 %, 2.762 V, 80 %,
            # counter 1, flags 0x07
            "ccbbaa38c1a4770788 13ca0a500107".replace(" ", ""),
            ADDRESS,
            {"temperature": 19.11, "humidity": 50.0, "battery": 80, "voltage": 2.762},
            1,
            0x07,
            id="readme-build",
        ),
        pytest.param(
            # [PVVX-PY] atc_mi_format_test.py sample "custom"
            "ccbbaa38c1a46c07fa13d60a52090f",
            ADDRESS,
            {"temperature": 19.0, "humidity": 51.14, "battery": 82, "voltage": 2.774},
            9,
            0x0F,
            id="format-test-sample",
        ),
        pytest.param(
            # [HAND] -12.34 °C = -1234 = 0xFB2E, 0.00 %, 2000 mV, 0 %, counter 0, both
            # trigger events (bits 3 and 4)
            "ccbbaa38c1a42efb0000d007000018",
            ADDRESS,
            {"temperature": -12.34, "humidity": 0.0, "battery": 0, "voltage": 2.0},
            0,
            0x18,
            id="negative",
        ),
    ],
)
def test_pvvx(
    payload: str, address: str, expected: dict[str, float], sequence: int, flags: int
) -> None:
    result = reading(payload, ENVIRONMENTAL_SENSING, address)
    assert result.measurements == expected
    assert result.format == "pvvx"
    assert result.sequence == sequence
    assert dict(result.states) == states(flags)


def test_pvvx_undocumented_flag_bits_are_ignored() -> None:
    # [HAND] flags 0xE5: bits 5-7 are not documented; only bits 0 and 2 count
    result = reading("5cc8ee38c1a4b008c314ca0a5014e5", ENVIRONMENTAL_SENSING)
    assert dict(result.states) == states(0x05)


def test_pvvx_battery_out_of_range_is_absent() -> None:
    # [HAND] battery level 0x65 = 101 %
    result = reading("5cc8ee38c1a4b008c314ca0a651405", ENVIRONMENTAL_SENSING)
    assert "battery" not in result.measurements
    assert result.measurements["voltage"] == 2.762


# -- encrypted pvvx (11 bytes) and ATC1441 (8 bytes) ---------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected", "flags"),
    [
        pytest.param(
            # [PVVX-PY] README custom_enc_format parse: 19.11 °C, 50.0 %, 93 %, flags with
            # temp_trigger, out_gpio_trg_flag, out_gpio_trg_value, input_gpio_value set
            "bd9dc54efab5000e8bb807",
            {"temperature": 19.11, "humidity": 50.0, "battery": 93},
            0x0F,
            id="readme-parse",
        ),
        pytest.param(
            # [PVVX-PY] README custom_enc_format build: 19.11 °C, 50.0 %, 80 %, flags 0x07
            "bd9dc54efab808566be87f",
            {"temperature": 19.11, "humidity": 50.0, "battery": 80},
            0x07,
            id="readme-build",
        ),
        pytest.param(
            # [PVVX-PY] atc_mi_format_test.py sample "custom_enc"; values as decrypted with
            # the published key (the MIC verifies, so they are the device's)
            "bd86c53ffab900c1515859",
            {"temperature": 19.0, "humidity": 51.13, "battery": 81},
            0x0F,
            id="format-test-sample",
        ),
    ],
)
def test_pvvx_encrypted(payload: str, expected: dict[str, float], flags: int) -> None:
    result = reading(payload, ENVIRONMENTAL_SENSING, ADDRESS, KEYS)
    assert result.measurements == expected
    assert result.format == "pvvx_encrypted"
    assert result.sequence == 0xBD
    assert dict(result.states) == states(flags)


def test_atc1441_encrypted() -> None:
    # [PVVX-PY] atc_mi_format_test.py sample "atc1441_enc". Plain text 76 32 d6: 118 / 2 - 40
    # = 19.0 °C, 50 / 2 = 25.0 %, 0xD6 = trigger flag (bit 7) + 86 %.
    result = reading("bde9b75db856f303", ENVIRONMENTAL_SENSING, ADDRESS, KEYS)
    assert result.measurements == {"temperature": 19.0, "humidity": 25.0, "battery": 86}
    assert result.format == "atc1441_encrypted"
    assert result.sequence == 0xBD
    assert dict(result.states) == {"trigger_enabled": True}


@pytest.mark.parametrize("payload", ["bd9dc54efab5000e8bb807", "bde9b75db856f303"])
def test_encrypted_without_key_says_so(payload: str) -> None:
    assert run(payload, ENVIRONMENTAL_SENSING) == DecodeFailure(
        "encrypted; no bindkey configured for this device"
    )


@pytest.mark.parametrize("payload", ["bd9dc54efab5000e8bb807", "bde9b75db856f303"])
def test_encrypted_with_wrong_key_gives_no_values(payload: str) -> None:
    keys = {ADDRESS: bytes.fromhex("ab" * 16)}
    assert run(payload, ENVIRONMENTAL_SENSING, ADDRESS, keys) == DecodeFailure(
        "decryption failed: wrong bindkey?"
    )


def test_tampered_encrypted_frame_is_rejected() -> None:
    # one ciphertext byte changed: the MIC no longer matches
    result = run("bd9dc54efab6000e8bb807", ENVIRONMENTAL_SENSING, ADDRESS, KEYS)
    assert result == DecodeFailure("decryption failed: wrong bindkey?")


def test_encrypted_frame_of_another_device_is_rejected() -> None:
    # The MAC is part of the nonce: the same bytes heard from another address do not verify.
    other = "A4:C1:38:AA:BB:CD"
    result = run("bd9dc54efab5000e8bb807", ENVIRONMENTAL_SENSING, other, {other: KEY})
    assert result == DecodeFailure("decryption failed: wrong bindkey?")


def test_key_of_wrong_length() -> None:
    result = run("bd9dc54efab5000e8bb807", ENVIRONMENTAL_SENSING, ADDRESS, {ADDRESS: KEY[:12]})
    assert result == DecodeFailure("bindkey has 12 bytes; this format needs 16")


def test_address_that_is_not_a_mac_cannot_decrypt() -> None:
    address = "1F2E3D4C-5B6A-7980-A1B2-C3D4E5F60718"  # what macOS gives instead of a MAC
    result = run("bd9dc54efab5000e8bb807", ENVIRONMENTAL_SENSING, address, {address: KEY})
    assert result == DecodeFailure("encrypted; cannot decrypt without the device's MAC address")


# -- not ours --------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 7, 9, 10, 12, 14, 16, 19, 24])
def test_other_lengths_under_0x181a_are_not_ours(length: int) -> None:
    # 0x181A is the generic Environmental Sensing UUID: another format may use it.
    assert run(bytes(length), ENVIRONMENTAL_SENSING) is None


def test_other_service_data_is_not_ours() -> None:
    assert run("a4c138aabbcc00ce33430a6ec3", 0x181C) is None
