"""Published Aranet advertisements (manufacturer data of company 0x0702, without the id).

ARANET4_PYTHON: Anrijs/Aranet4-Python, tests/test_advertisements.py (TEST_DATA_ARANET_*),
whose assertions give co2, temperature (rounded there to 0.1 °C), humidity, pressure,
battery, interval and age. HOME_ASSISTANT: home-assistant/core,
tests/components/aranet/__init__.py (service infos used by test_sensor.py).
"""

from __future__ import annotations

# Aranet4-Python: Aranet4 v1.3.5 -> co2 1091, 20.8 °C (raw 415 / 20 = 20.75), 53 %,
# 1012.3 hPa, battery 12 %, interval 60 s, age 16 s; last byte 0x55 is the counter.
ARANET4 = b"!\x05\x03\x01\x00\x05\x00\x01C\x04\x9f\x01\x8b'5\x0c\x02<\x00\x10\x00U"
# Same, cut after the age high byte is missing (library: "manufacturer_data_short").
ARANET4_SHORT = b"!\x05\x03\x01\x00\x05\x00\x01C\x04\x9f\x01\x8b'5\x0c\x02<\x00\x10"
# Firmware v0.4.10, which advertises no readings.
ARANET4_OLD_FIRMWARE = b"\x21\x0a\x04\x00\x00\x00\x00"
# Firmware v1.2.0 with Smart Home integrations disabled.
ARANET4_NO_INTEGRATIONS = b"\x01\x00\x02\x01\x00\x00\x00"
# "manufacturer_data_bad": too short for anything.
ARANET4_BAD = b"\x01\x00\x02"
# Aranet2 v1.4.4 -> 20.5 °C (raw 409 / 20 = 20.45), 52.2 %, battery 59 %, interval 120 s,
# age 82 s; counter 0x64.
ARANET2 = b"\x01!\x04\x04\x01\x00\x00\x00\x00\x00\x99\x01\x00\x00\n\x02\x00;\x00x\x00R\x00d"
ARANET2_NO_INTEGRATIONS = (
    b"\x01\x01\x04\x04\x01\x00\x00\x00\x00\x00\x99\x01\x00\x00\n\x02\x00;\x00x\x00R\x00d"
)
# Aranet Radiation v1.4.38 (rate 130, total 13264, duration 417900 s, battery 99 %).
ARANET_RADIATION = b"\x02!&\x04\x01\x00\xd03\x00\x00l`\x06\x00\x82\x00\x00c\x00,\x01X\x00r"
# Aranet Radon Plus v1.6.4 -> radon 7 Bq/m³, 25.5 °C, 46.2 %, 1018.5 hPa, battery 100 %,
# interval 600 s, age 502 s; counter 0x08.
ARANET_RADON = (
    b"\x03!\x04\x06\x01\x00\x00\x00\x07\x00\xfe\x01\xc9'\xce\x01\x00d\x01X\x02\xf6\x01\x08"
)

# Home Assistant: Aranet4 -> co2 650, 21.1 °C there (raw 421 / 20 = 21.05), 34 %,
# 990.5 hPa, battery 89 %; counter 0x88.
HA_ARANET4 = b'\x21\x00\x02\x01\x00\x00\x00\x01\x8a\x02\xa5\x01\xb1&"Y\x01,\x01\xe8\x00\x88'
# Aranet2 -> 24.8 °C, 52.4 %, battery 79 %; counter 0x80.
HA_ARANET2 = (
    b"\x01!\x04\x04\x01\x00\x00\x00\x00\x00\xf0\x01\x00\x00\x0c\x02\x00O\x00<\x00\x01\x00\x80"
)
HA_ARANET_RADIATION = b"\x02!&\x04\x01\x00`-\x00\x00\x08\x98\x05\x00n\x00\x00d\x00,\x01\xfd\x00\xc7"
HA_OLD_FIRMWARE = b"\x21\x0a\x04\x00\x00\x00\x00\x00"
HA_DISABLED_INTEGRATIONS = b"\x01\x00\x02\x01\x00\x00\x00\x00"
