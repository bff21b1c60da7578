"""Decode SwitchBot thermo-hygrometers: the model and battery from the service data, the
temperature and humidity from the manufacturer data (newer firmware, Outdoor Meter, Meter
Pro) or from the service data (Meter, Meter Plus).

The service data (UUID 0xFD3D, before Meter firmware 2.7 0x0D00) is the only part that
names the product: byte 0 bits 6-0 the device type, byte 2 bits 6-0 the battery. Every
SwitchBot product shares company id 0x0969, so manufacturer data without service data is
never decoded: it could as well be a Bot or a Curtain.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure
from hub.records import normalise_uuid
from integrations.switchbot.meter import add_co2, add_temperature_humidity

WOAN_COMPANY_ID = 0x0969
SERVICE_UUID = normalise_uuid("fd3d")
LEGACY_SERVICE_UUID = normalise_uuid("0d00")

_DEVICE_TYPE = 0x7F
_BATTERY = 0x7F
_SERVICE_HEADER = 3  # device type, status, battery
# Service data of the Meter and Meter Plus: the header, then the record at offset 3.
_SERVICE_RECORD = 3
# Manufacturer data (company 0x0969): MAC (6 bytes), 2 bytes, then the record at offset 8.
_MANUFACTURER_RECORD = 8
_RECORD_LENGTH = 3


@dataclass(frozen=True, slots=True)
class Meter:
    """A SwitchBot thermo-hygrometer model and where it puts its measurements."""

    model: str
    # True where the service data itself carries the record (6 bytes instead of 3).
    record_in_service_data: bool
    co2: bool = False


_METER = Meter("Meter", record_in_service_data=True)
_METER_PLUS = Meter("Meter Plus", record_in_service_data=True)
_OUTDOOR_METER = Meter("Outdoor Meter", record_in_service_data=False)
_METER_PRO = Meter("Meter Pro", record_in_service_data=False)
_METER_PRO_CO2 = Meter("Meter Pro CO2", record_in_service_data=False, co2=True)

# Device type (service data byte 0, bits 6-0) -> model. Each device type has a second code
# with bit 5 flipped that the device sends in pairing ("add") mode, as the official table
# shows for the Meter: 'T' normal, 't' add mode.
METERS: dict[int, Meter] = {
    0x54: _METER,  # 'T'
    0x74: _METER,  # 't'
    0x69: _METER_PLUS,  # 'i'
    0x49: _METER_PLUS,  # 'I'
    0x77: _OUTDOOR_METER,  # 'w' (WoIOSensorTH)
    0x57: _OUTDOOR_METER,  # 'W'
    0x34: _METER_PRO,  # '4'
    0x14: _METER_PRO,
    0x35: _METER_PRO_CO2,  # '5'
    0x15: _METER_PRO_CO2,
}


def decode(adv: Advertisement, _context: DecodeContext) -> Decoded | DecodeFailure | None:
    service_data = adv.service_data
    data = service_data.get(SERVICE_UUID)
    if data is None:
        data = service_data.get(LEGACY_SERVICE_UUID)
    if not data:
        return None
    meter = METERS.get(data[0] & _DEVICE_TYPE)
    if meter is None:
        return None  # another SwitchBot product
    if len(data) < _SERVICE_HEADER:
        return DecodeFailure(
            f"SwitchBot {meter.model}: service data must be at least 3 bytes, got {len(data)}"
        )
    m: dict[str, float | int] = {}
    battery = data[2] & _BATTERY
    if battery <= 100:
        m["battery"] = battery
    manufacturer = adv.manufacturer_data.get(WOAN_COMPANY_ID)
    if manufacturer is not None and len(manufacturer) >= _MANUFACTURER_RECORD + _RECORD_LENGTH:
        # Sent in every advertisement (the service data only in scan responses), so fresher.
        add_temperature_humidity(m, manufacturer, _MANUFACTURER_RECORD)
        if meter.co2:
            add_co2(m, manufacturer)
        return Decoded(measurements=m, model=meter.model, format="manufacturer_data")
    if len(data) >= _SERVICE_RECORD + _RECORD_LENGTH:
        add_temperature_humidity(m, data, _SERVICE_RECORD)
        return Decoded(measurements=m, model=meter.model, format="service_data")
    if manufacturer is not None:
        return DecodeFailure(
            f"SwitchBot {meter.model}: manufacturer data must be at least 11 bytes, "
            f"got {len(manufacturer)}"
        )
    if meter.record_in_service_data:
        return DecodeFailure(
            f"SwitchBot {meter.model}: service data must be 6 bytes, got {len(data)}"
        )
    # A scan response heard without its advertisement: the battery is all there is.
    return Decoded(measurements=m, model=meter.model, format="service_data")
