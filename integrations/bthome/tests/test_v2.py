"""BTHome v2 against the example payloads of the specification, https://bthome.io/format/.

Every object vector below is the "Example" column of the spec's tables with its "Result";
we prefix the device info byte 0x40 (unencrypted, version 2). Where we report a value in
another unit or not at all, the comment says so. Rows marked "hand-derived" are objects
added to the spec after the version of the page we could read; their bytes were worked out
by hand from the row's definition and cross-checked against bthome-ble 3.25 by running it.
"""

from __future__ import annotations

import pytest

from hub.integrations import Decoded, DecodeFailure
from integrations.bthome import INTEGRATION
from integrations.bthome.objects import OBJECTS, TABLE, Kind
from integrations.bthome.tests.helpers import V1, V2, decoded, run

# (object bytes, expected measurements) -- bthome.io/format "Sensor data" table.
SENSOR_VECTORS = [
    ("518756", {"acceleration": 22.151}),  # m/s²
    ("0161", {"battery": 97}),
    ("12E204", {"co2": 1250}),
    ("56E803", {"conductivity": 1000}),
    ("0960", {"count": 96}),
    ("3D0960", {"count": 24585}),
    ("3E2A2C0960", {"count": 1611213866}),
    ("59EA", {"count": -22}),
    ("5AEAEA", {"count": -5398}),
    ("5BEA0234EA", {"count": -365690134}),
    ("434E34", {"current": 13.39}),
    ("5D02EA", {"current": -5.63}),
    ("08CA06", {}),  # dew point 17.38 °C: not reported, the core derives dew_point itself
    ("400C00", {"distance_mm": 12}),
    ("414E00", {"distance_m": 7.8}),
    ("424E3400", {"duration": 13.39}),
    ("4D12138A14", {"energy": 344593.17}),
    ("0A138A14", {"energy": 1346.067}),
    ("4B138A14", {"gas": 1346.067}),
    ("4C41018A01", {"gas": 25821.505}),
    ("528756", {"gyroscope": 22.151}),
    ("03BF13", {"humidity": 50.55}),
    ("2E23", {"humidity": 35}),
    ("05138A14", {"illuminance": 13460.67}),
    ("065E1F", {"mass_kg": 80.3}),
    ("073E1D", {"mass_lb": 74.86}),
    ("14020C", {"moisture": 30.74}),
    ("2F23", {"moisture": 35}),
    ("0D120C", {"pm2_5": 3090}),
    ("0E021C", {"pm10": 7170}),
    ("0B021B00", {"power": 69.14}),
    ("5C02FBFFFF", {"power": -12.78}),
    ("04138A01", {"pressure": 1008.83}),
    ("540C48656C6C6F20576F726C6421", {}),  # raw "48656c6c6f20576f726c6421": skipped
    ("3F020C", {"rotation": 307.4}),
    ("444E34", {"speed": 133.9}),
    ("57EA", {"temperature": -22}),
    ("58EA", {"temperature": -7.7}),
    ("451101", {"temperature": 27.3}),
    ("02CA09", {"temperature": 25.06}),
    ("530C48656C6C6F20576F726C6421", {}),  # text "Hello World!": skipped
    ("505D396164", {"timestamp": 1684093277}),  # 2023-05-14 19:41:17 UTC
    ("133301", {"tvoc": 307}),
    ("0C020C", {"voltage": 3.074}),
    ("4A020C", {"voltage": 307.4}),
    ("4E87562A01", {"volume": 19551.879}),
    ("478756", {"volume": 2215.1}),
    ("48DC87", {"volume": 34.78}),  # spec: 34780 mL; we report litres
    ("5587562A01", {"volume_storage": 19551.879}),
    ("49DC87", {"volume_flow_rate": 34.78}),
    ("4632", {"uv_index": 5.0}),
    ("4F87562A01", {"water": 19551.879}),
    ("5E9F8C", {"direction": 359.99}),
    # The page we read shows 4000 with factor 1; bthome.io PR #58 changed the factor to 0.1.
    ("5FA00F", {"precipitation": 400.0}),
    # Hand-derived (objects added later: PRs #55, #62, #68, #71, #73).
    ("6003", {"channel": 3}),
    ("61D007", {"rotational_speed": 2000}),  # rpm
    ("62A01CE9FF", {"speed": -1.5}),  # sint32 x 0.000001 m/s
    ("6340420F00", {"acceleration": 1.0}),  # sint32 x 0.000001 m/s²
    ("6402", {"light_level": 2}),  # 2 = bright
    ("6507", {"settings_revision": 7}),
]

