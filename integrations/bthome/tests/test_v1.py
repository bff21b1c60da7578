"""BTHome v1 (service data 0x181C) against the examples of https://bthome.io/v1/.

Each vector is the "Example" column of the v1 page's tables with its "Result". The float
vector (4306FE70) is from bthome-ble's v1 test suite (test_bthome_mass_kilograms); that
v1 floats are IEEE half/single/double floats is stated by the BTHome author in
home-assistant/bthome.io issue #17.
"""

from __future__ import annotations

import pytest

from hub.integrations import DecodeFailure
from integrations.bthome.tests.helpers import V1, decoded, run

SENSOR_VECTORS = [
    ("020161", {"battery": 97}),
    ("2302CA09", {"temperature": 25.06}),
    ("0303BF13", {"humidity": 50.55}),
    ("022E23", {"humidity": 35}),
    ("0404138A01", {"pressure": 1008.83}),
    ("0405138A14", {"illuminance": 13460.67}),
    ("03065E1F", {"mass_kg": 80.3}),
    ("03073E1D", {"mass_lb": 74.86}),
    ("2308CA06", {}),  # dew point 17.38 °C: the core derives dew_point itself
    ("020960", {"count": 96}),
    ("040A138A14", {"energy": 1346.067}),
    ("040B021B00", {"power": 69.14}),
    ("030C020C", {"voltage": 3.074}),
    ("030D120C", {"pm2_5": 3090}),
    ("030E021C", {"pm10": 7170}),
    ("0312E204", {"co2": 1250}),
    ("03133301", {"tvoc": 307}),
    ("0314020C", {"moisture": 30.74}),
    ("022F23", {"moisture": 35}),
    ("4306FE70", {"mass_kg": 102.24}),  # float16 10224.0 x 0.01
]

BINARY_VECTORS = [
    ("020F01", "generic_boolean", True),
    ("021001", "power", True),
    ("021100", "opening", False),
    ("021501", "battery", True),
    ("021601", "battery_charging", True),
    ("021700", "carbon_monoxide", False),
    ("021801", "cold", True),
    ("021900", "connectivity", False),
    ("021A00", "door", False),
    ("021B01", "garage_door", True),
    ("021C01", "gas", True),
    ("021D00", "heat", False),
    ("021E01", "light", True),
    ("021F01", "lock", True),
    ("022001", "moisture", True),
    ("022100", "motion", False),
    ("022201", "moving", True),
    ("022301", "occupancy", True),
    ("022400", "plug", False),
    ("022500", "presence", False),
    ("022601", "problem", True),
    ("022701", "running", True),
    ("022800", "safety", False),
    ("022901", "smoke", True),
    ("022A00", "sound", False),
    ("022B00", "tamper", False),
    ("022C01", "vibration", True),
    ("022D01", "window", True),
]

EVENT_VECTORS = [
    ("023A00", ()),
    ("023A01", ("button_press",)),
    ("023A02", ("button_double_press",)),
    ("023A03", ("button_triple_press",)),
    ("023A04", ("button_long_press",)),
    ("023A05", ("button_long_double_press",)),
    ("023A06", ("button_long_triple_press",)),
    ("023C00", ()),
    ("033C0103", ("rotate_left_3",)),
    ("033C020A", ("rotate_right_10",)),
    # The page's two-button example reads "023A00203A01", but 0x20 declares length 0; the
    # header it means is 0x02 (length 2, unsigned), as in all its other examples.
    ("023A00023A01", ("button_2_press",)),
]


@pytest.mark.parametrize(("objects", "expected"), SENSOR_VECTORS)
def test_sensor_examples_of_the_v1_page(objects: str, expected: dict[str, float]) -> None:
    result = decoded(objects, V1)
    assert result.measurements == expected
    assert result.format == "v1"
    assert result.model == "BTHome device"


@pytest.mark.parametrize(("objects", "name", "value"), BINARY_VECTORS)
def test_binary_examples_of_the_v1_page(objects: str, name: str, value: bool) -> None:
    assert decoded(objects, V1).states == {name: value}


@pytest.mark.parametrize(("objects", "events"), EVENT_VECTORS)
def test_event_examples_of_the_v1_page(objects: str, events: tuple[str, ...]) -> None:
    assert decoded(objects, V1).events == events


def test_the_advertisement_example_of_the_v1_page() -> None:
    # "0x1C18 2302C409 0303BF13": 25.00 °C, 50.55 %.
    result = decoded("2302C409 0303BF13", V1)
    assert result.measurements == {"temperature": 25.0, "humidity": 50.55}


def test_packet_id_is_the_sequence() -> None:
    result = decoded("020009 2302CA09", V1)  # v1 page: 020009 -> packet id 9
    assert result.sequence == 9
    assert result.measurements == {"temperature": 25.06}


def test_the_header_gives_the_length_and_signedness() -> None:
    # Same temperature object id, values of 1 and 4 bytes, signed and unsigned.
    result = decoded("22 02 CA  05 02 CA090000  23 02 FEFF", V1)
    assert result.measurements == {
        "temperature_1": -0.54,
        "temperature_2": 25.06,
        "temperature_3": -0.02,
    }


def test_unusable_objects_are_skipped_by_their_length() -> None:
    # Unknown object id 0x7F, a string (format 3) and a MAC (format 4) are passed over.
    result = decoded("037F0102 6402414243 8702A5808FE64854 2302CA09", V1)
    assert result.measurements == {"temperature": 25.06}


def test_floats_that_are_not_numbers_are_absent() -> None:
    # float16 +inf and NaN for a temperature, then a good value.
    assert decoded("4302007C 4302007E 2302CA09", V1).measurements == {"temperature": 25.06}


def test_malformed_lengths_end_the_packet() -> None:
    assert run("00", V1) == DecodeFailure("object at byte 0 has length 0")
    assert run("2302CA", V1) == DecodeFailure("object at byte 0 truncated")
    assert run("023A00203A01", V1) == DecodeFailure("object at byte 3 has length 0")
    assert decoded("020161 2302CA", V1).measurements == {"battery": 97}
    assert run("", V1) == DecodeFailure("empty BTHome v1 payload")
