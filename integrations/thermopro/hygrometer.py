"""The ThermoPro hygrometer frame, of which bleak hands us the company id and the rest.

Manufacturer-specific data (after the AD type 0xFF), little-endian:

| bytes | field |
|---|---|
| 0 | not documented (0xC2 or 0x82 in captures); ignored |
| 1–2 | temperature, int16, 0.1 °C |
| 3 | humidity, uint8, % |
| 4 | 6-byte frame (TP357, TP393): battery level 0 low, 1 half, 2 full |
| 5… | not documented (0x2C; the TP357S sends 0x22 0x0B 0x01 from byte 4) |

Bleak's company id is bytes 0-1, so the temperature is (company id >> 8) | payload[0] << 8.
Temperature 0xFFFF with humidity 0xFF (a TP357S frame published in thermopro-ble's tests as
TP357_S_FILTER_2) is all-ones fill, not -0.1 °C and 255 %: neither is reported. Humidity
above 100 % is never reported.

Sources: ble_monitor #961 (TP357 captures next to the display: 27.9 °C/39 %, 32.2/86,
29.5/87, 28.9/88) and #1422 (the byte after humidity is the battery bars: 2 = three bars,
1 = two, 0 = one), thermopro-ble #11 (the same byte against the app: 0 low, 1 half, 2 full),
ble_monitor #898 (TP359: temperature * 10 little-endian, then humidity) and PR #1240
(TP357S: the same temperature and humidity, two more bytes).
"""

from __future__ import annotations

from hub.integrations import Decoded, DecodeFailure

# Battery level (three bars on the display) -> %. A level is not a measurement: we report
# the share of the bars that are lit, and "low" as 10 % so that a low-battery alert rule
# (battery below 15) fires when the display shows its last bar.
BATTERY_LEVELS = {0: 10, 1: 50, 2: 100}
SHORT, LONG = 4, 5  # payload lengths after the company id: TP357/TP393, TP357S
FORMATS = {SHORT: "tp357", LONG: "tp357s"}


def decode(company_id: int, payload: bytes, model: str) -> Decoded | DecodeFailure:
    length = len(payload)
    data_format = FORMATS.get(length)
    if data_format is None:
        return DecodeFailure(f"payload of {length} bytes, expected 4 or 5")
    raw = company_id >> 8 | payload[0] << 8
    humidity = payload[1]
    m: dict[str, float | int] = {}
    if not (raw == 0xFFFF and humidity == 0xFF):  # all ones: the fill of a frame with no reading
        m["temperature"] = (raw - 0x10000 if raw & 0x8000 else raw) / 10
    if humidity <= 100:
        m["humidity"] = humidity
    if length == SHORT:
        battery = BATTERY_LEVELS.get(payload[2])
        if battery is not None:
            m["battery"] = battery
    return Decoded(measurements=m, model=model, format=data_format)