# bthome.io/format "Binary Sensor data": (object bytes, state name, value).
BINARY_VECTORS = [
    ("1501", "battery", True),  # True = low
    ("1601", "battery_charging", True),
    ("1700", "carbon_monoxide", False),
    ("1801", "cold", True),
    ("1900", "connectivity", False),
    ("1A00", "door", False),
    ("1B01", "garage_door", True),
    ("1C01", "gas", True),
    ("0F01", "generic_boolean", True),
    ("1D00", "heat", False),
    ("1E01", "light", True),
    ("1F01", "lock", True),  # True = unlocked
    ("2001", "moisture", True),
    ("2100", "motion", False),
    ("2201", "moving", True),
    ("2301", "occupancy", True),
    ("1100", "opening", False),
    ("2400", "plug", False),
    ("1001", "power", True),
    ("2500", "presence", False),
    ("2601", "problem", True),
    ("2701", "running", True),
    ("2800", "safety", False),
    ("2901", "smoke", True),
    ("2A00", "sound", False),
    ("2B00", "tamper", False),
    ("2C01", "vibration", True),
    ("2D01", "window", True),
]

# bthome.io/format "Events" (button, dimmer) and its "Commands" example (0x3B010305).
EVENT_VECTORS = [
    ("3A00", ()),  # "None": no event
    ("3A01", ("button_press",)),
    ("3A02", ("button_double_press",)),
    ("3A03", ("button_triple_press",)),
    ("3A04", ("button_long_press",)),
    ("3A05", ("button_long_double_press",)),
    ("3A06", ("button_long_triple_press",)),
    ("3A80", ("button_hold_press",)),
    ("3C0000", ()),
    ("3C0103", ("rotate_left_3",)),
    ("3C020A", ("rotate_right_10",)),
    ("3B010305", ("command_step_up_5",)),
    # Hand-derived from the command opcode table: off, on, toggle, step down 2, reserved.
    ("3B0000", ("command_off",)),
    ("3B0001", ("command_on",)),
    ("3B0002", ("command_toggle",)),
    ("3B010402", ("command_step_down_2",)),
    ("3B0005", ()),  # opcodes 0x05-0xFF are reserved: no event
    ("3A003A01", ("button_2_press",)),  # the spec's two-button example
]


@pytest.mark.parametrize(("objects", "expected"), SENSOR_VECTORS)
def test_sensor_examples_of_the_spec(objects: str, expected: dict[str, float]) -> None:
    result = decoded("40" + objects)
    assert result.measurements == expected
    assert all(type(v) is type(expected[k]) for k, v in result.measurements.items())
    assert result.format == "v2"
    assert result.model == "BTHome device"
    assert result.states == {}
    assert result.events == ()


@pytest.mark.parametrize(("objects", "name", "value"), BINARY_VECTORS)
def test_binary_sensor_examples_of_the_spec(objects: str, name: str, value: bool) -> None:
    result = decoded("40" + objects)
    assert result.states == {name: value}
    assert result.measurements == {}


@pytest.mark.parametrize(("objects", "events"), EVENT_VECTORS)
def test_event_examples_of_the_spec(objects: str, events: tuple[str, ...]) -> None:
    result = decoded("40" + objects)
    assert result.events == events
    assert result.measurements == {}


def test_the_advertisement_example_of_the_spec() -> None:
    # "0xD2FC 40 02C409 03BF13": 25.00 °C, 50.55 %.
    result = decoded("4002C40903BF13")
    assert result.measurements == {"temperature": 25.0, "humidity": 50.55}
    assert result.sequence is None


def test_packet_id_is_the_sequence() -> None:
    # Spec "Misc data": 0009 -> packet id 9.
    result = decoded("40 0009 02CA09")
    assert result.sequence == 9
    assert result.measurements == {"temperature": 25.06}
    assert "packet_id" not in result.measurements


def test_device_type_id_names_the_model_and_firmware_is_not_a_measurement() -> None:
    # Spec "Device information": F00100 -> type 1, F100010204 -> 4.2.1.0, F2000106 -> 6.1.0.
    result = decoded("40 02CA09 F00100 F100010204 F2000106")
    assert result.model == "BTHome device (type 0x0001)"
    assert result.measurements == {"temperature": 25.06}


