"""Inkbird IBS-TH ("sps": temperature, humidity, battery) and IBS-TH2 with its external
probe ("tps", no hygrometer: humidity sent as 0). The temperature rides in the company-id
bytes, so the manufacturer-data key changes with every reading. No counter.
"""

from __future__ import annotations

import struct

from soak.families.base import (
    AdvertisementRecordFields,
    Family,
    Measurements,
    Values,
    broken,
    fields,
    steps,
)

_PAYLOAD = struct.Struct("<HBHBB")  # humidity, sensor, CRC, battery, undocumented
_INTERNAL, _EXTERNAL = 0, 1


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS: reflected polynomial 0xA001, initial value 0xFFFF."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _frame(temperature: int, humidity: int, sensor: int, battery: int) -> dict[int, bytes]:
    company = temperature & 0xFFFF
    head = company.to_bytes(2, "little") + humidity.to_bytes(2, "little") + bytes((sensor,))
    return {company: _PAYLOAD.pack(humidity, sensor, crc16_modbus(head), battery, 6)}


def encode_ibs_th(
    values: Values, _counter: int, _address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    temperature = steps(values["temperature"], 0.01, -32768, 32767)
    humidity = steps(values["humidity"], 0.01, 0, 10000)
    battery = steps(values["battery"], 1, 0, 100)
    m: Measurements = {
        "temperature": temperature / 100,
        "humidity": humidity / 100,
        "battery": battery,
    }
    frame = _frame(temperature, humidity, _INTERNAL, battery)
    return fields(m, name="sps", manufacturer_data=frame)


def encode_ibs_th2_probe(
    values: Values, _counter: int, _address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    temperature = steps(values["temperature"], 0.01, -32768, 32767)
    battery = steps(values["battery"], 1, 0, 100)
    m: Measurements = {"temperature": temperature / 100, "battery": battery}
    return fields(m, name="tps", manufacturer_data=_frame(temperature, 0, _EXTERNAL, battery))


def broken_inkbird(_address: str, _key: bytes | None) -> tuple[AdvertisementRecordFields, ...]:
    good = _frame(2150, 4500, _INTERNAL, 80)
    ((company, payload),) = good.items()
    bad_crc = payload[:3] + bytes((payload[3] ^ 0xFF,)) + payload[4:]
    return (
        broken("checksum mismatch", name="sps", manufacturer_data={company: bad_crc}),
        broken("no 7-byte payload", name="sps", manufacturer_data={company: payload[:5]}),
        broken("unknown sensor byte", name="sps", manufacturer_data=_frame(2150, 4500, 7, 80)),
    )


IBS_TH = Family(
    name="inkbird_ibs_th",
    integration="inkbird",
    model="IBS-TH",
    quantities=("temperature", "humidity", "battery"),
    encode_fn=encode_ibs_th,
    broken_fn=broken_inkbird,
    intervals=(5.0, 10.0),
    repeats=(1, 2),
    ranges={"temperature": (-40.0, 60.0)},
    resolution={"temperature": 0.01, "humidity": 0.01, "battery": 1},
)
IBS_TH2_PROBE = Family(
    name="inkbird_ibs_th2_probe",
    integration="inkbird",
    model="IBS-TH2/P01B",
    quantities=("temperature", "battery"),
    encode_fn=encode_ibs_th2_probe,
    broken_fn=broken_inkbird,
    intervals=(5.0, 10.0),
    repeats=(1, 2),
    ranges={"temperature": (-40.0, 100.0)},
    resolution={"temperature": 0.01, "battery": 1},
)
