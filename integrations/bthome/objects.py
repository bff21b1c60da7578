"""The BTHome object table: every object id of the specification and what it carries.

Source: https://bthome.io/format/ (sensor, binary sensor, event, device information and
packet id tables), plus the later additions merged into that page: precipitation factor
0.1 (bthome.io PR #58), channel 0x60 (#55), rotational speed 0x61 (#62), signed speed and
acceleration 0x62/0x63 (#68), light level 0x64 (#71), settings revision 0x65 (#73) and the
command event 0x3B (#74, #75). Integers are little-endian.

`name` is what we report: the canonical name of CONTRACTS.md section 2 where one exists
(battery, temperature, humidity, pressure, illuminance, voltage, co2, pm2_5, pm10, moisture,
conductivity), otherwise BTHome's object name in snake_case. `factor` and `unit` are the
ones we report in; they equal BTHome's except where a row says otherwise.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    SENSOR = "sensor"  # a number -> measurements
    BINARY = "binary"  # 0/1 -> states
    EVENT = "event"  # button, command, dimmer -> events
    PACKET_ID = "packet_id"  # -> Decoded.sequence
    DEVICE_TYPE = "device_type"  # -> Decoded.model
    IGNORED = "ignored"  # parsed for its length, not reported (reason in the row)
    VARIABLE = "variable"  # text/raw: a length byte follows the id; skipped


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    """One row of the BTHome object table."""

    object_id: int
    name: str
    size: int  # value bytes after the id in v2; 0 = variable length
    signed: bool
    factor: float
    unit: str
    kind: Kind
    # Derived from `factor` so that the hot path only divides or multiplies:
    # value = raw / divisor (exact decimal result for 0.1, 0.01, ...), or
    # round(raw * multiplier, decimals) for a factor that is not 1/10^n (0.35).
    divisor: int = 1
    multiplier: float | None = None
    decimals: int = 0


def _row(
    object_id: int,
    name: str,
    size: int,
    signed: bool,
    factor: float,
    unit: str,
    kind: Kind = Kind.SENSOR,
) -> ObjectSpec:
    text = f"{factor:.10f}".rstrip("0")
    decimals = len(text.split(".")[1]) if "." in text else 0
    inverse = 1 / factor
    if abs(inverse - round(inverse)) < 1e-9:
        divisor = round(inverse)
        return ObjectSpec(
            object_id, name, size, signed, factor, unit, kind, divisor, None, decimals
        )
    return ObjectSpec(object_id, name, size, signed, factor, unit, kind, 1, factor, decimals)


def _binary(object_id: int, name: str) -> ObjectSpec:
    return _row(object_id, name, 1, False, 1, "", Kind.BINARY)


S, U = True, False  # signed / unsigned, for a readable table

# fmt: off
TABLE: tuple[ObjectSpec, ...] = (
    #    id    name                 bytes sign factor     unit
    _row(0x00, "packet_id",          1, U, 1,        "",      Kind.PACKET_ID),
    _row(0x01, "battery",            1, U, 1,        "%"),
    _row(0x02, "temperature",        2, S, 0.01,     "°C"),
    _row(0x03, "humidity",           2, U, 0.01,     "%"),
    _row(0x04, "pressure",           3, U, 0.01,     "hPa"),
    _row(0x05, "illuminance",        3, U, 0.01,     "lx"),
    _row(0x06, "mass_kg",            2, U, 0.01,     "kg"),
    _row(0x07, "mass_lb",            2, U, 0.01,     "lb"),
    # Dew point: the core derives it from temperature and humidity (contract 2).
    _row(0x08, "dew_point",          2, S, 0.01,     "°C",    Kind.IGNORED),
    _row(0x09, "count",              1, U, 1,        ""),
    _row(0x0A, "energy",             3, U, 0.001,    "kWh"),
    _row(0x0B, "power",              3, U, 0.01,     "W"),
    _row(0x0C, "voltage",            2, U, 0.001,    "V"),
    _row(0x0D, "pm2_5",              2, U, 1,        "µg/m³"),
    _row(0x0E, "pm10",               2, U, 1,        "µg/m³"),
    _binary(0x0F, "generic_boolean"),   # True = on
    _binary(0x10, "power"),             # True = on
    _binary(0x11, "opening"),           # True = open
    _row(0x12, "co2",                2, U, 1,        "ppm"),
    _row(0x13, "tvoc",               2, U, 1,        "µg/m³"),
    _row(0x14, "moisture",           2, U, 0.01,     "%"),
    _binary(0x15, "battery"),           # True = low
    _binary(0x16, "battery_charging"),  # True = charging
    _binary(0x17, "carbon_monoxide"),   # True = detected
    _binary(0x18, "cold"),              # True = cold
    _binary(0x19, "connectivity"),      # True = connected
    _binary(0x1A, "door"),              # True = open
    _binary(0x1B, "garage_door"),       # True = open
    _binary(0x1C, "gas"),               # True = detected
    _binary(0x1D, "heat"),              # True = hot
    _binary(0x1E, "light"),             # True = light detected
    _binary(0x1F, "lock"),              # True = unlocked
    _binary(0x20, "moisture"),          # True = wet
    _binary(0x21, "motion"),            # True = detected
    _binary(0x22, "moving"),            # True = moving
    _binary(0x23, "occupancy"),         # True = detected
    _binary(0x24, "plug"),              # True = plugged in
    _binary(0x25, "presence"),          # True = home
    _binary(0x26, "problem"),           # True = problem
    _binary(0x27, "running"),           # True = running
    _binary(0x28, "safety"),            # True = safe
    _binary(0x29, "smoke"),             # True = detected
    _binary(0x2A, "sound"),             # True = detected
    _binary(0x2B, "tamper"),            # True = on
    _binary(0x2C, "vibration"),         # True = detected
    _binary(0x2D, "window"),            # True = open
    _row(0x2E, "humidity",           1, U, 1,        "%"),
    _row(0x2F, "moisture",           1, U, 1,        "%"),
    _row(0x3A, "button",             1, U, 1,        "",      Kind.EVENT),
    # Command: a byte whose low 5 bits give the argument length, an opcode, the arguments.
    _row(0x3B, "command",            0, U, 1,        "",      Kind.EVENT),
    _row(0x3C, "dimmer",             2, U, 1,        "",      Kind.EVENT),
    _row(0x3D, "count",              2, U, 1,        ""),
    _row(0x3E, "count",              4, U, 1,        ""),
    _row(0x3F, "rotation",           2, S, 0.1,      "°"),
    _row(0x40, "distance_mm",        2, U, 1,        "mm"),
    _row(0x41, "distance_m",         2, U, 0.1,      "m"),
    _row(0x42, "duration",           3, U, 0.001,    "s"),
    _row(0x43, "current",            2, U, 0.001,    "A"),
    _row(0x44, "speed",              2, U, 0.01,     "m/s"),
    _row(0x45, "temperature",        2, S, 0.1,      "°C"),
    _row(0x46, "uv_index",           1, U, 0.1,      ""),
    _row(0x47, "volume",             2, U, 0.1,      "L"),
    # BTHome sends this one in mL (factor 1); we report litres so "volume" has one unit.
    _row(0x48, "volume",             2, U, 0.001,    "L"),
    _row(0x49, "volume_flow_rate",   2, U, 0.001,    "m³/h"),
    _row(0x4A, "voltage",            2, U, 0.1,      "V"),
    _row(0x4B, "gas",                3, U, 0.001,    "m³"),
    _row(0x4C, "gas",                4, U, 0.001,    "m³"),
    _row(0x4D, "energy",             4, U, 0.001,    "kWh"),
    _row(0x4E, "volume",             4, U, 0.001,    "L"),
    _row(0x4F, "water",              4, U, 0.001,    "L"),
    _row(0x50, "timestamp",          4, U, 1,        "s"),    # seconds since 1970 (UTC)
    _row(0x51, "acceleration",       2, U, 0.001,    "m/s²"),
    _row(0x52, "gyroscope",          2, U, 0.001,    "°/s"),
    _row(0x53, "text",               0, U, 1,        "",      Kind.VARIABLE),
    _row(0x54, "raw",                0, U, 1,        "",      Kind.VARIABLE),
    _row(0x55, "volume_storage",     4, U, 0.001,    "L"),
    _row(0x56, "conductivity",       2, U, 1,        "µS/cm"),
    _row(0x57, "temperature",        1, S, 1,        "°C"),
    _row(0x58, "temperature",        1, S, 0.35,     "°C"),
    _row(0x59, "count",              1, S, 1,        ""),
    _row(0x5A, "count",              2, S, 1,        ""),
    _row(0x5B, "count",              4, S, 1,        ""),
    _row(0x5C, "power",              4, S, 0.01,     "W"),
    _row(0x5D, "current",            2, S, 0.001,    "A"),
    _row(0x5E, "direction",          2, U, 0.01,     "°"),
    _row(0x5F, "precipitation",      2, U, 0.1,      "mm"),
    _row(0x60, "channel",            1, U, 1,        ""),
    _row(0x61, "rotational_speed",   2, U, 1,        "rpm"),
    _row(0x62, "speed",              4, S, 0.000001, "m/s"),
    _row(0x63, "acceleration",       4, S, 0.000001, "m/s²"),
    _row(0x64, "light_level",        1, U, 1,        ""),     # 0 dark, 1 twilight, 2 bright
    _row(0x65, "settings_revision",  1, U, 1,        ""),
    _row(0xF0, "device_type_id",     2, U, 1,        "",      Kind.DEVICE_TYPE),
    # Firmware versions are dotted strings (4.2.1.0), not quantities worth a time series.
    _row(0xF1, "firmware_version",   4, U, 1,        "",      Kind.IGNORED),
    _row(0xF2, "firmware_version",   3, U, 1,        "",      Kind.IGNORED),
)
# fmt: on

OBJECTS: dict[int, ObjectSpec] = {spec.object_id: spec for spec in TABLE}
assert len(OBJECTS) == len(TABLE), "duplicate object id in TABLE"
