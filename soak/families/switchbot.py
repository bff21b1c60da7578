"""SwitchBot thermo-hygrometers: the Meter (the reading in its 6-byte service data 0xFD3D)
and the Meter Pro CO2 (model and battery in the service data, temperature, humidity and
CO2 in the manufacturer data of company 0x0969). No counter the hub uses.
"""

from __future__ import annotations

from soak.families.base import (
    AdvertisementRecordFields,
    Family,
    Measurements,
    Values,
    broken,
    fields,
    mac_bytes,
    steps,
)

UUID = "0000fd3d-0000-1000-8000-00805f9b34fb"
COMPANY_ID = 0x0969
_METER = 0x54
_METER_PRO_CO2 = 0x35


def _record(values: Values) -> tuple[bytes, Measurements]:
    """The 3-byte temperature/humidity record: sign-and-magnitude degrees and tenths."""
    celsius = values["temperature"]
    tenths_total = steps(abs(celsius), 0.1, 0, 127 * 10 + 9)
    whole, tenths = divmod(tenths_total, 10)
    positive = celsius >= 0 or tenths_total == 0
    humidity = steps(values["humidity"], 1, 0, 99)
    record = bytes((tenths, whole | (0x80 if positive else 0), humidity))
    magnitude = whole * 10 + tenths
    m: Measurements = {
        "temperature": (magnitude if positive else -magnitude) / 10,
        "humidity": humidity,
    }
    return record, m


def encode_meter(
    values: Values, _counter: int, _address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    record, m = _record(values)
    battery = steps(values["battery"], 1, 0, 100)
    service = bytes((_METER, 0x00, battery)) + record
    return fields({"battery": battery, **m}, service_data={UUID: service})


def encode_meter_pro_co2(
    values: Values, counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    record, m = _record(values)
    battery = steps(values["battery"], 1, 0, 100)
    co2 = steps(values["co2"], 1, 0, 9999)
    # MAC, a sequence byte (not read by the hub), a status byte, the record, two more
    # bytes, the CO2 (big-endian), a last byte.
    manufacturer = (
        mac_bytes(address)
        + bytes((counter & 0xFF, 0x00))
        + record
        + b"\x00\x00"
        + co2.to_bytes(2, "big")
        + b"\x00"
    )
    service = bytes((_METER_PRO_CO2, 0x00, battery))
    return fields(
        {"battery": battery, **m, "co2": co2},
        service_data={UUID: service},
        manufacturer_data={COMPANY_ID: manufacturer},
    )


def broken_switchbot(_address: str, _key: bytes | None) -> tuple[AdvertisementRecordFields, ...]:
    return (
        broken("Meter service data too short", service_data={UUID: b"\x54\x00"}),
        broken("Meter without its record", service_data={UUID: b"\x54\x00\x50\x01"}),
        broken(
            "Meter Pro CO2 with short manufacturer data",
            service_data={UUID: b"\x35\x00\x50"},
            manufacturer_data={COMPANY_ID: b"\x01\x02\x03"},
        ),
    )


METER = Family(
    name="switchbot_meter",
    integration="switchbot",
    model="Meter",
    quantities=("temperature", "humidity", "battery"),
    encode_fn=encode_meter,
    broken_fn=broken_switchbot,
    intervals=(2.0, 5.0, 10.0),
    repeats=(1, 3),
    ranges={"temperature": (-20.0, 80.0), "humidity": (0.0, 99.0)},
    resolution={"temperature": 0.1, "humidity": 1, "battery": 1},
)
METER_PRO_CO2 = Family(
    name="switchbot_meter_pro_co2",
    integration="switchbot",
    model="Meter Pro CO2",
    quantities=("temperature", "humidity", "battery", "co2"),
    encode_fn=encode_meter_pro_co2,
    broken_fn=broken_switchbot,
    intervals=(5.0, 10.0),
    repeats=(1, 2),
    ranges={"temperature": (-20.0, 80.0), "humidity": (0.0, 99.0)},
    resolution={"temperature": 0.1, "humidity": 1, "battery": 1, "co2": 1},
)
