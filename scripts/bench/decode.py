#!/usr/bin/env python3
"""Microseconds per advertisement of every decoder, and of the reference libraries.

Our figure for an integration is its `decode(advertisement, context)` over the integration's
own `samples.jsonl` (pre-built Advertisement objects, a DecodeContext holding the keys of
`samples.keys.json`). In the same run, on the same payloads, the reference Python libraries
of the `bench` extra decode what they support:

- ruuvitag-sensor: `Df5Decoder().decode_data(hex)` on the Ruuvi format 5 samples (the hex
  string is what it takes);
- bthome-ble: `BTHomeBluetoothDeviceData(bindkey=...).update(service_info)` on the BTHome
  samples, one parser per device as Home Assistant keeps them, service infos built once;
- xiaomi-ble: `XiaomiBluetoothDeviceData(bindkey=...).update(service_info)` on the Xiaomi
  samples it decodes (MiBeacon; it has no decoder for the ATC1441/pvvx formats on 0x181A).

A reference's speed-up is its µs divided by ours, both timed on exactly the payloads the
reference decodes. Before timing, every such payload is checked to give the reference
values, so the reference is never timed on work it skips.

bthome-ble drops an advertisement whose packet id or encryption counter it has already
seen (Home Assistant's replay and duplicate filter). A bench that repeats the same payloads
would time that shortcut instead of decoding, so before each call the parser's
memory of the last packet is cleared (three attribute stores); their cost is measured
separately and subtracted from the reference's figure.

Pinned to one core; every figure is the median of several repeats (ours and the
reference interleaved), garbage collection off while timing.

Usage: .venv/bin/python scripts/bench/decode.py [--quick] [--repeats R] [--seconds S]
The last line printed is one JSON object (contract 6).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# This folder holds http.py (contract 6), which would hide the standard library's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from hub.decode import read_keys_file  # noqa: E402
from hub.events import Advertisement  # noqa: E402
from hub.integrations import DecodeContext, Decoded, Integration, IntegrationRegistry  # noqa: E402
from hub.records import parse_line  # noqa: E402

# A timed body: run the loop `n` times over its payloads, return the seconds it took.
Body = Callable[[int], float]


@dataclass
class Samples:
    integration: Integration
    records: list[dict[str, Any]]
    advs: list[Advertisement]
    context: DecodeContext
    results: list[Decoded] = field(default_factory=list)


def load_samples(integration: Integration) -> Samples | None:
    folder = ROOT / "integrations" / integration.name
    path = folder / "samples.jsonl"
    if not path.exists():
        return None
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    keys_path = folder / "samples.keys.json"
    keys = read_keys_file(keys_path) if keys_path.exists() else {}
    samples = Samples(
        integration=integration,
        records=[json.loads(line) for line in lines],
        advs=[parse_line(line) for line in lines],
        context=DecodeContext(keys=keys),
    )
    decode = integration.decode
    assert decode is not None
    for number, adv in enumerate(samples.advs, 1):
        result = decode(adv, samples.context)
        if not isinstance(result, Decoded):
            raise SystemExit(f"{path}:{number}: {integration.name} does not decode it: {result}")
        samples.results.append(result)
    return samples


def ours(samples: Samples, indexes: Sequence[int] | None = None) -> tuple[Body, int]:
    """Our decoder over the samples (or the ones at `indexes`)."""
    advs = [samples.advs[i] for i in indexes] if indexes is not None else samples.advs
    decode, context = samples.integration.decode, samples.context
    assert decode is not None

    def body(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            for adv in advs:
                decode(adv, context)
        return time.perf_counter() - start

    return body, len(advs)


# -- reference libraries ---------------------------------------------------------------------


@dataclass
class Reference:
    library: str
    integration: str
    indexes: list[int]  # which samples of the integration it decodes
    body: Body
    count: int
    overhead: Body | None = None  # bench-only work inside `body`, subtracted
    note: str = ""


def ruuvitag_sensor(samples: Samples) -> Reference | None:
    try:
        from ruuvitag_sensor.decoder import Df5Decoder
    except ImportError:
        return None
    decoder = Df5Decoder()
    indexes, hexes = [], []
    for i, record in enumerate(samples.records):
        payload = record.get("manufacturer_data", {}).get("1177", "")
        if payload[:2] != "05":
            continue
        if not decoder.decode_data(payload):
            raise SystemExit(f"ruuvitag-sensor does not decode sample {i + 1}: {payload}")
        indexes.append(i)
        hexes.append(payload)
    decode_data = decoder.decode_data

    def body(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            for payload in hexes:
                decode_data(payload)
        return time.perf_counter() - start

    return Reference("ruuvitag-sensor", "ruuvi", indexes, body, len(hexes), note="format 5")


def service_info(record: dict[str, Any], when: float) -> Any:
    """What Home Assistant hands these libraries: a BluetoothServiceInfoBleak."""
    from bleak.backends.device import BLEDevice
    from habluetooth import BluetoothServiceInfoBleak

    address = record["address"].upper()
    name = record.get("name") or address
    manufacturer = {
        int(k): bytes.fromhex(v) for k, v in record.get("manufacturer_data", {}).items()
    }
    services = {k: bytes.fromhex(v) for k, v in record.get("service_data", {}).items()}
    return BluetoothServiceInfoBleak(
        name=name,
        address=address,
        rssi=record.get("rssi") or -60,
        manufacturer_data=manufacturer,
        service_data=services,
        service_uuids=list(services),
        source="local",
        device=BLEDevice(address, name, None),
        advertisement=None,
        connectable=False,
        time=when,
        tx_power=None,
    )


def _values(update: Any) -> dict[str, Any]:
    return {
        key.key: value.native_value
        for key, value in update.entity_values.items()
        if key.key != "signal_strength"
    }


def _parsers(samples: Samples, factory: Callable[[bytes | None], Any]) -> dict[str, Any]:
    """One parser per device address, with the device's bindkey, as Home Assistant keeps them."""
    keys = samples.context.keys
    return {adv.address: factory(keys.get(adv.address)) for adv in samples.advs}