def test_several_objects_in_one_packet() -> None:
    result = decoded("40 00 2A 01 5D 02 C4 09 03 BF 13 0C 02 0C 21 01 3A 01")
    assert result.measurements == {
        "battery": 93,
        "temperature": 25.0,
        "humidity": 50.55,
        "voltage": 3.074,
    }
    assert result.states == {"motion": True}
    assert result.events == ("button_press",)
    assert result.sequence == 42


def test_repeated_quantities_are_numbered_and_none_is_plain() -> None:
    # Spec "Multiple measurements of the same type": a postfix in packet order.
    result = decoded("40 02CA09 02CB09 03BF13 45 1101")
    assert result.measurements == {
        "temperature_1": 25.06,
        "temperature_2": 25.07,
        "temperature_3": 27.3,  # another object id, the same quantity
        "humidity": 50.55,
    }


def test_repeated_states_and_events_are_numbered() -> None:
    result = decoded("40 1A00 1A01 3A00 3A04 3C0103 3C0000")
    assert result.states == {"door_1": False, "door_2": True}
    assert result.events == ("button_2_long_press", "dimmer_1_rotate_left_3")


def test_text_and_raw_are_skipped_by_their_length_byte() -> None:
    result = decoded("40 02CA09 530C48656C6C6F20576F726C6421 5402ABCD 56E803")
    assert result.measurements == {"temperature": 25.06, "conductivity": 1000}


def test_objects_out_of_numerical_order_are_still_read() -> None:
    result = decoded("40 03BF13 02CA09 0161")
    assert result.measurements == {"humidity": 50.55, "temperature": 25.06, "battery": 97}


def test_an_unknown_object_id_ends_the_packet_but_keeps_what_came_before() -> None:
    result = decoded("40 02CA09 7F 0161")
    assert result.measurements == {"temperature": 25.06}


def test_an_unknown_object_id_with_nothing_before_it_is_an_error() -> None:
    assert run("40 7F0102") == DecodeFailure("unknown object id 0x7F")
    assert run("40 0009 7F") == DecodeFailure("unknown object id 0x7F")  # a packet id alone


def test_a_truncated_object() -> None:
    assert run("40 02CA") == DecodeFailure("object 0x02 truncated")
    assert run("40 530C4865") == DecodeFailure("object 0x53 truncated")
    assert run("40 53") == DecodeFailure("object 0x53 truncated")
    assert run("40 3B0203") == DecodeFailure("object 0x3B truncated")
    assert decoded("40 0161 02CA").measurements == {"battery": 97}


@pytest.mark.parametrize(
    ("info", "reason"),
    [
        ("20", "BTHome version 1 in v2 service data"),
        ("60", "BTHome version 3 in v2 service data"),
        ("00", "BTHome version 0 in v2 service data"),
    ],
)
def test_the_version_must_be_2(info: str, reason: str) -> None:
    assert run(info + "02CA09") == DecodeFailure(reason)


def test_trigger_based_and_reserved_flags_do_not_change_the_reading() -> None:
    # 0x44: trigger-based device (bit 2); 0x5A sets reserved bits 1, 3 and 4 as well.
    assert decoded("44 02CA09").measurements == {"temperature": 25.06}
    assert decoded("5A 02CA09").measurements == {"temperature": 25.06}


def test_header_only_packets() -> None:
    assert run("") == DecodeFailure("empty BTHome v2 payload")
    assert decoded("40").measurements == {}


def test_not_bthome_is_not_ours() -> None:
    assert run("4002CA09", uuid=0x181A) is None


def test_v2_is_preferred_when_both_versions_are_present() -> None:
    from hub.testing import advertisement, decode

    adv = advertisement(service_data={V2: bytes.fromhex("4002CA09"), V1: b"\x02\x01\x61"})
    result = decode(INTEGRATION, adv)
    assert isinstance(result, Decoded)
    assert result.format == "v2"


def test_the_table_has_a_row_for_every_object_id_of_the_spec() -> None:
    spec_ids = {*range(0x00, 0x30), *range(0x3A, 0x66), 0xF0, 0xF1, 0xF2}
    assert set(OBJECTS) == spec_ids
    assert len(TABLE) == len(OBJECTS)
    for spec in TABLE:
        if spec.kind is Kind.SENSOR:
            assert spec.size in (1, 2, 3, 4), spec
        if spec.kind is Kind.BINARY:
            assert spec.size == 1, spec


def test_declaration_is_valid() -> None:
    INTEGRATION.check()
