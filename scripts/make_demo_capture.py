#!/usr/bin/env python3
"""Write the bundled demo capture: six RuuviTags in a home over fifteen minutes.

Each tag measures every 5 s and advertises every 1.285 s, so a measurement goes out three or
four times with the same sequence number, as real tags do; about 15 % of advertisements are
lost on the way, RSSI wanders, one tag's sequence counter wraps, a fridge door opens (the
tag on it moves), the bathroom fogs up during a shower, the freezer warms during a defrost.
A phone nearby adds advertisements no integration decodes. Seeded: the output never changes.

Usage: scripts/make_demo_capture.py [OUT] [--minutes 15]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integrations.ruuvi.df5 import encode

START = 1_795_155_600.0  # 2026-11-20 06:20:00 UTC
MEASURE_EVERY = 5.0
ADVERTISE_EVERY = 1.285
LOSS = 0.15


@dataclass
class Tag:
    address: str
    room: str
    temperature: float
    humidity: float
    rssi: int
    voltage: float
    sequence: int
    movement: int = 0
    gravity: tuple[float, float, float] = (0.0, 0.0, 1.0)
    events: list[tuple[float, float, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "Ruuvi " + self.address.replace(":", "")[-4:]


TAGS = [
    Tag("C8:25:2D:8E:AB:4C", "living room", 21.4, 41.0, -58, 3.01, 12_880),
    Tag("E4:2F:61:0B:3D:17", "kitchen", 22.8, 47.0, -66, 2.98, 40_211),
    Tag("D1:04:9A:77:C2:5E", "bathroom", 20.9, 55.0, -74, 2.95, 65_400),  # wraps
    Tag(
        "F7:6B:13:E0:51:A8",
        "fridge",
        4.2,
        62.0,
        -79,
        2.91,
        8_032,
        gravity=(0.0, -1.0, 0.0),
        events=[(240, 300, "door"), (610, 640, "door")],
    ),
    Tag(
        "CE:3A:88:14:6F:02",
        "freezer",
        -18.6,
        70.0,
        -83,
        2.78,
        31_775,
        events=[(420, 720, "defrost")],
    ),
    Tag("EA:91:5C:26:B8:D3", "outdoor", -1.8, 88.0, -88, 2.86, 51_090),
]


def condition(tag: Tag, t: float, rng: random.Random) -> tuple[float, float, bool]:
    """Temperature, humidity and whether the tag is being moved, `t` seconds in."""
    temp = tag.temperature + 0.25 * math.sin(t / 170 + len(tag.room)) + rng.gauss(0, 0.03)
    hum = tag.humidity + 1.2 * math.sin(t / 230 + 1) + rng.gauss(0, 0.15)
    moving = False
    if tag.room == "bathroom" and t >= 300:  # a shower from minute five
        rise = min(1.0, (t - 300) / 120) * math.exp(-max(0.0, t - 540) / 200)
        temp += 2.5 * rise
        hum += 33 * rise
    if tag.room == "outdoor":
        temp += t / 900 * 1.6  # the sun comes up
        hum -= t / 900 * 6
    for begin, end, what in tag.events:
        if begin <= t < end and what == "door":
            moving = t - begin < 6 or end - t < 6
            temp += 3.5 * (t - begin) / (end - begin)
            hum -= 8 * (t - begin) / (end - begin)
        elif what == "door" and t >= end:
            temp += 3.5 * math.exp(-(t - end) / 90)
        elif begin <= t < end and what == "defrost":
            temp += 7.5 * math.sin(math.pi * (t - begin) / (end - begin))
    return temp, min(99.0, max(0.0, hum)), moving


def generate(minutes: float, seed: int = 2026) -> list[dict[str, object]]:
    rng = random.Random(seed)
    duration = minutes * 60
    records: list[dict[str, object]] = []
    for tag in TAGS:
        mac = bytes.fromhex(tag.address.replace(":", ""))
        offset = rng.uniform(0, ADVERTISE_EVERY)
        rssi = float(tag.rssi)
        payload = b""
        next_measure = 0.0
        t = offset
        while t < duration:
            if t >= next_measure:
                temp, hum, moving = condition(tag, t, rng)
                if moving:
                    tag.movement = (tag.movement + 1) % 255
                tag.sequence = (tag.sequence + 1) % 65535
                gx, gy, gz = tag.gravity
                jitter = 0.4 if moving else 0.004
                payload = encode(
                    temperature=temp,
                    humidity=hum,
                    pressure=1008.4 + 0.6 * math.sin(t / 600) + rng.gauss(0, 0.02),
                    acceleration=(
                        gx + rng.gauss(0, jitter),
                        gy + rng.gauss(0, jitter),
                        gz + rng.gauss(0, jitter),
                    ),
                    voltage=round(tag.voltage + rng.choice((-0.008, 0.0, 0.0, 0.008)), 3),
                    tx_power=4,
                    movement_counter=tag.movement,
                    sequence=tag.sequence,
                    mac=mac,
                )
                next_measure += MEASURE_EVERY
            rssi = 0.8 * rssi + 0.2 * (tag.rssi + rng.gauss(0, 4))
            if rng.random() >= LOSS:
                records.append(
                    {
                        "ts": round(START + t + rng.uniform(0, 0.02), 3),
                        "address": tag.address,
                        "name": tag.name,
                        "rssi": round(rssi),
                        "manufacturer_data": {"1177": payload.hex()},
                    }
                )
            t += ADVERTISE_EVERY + rng.uniform(-0.01, 0.01)
    # A phone passing through, advertising Apple Continuity data nobody decodes here.
    t = 100.0
    while t < min(duration, 400.0):
        records.append(
            {
                "ts": round(START + t, 3),
                "address": "5A:1C:E0:33:90:7B",
                "rssi": rng.randint(-92, -70),
                "manufacturer_data": {"76": "10063b1d8a5e4c28"},
            }
        )
        t += rng.uniform(1.5, 3.0)
    records.sort(key=lambda r: float(r["ts"]))  # type: ignore[arg-type]
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("out", nargs="?", type=Path, default=root / "config/demo/ruuvitags.jsonl")
    parser.add_argument("--minutes", type=float, default=15.0)
    args = parser.parse_args()
    records = generate(args.minutes)
    with args.out.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
    print(f"wrote {len(records)} advertisements from {len(TAGS)} RuuviTags to {args.out}")


if __name__ == "__main__":
    main()