def bthome_ble(samples: Samples) -> Reference | None:
    try:
        from bthome_ble import BTHomeBluetoothDeviceData
    except ImportError:
        return None

    def forget(parser: Any) -> None:
        # Every call stands for a new advertisement: no duplicate or replay verdict
        # against the previous round of the same payloads.
        parser.packet_id = None
        parser.last_service_info = None
        parser.encryption_counter = 0.0

    parsers = _parsers(samples, lambda key: BTHomeBluetoothDeviceData(bindkey=key))
    indexes, pairs = [], []
    for i, (record, adv) in enumerate(zip(samples.records, samples.advs, strict=True)):
        parser = parsers[adv.address]
        info = service_info(record, adv.ts)
        forget(parser)
        if not _values(parser.update(info)):
            continue
        indexes.append(i)
        pairs.append((parser, info))
    update = BTHomeBluetoothDeviceData.update

    def body(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            for parser, info in pairs:
                parser.packet_id = None
                parser.last_service_info = None
                parser.encryption_counter = 0.0
                update(parser, info)
        return time.perf_counter() - start

    def overhead(n: int) -> float:
        # The same loop and stores without the update, minus the bare loop.
        start = time.perf_counter()
        for _ in range(n):
            for parser, _info in pairs:
                parser.packet_id = None
                parser.last_service_info = None
                parser.encryption_counter = 0.0
        stores = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(n):
            for _parser, _info in pairs:
                pass
        return stores - (time.perf_counter() - start)

    return Reference("bthome-ble", "bthome", indexes, body, len(pairs), overhead, "v1 and v2")


def xiaomi_ble(samples: Samples) -> Reference | None:
    try:
        from xiaomi_ble import XiaomiBluetoothDeviceData
    except ImportError:
        return None
    parsers = _parsers(samples, lambda key: XiaomiBluetoothDeviceData(bindkey=key))
    indexes, pairs, skipped = [], [], set()
    for i, (record, adv) in enumerate(zip(samples.records, samples.advs, strict=True)):
        parser = parsers[adv.address]
        info = service_info(record, adv.ts)
        if not _values(parser.update(info)):
            skipped.add(samples.results[i].format or "?")
            continue
        indexes.append(i)
        pairs.append((parser, info))
    update = XiaomiBluetoothDeviceData.update

    def body(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            for parser, info in pairs:
                update(parser, info)
        return time.perf_counter() - start

    note = f"not decoded by it: {', '.join(sorted(skipped))}" if skipped else ""
    return Reference("xiaomi-ble", "xiaomi", indexes, body, len(pairs), note=note)


REFERENCES = {"ruuvi": ruuvitag_sensor, "bthome": bthome_ble, "xiaomi": xiaomi_ble}


# -- timing ----------------------------------------------------------------------------------


def iterations(body: Body, count: int, seconds: float) -> int:
    """Loop count for about `seconds` per repeat (at least 20 rounds)."""
    n = 1
    while True:
        elapsed = body(n)
        if elapsed > 0.02 or n >= 1 << 20:
            break
        n *= 4
    return max(20, round(n * seconds / max(elapsed, 1e-9)))


def timed(body: Body, n: int) -> float:
    gc.collect()
    gc.disable()
    try:
        return body(n)
    finally:
        gc.enable()


def median_us(bodies: Sequence[tuple[Body, int]], repeats: int, seconds: float) -> list[float]:
    """µs per advertisement of each body, median of `repeats`, the bodies interleaved."""
    loops = [iterations(body, count, seconds) for body, count in bodies]
    runs: list[list[float]] = [[] for _ in bodies]
    for _ in range(repeats):
        for k, ((body, count), n) in enumerate(zip(bodies, loops, strict=True)):
            runs[k].append(timed(body, n) / (n * count) * 1e6)
    return [statistics.median(r) for r in runs]


def version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller run, same figures")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--seconds", type=float, help="target seconds per timed repeat")
    args = parser.parse_args()
    repeats = args.repeats or (5 if args.quick else 9)
    seconds = args.seconds or (0.05 if args.quick else 0.3)

    cpu = sorted(os.sched_getaffinity(0))[0]
    os.sched_setaffinity(0, {cpu})
    registry = IntegrationRegistry.discover()
    print(f"decode: µs per advertisement, median of {repeats} repeats of ~{seconds:g} s each")
    print(f"pinned to CPU {cpu}; Python {sys.version.split()[0]}")

    every: dict[str, Samples] = {}
    for name in sorted(registry.decoders):
        samples = load_samples(registry.decoders[name])
        if samples is None:
            print(f"  {name:<14} no samples.jsonl, skipped")
            continue
        every[name] = samples

    us_per_advert: dict[str, float] = {}
    print("\nour decoders, on each integration's samples.jsonl:")
    for name, samples in every.items():
        (us,) = median_us([ours(samples)], repeats, seconds)
        us_per_advert[name] = us
        print(f"  {name:<14} {us:>7.2f} µs   ({len(samples.advs)} samples)")

    reference_us: dict[str, float] = {}
    shared_us: dict[str, float] = {}
    speedup: dict[str, float] = {}
    shared_payloads: dict[str, int] = {}
    versions: dict[str, str] = {}
    print("\nreference libraries, on the same payloads (ours timed on exactly those):")
    for integration, make in REFERENCES.items():
        samples = every.get(integration)
        reference = make(samples) if samples is not None else None
        if samples is None or reference is None:
            print(f"  {integration}: reference library or samples missing, skipped")
            continue
        our_body = ours(samples, reference.indexes)
        bodies = [our_body, (reference.body, reference.count)]
        if reference.overhead is not None:
            bodies.append((reference.overhead, reference.count))
        figures = median_us(bodies, repeats, seconds)
        mine, theirs = figures[0], figures[1]
        extra = max(0.0, figures[2]) if reference.overhead is not None else 0.0
        theirs -= extra
        library = reference.library
        versions[library] = version(library)
        reference_us[library] = theirs
        shared_us[library] = mine
        speedup[library] = theirs / mine
        shared_payloads[library] = reference.count
        print(
            f"  {library} {versions[library]} ({reference.note}; {reference.count} of "
            f"{len(samples.advs)} {integration} samples)"
        )
        print(f"    {library:<16} {theirs:>7.2f} µs")
        if extra:
            print(f"    {'':<16} (after subtracting {extra:.3f} µs of bench state resets)")
        print(f"    {'hub ' + integration:<16} {mine:>7.2f} µs   speed-up {theirs / mine:.1f}x")

    print(
        json.dumps(
            {
                "us_per_advert": {k: round(v, 3) for k, v in us_per_advert.items()},
                "reference_us_per_advert": {k: round(v, 3) for k, v in reference_us.items()},
                "speedup": {k: round(v, 2) for k, v in speedup.items()},
                "shared_us_per_advert": {k: round(v, 3) for k, v in shared_us.items()},
                "shared_payloads": shared_payloads,
                "reference_versions": versions,
                "samples": {k: len(v.advs) for k, v in every.items()},
                "repeats": repeats,
                "seconds_per_repeat": seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
