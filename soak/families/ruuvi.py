"""RuuviTag data formats 5 (RAWv2) and 3 (RAWv1): manufacturer data of company 0x0499.

Format 5 carries a measurement sequence (0..65534; 65535 means "not available", so the
counter wraps from 65534 to 0) and a movement counter (0..254), and the tag sends a new
measurement in every advertisement. Format 3 has no counter.
"""

from __future__ import annotations

import struct

from integrations.ruuvi.battery import BATTERY_CURVE
from soak.families.base import (
    AdvertisementRecordFields,
    Family,
    Measurements,
    Values,
    battery_of,
    broken,
    fields,
    mac_bytes,
    short_id,
    steps,
    voltage_for,
)

COMPANY_ID = 0x0499
DF5_SEQUENCE_MODULUS = 65535
_DF5 = struct.Struct(">BhHHhhhHBH6s")
_DF3 = struct.Struct(">BBBBHhhhH")
_TX_POWER = 4  # dBm
_TX_RAW = (_TX_POWER + 40) // 2


def _acceleration(values: Values) -> tuple[int, int, int]:
    return (
        steps(values.get("acceleration_x", 0.0), 0.001, -32767, 32767),
        steps(values.get("acceleration_y", 0.0), 0.001, -32767, 32767),
        steps(values.get("acceleration_z", 1.0), 0.001, -32767, 32767),
    )


def encode_df5(
    values: Values, counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    temperature = steps(values["temperature"], 0.005, -32767, 32767)
    humidity = steps(values["humidity"], 0.0025, 0, 40000)
    pressure = steps(values["pressure"] - 500.0, 0.01, 0, 65534)
    acc_x, acc_y, acc_z = _acceleration(values)
    millivolts = steps(voltage_for(values["battery"], BATTERY_CURVE) - 1.6, 0.001, 0, 2046)
    movement = int(values.get("movement_counter", 0)) % 255
    sequence = counter % DF5_SEQUENCE_MODULUS
    payload = _DF5.pack(
        5,
        temperature,
        humidity,
        pressure,
        acc_x,
        acc_y,
        acc_z,
        millivolts << 5 | _TX_RAW,
        movement,
        sequence,
        mac_bytes(address),
    )
    voltage = (millivolts + 1600) / 1000
    m: Measurements = {
        "temperature": temperature / 200,
        "humidity": humidity / 400,
        "pressure": (pressure + 50_000) / 100,
        "acceleration_x": acc_x / 1000,
        "acceleration_y": acc_y / 1000,
        "acceleration_z": acc_z / 1000,
        "voltage": voltage,
        "battery": battery_of(voltage, BATTERY_CURVE),
        "tx_power": _TX_RAW * 2 - 40,
        "movement_counter": movement,
        "measurement_sequence": sequence,
    }
    return fields(
        m,
        name=f"Ruuvi {short_id(address)}",
        manufacturer_data={COMPANY_ID: payload},
        sequence=sequence,
    )


def encode_df3(
    values: Values, _counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    humidity = steps(values["humidity"], 0.5, 0, 200)
    celsius = values["temperature"]
    hundredths = steps(abs(celsius), 0.01, 0, 127 * 100 + 99)
    whole, fraction = divmod(hundredths, 100)
    negative = celsius < 0 and hundredths > 0
    pressure = steps(values["pressure"] - 500.0, 0.01, 0, 65535)
    acc_x, acc_y, acc_z = _acceleration(values)
    millivolts = steps(voltage_for(values["battery"], BATTERY_CURVE), 0.001, 0, 65535)
    payload = _DF3.pack(
        3,
        humidity,
        whole | (0x80 if negative else 0),
        fraction,
        pressure,
        acc_x,
        acc_y,
        acc_z,
        millivolts,
    )
    magnitude = round(whole + fraction / 100, 2)
    voltage = millivolts / 1000
    m: Measurements = {
        "temperature": -magnitude if negative else magnitude,
        "humidity": humidity * 0.5,
        "pressure": round((pressure + 50_000) / 100, 2),
        "acceleration_x": acc_x / 1000,
        "acceleration_y": acc_y / 1000,
        "acceleration_z": acc_z / 1000,
        "voltage": voltage,
        "battery": battery_of(voltage, BATTERY_CURVE),
    }
    return fields(m, name=f"Ruuvi {short_id(address)}", manufacturer_data={COMPANY_ID: payload})


def broken_ruuvi(address: str, _key: bytes | None) -> tuple[AdvertisementRecordFields, ...]:
    good = encode_df5(
        {"temperature": 20.0, "humidity": 50.0, "pressure": 1000.0, "battery": 90.0},
        1,
        address,
        None,
    ).manufacturer_data[COMPANY_ID]
    return (
        broken("format 5 truncated", manufacturer_data={COMPANY_ID: good[:17]}),
        broken("format 5 too long", manufacturer_data={COMPANY_ID: good + b"\x00\x00"}),
        broken("format 3 too short", manufacturer_data={COMPANY_ID: b"\x03" + good[1:10]}),
        broken("unknown data format", manufacturer_data={COMPANY_ID: b"\x07" + good[1:]}),
        broken("encrypted format 8", manufacturer_data={COMPANY_ID: b"\x08" + good[1:]}),
        broken("empty payload", manufacturer_data={COMPANY_ID: b""}),
    )


_CLIMATE = ("temperature", "humidity", "pressure", "battery")
_MOTION = ("movement_counter", "acceleration_x", "acceleration_y", "acceleration_z")

DF5 = Family(
    name="ruuvi_df5",
    integration="ruuvi",
    model="RuuviTag",
    quantities=(*_CLIMATE, *_MOTION),
    encode_fn=encode_df5,
    broken_fn=broken_ruuvi,
    intervals=(1.0, 1.285, 2.0, 5.0, 6.425, 10.0),
    sequence_modulus=DF5_SEQUENCE_MODULUS,
    ranges={"temperature": (-40.0, 85.0), "pressure": (500.0, 1155.0)},
    resolution={
        "temperature": 0.005,
        "humidity": 0.0025,
        "pressure": 0.01,
        "battery": 2,
        "acceleration_x": 0.001,
        "acceleration_y": 0.001,
        "acceleration_z": 0.001,
    },
)
DF3 = Family(
    name="ruuvi_df3",
    integration="ruuvi",
    model="RuuviTag",
    quantities=(*_CLIMATE, "acceleration_x", "acceleration_y", "acceleration_z"),
    encode_fn=encode_df3,
    broken_fn=broken_ruuvi,
    intervals=(1.0, 2.0, 5.0, 10.0),
    ranges={"temperature": (-40.0, 85.0), "pressure": (500.0, 1155.0)},
    resolution={
        "temperature": 0.01,
        "humidity": 0.5,
        "pressure": 0.01,
        "battery": 2,
        "acceleration_x": 0.001,
        "acceleration_y": 0.001,
        "acceleration_z": 0.001,
    },
)
