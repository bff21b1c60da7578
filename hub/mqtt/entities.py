"""How each canonical measurement (contract 2) looks in Home Assistant: device class, unit,
state class, label, and whether it is a diagnostic entity.

Numbered instances (`temperature_2`) look like their base quantity, labelled with the
number. A name not listed here still gets an entity, without device class or unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EntityKind:
    """Home Assistant's view of one quantity."""

    label: str
    device_class: str | None = None
    unit: str | None = None
    state_class: str = "measurement"
    diagnostic: bool = False
    enabled: bool = True


_UG = "µg/m³"
# Meters and totals (energy, gas, water) only grow: Home Assistant refuses `measurement`
# for those device classes.
_TOTAL = "total_increasing"

KINDS: dict[str, EntityKind] = {
    # contract 2
    "temperature": EntityKind("Temperature", "temperature", "°C"),
    "humidity": EntityKind("Humidity", "humidity", "%"),
    "pressure": EntityKind("Pressure", "atmospheric_pressure", "hPa"),
    "dew_point": EntityKind("Dew point", "temperature", "°C"),
    "battery": EntityKind("Battery", "battery", "%", diagnostic=True),
    "voltage": EntityKind("Battery voltage", "voltage", "V", diagnostic=True),
    "acceleration_x": EntityKind("Acceleration X", None, "g"),
    "acceleration_y": EntityKind("Acceleration Y", None, "g"),
    "acceleration_z": EntityKind("Acceleration Z", None, "g"),
    "movement_counter": EntityKind("Movement counter"),
    "measurement_sequence": EntityKind("Measurement sequence", diagnostic=True, enabled=False),
    "co2": EntityKind("CO2", "carbon_dioxide", "ppm"),
    "pm1_0": EntityKind("PM1", "pm1", _UG),
    "pm2_5": EntityKind("PM2.5", "pm25", _UG),
    "pm4_0": EntityKind("PM4", None, _UG),
    "pm10": EntityKind("PM10", "pm10", _UG),
    "voc_index": EntityKind("VOC index"),
    "nox_index": EntityKind("NOx index"),
    "illuminance": EntityKind("Illuminance", "illuminance", "lx"),
    "moisture": EntityKind("Moisture", "moisture", "%"),
    "conductivity": EntityKind("Conductivity", "conductivity", "µS/cm"),
    "tx_power": EntityKind("TX power", "signal_strength", "dBm", diagnostic=True, enabled=False),
    # the radio's, not the payload's (the state message's `rssi`)
    "rssi": EntityKind("Signal strength", "signal_strength", "dBm", diagnostic=True, enabled=False),
    # other BTHome quantities, in BTHome's units
    "mass_kg": EntityKind("Mass", "weight", "kg"),
    "mass_lb": EntityKind("Mass", "weight", "lb"),
    "count": EntityKind("Count"),
    "energy": EntityKind("Energy", "energy", "kWh", _TOTAL),
    "power": EntityKind("Power", "power", "W"),
    "tvoc": EntityKind("TVOC", "volatile_organic_compounds", _UG),
    "rotation": EntityKind("Rotation", None, "°"),
    "distance_mm": EntityKind("Distance", "distance", "mm"),
    "distance_m": EntityKind("Distance", "distance", "m"),
    "duration": EntityKind("Duration", "duration", "s"),
    "current": EntityKind("Current", "current", "A"),
    "speed": EntityKind("Speed", "speed", "m/s"),
    "uv_index": EntityKind("UV index"),
    "volume": EntityKind("Volume", "volume", "L", _TOTAL),
    "volume_flow_rate": EntityKind("Volume flow rate", "volume_flow_rate", "m³/h"),
    "gas": EntityKind("Gas", "gas", "m³", _TOTAL),
    "water": EntityKind("Water", "water", "L", _TOTAL),
    "volume_storage": EntityKind("Stored volume", "volume_storage", "L"),
    "acceleration": EntityKind("Acceleration", None, "m/s²"),
    "gyroscope": EntityKind("Gyroscope", None, "°/s"),
    "direction": EntityKind("Direction", None, "°"),
    "precipitation": EntityKind("Precipitation", "precipitation", "mm"),
    "rotational_speed": EntityKind("Rotational speed", None, "rpm"),
    "light_level": EntityKind("Light level"),
    "channel": EntityKind("Channel", diagnostic=True),
    "timestamp": EntityKind("Device time", None, "s", diagnostic=True, enabled=False),
    "settings_revision": EntityKind("Settings revision", diagnostic=True, enabled=False),
}

_NUMBERED = re.compile(r"(.+)_(\d+)")


def entity_kind(name: str) -> EntityKind:
    """The Home Assistant description of measurement `name`."""
    kind = KINDS.get(name)
    if kind is not None:
        return kind
    numbered = _NUMBERED.fullmatch(name)
    if numbered is not None:
        base = KINDS.get(numbered.group(1))
        if base is not None:
            return EntityKind(
                f"{base.label} {numbered.group(2)}",
                base.device_class,
                base.unit,
                base.state_class,
                base.diagnostic,
                base.enabled,
            )
    return EntityKind(name.replace("_", " ").capitalize())
