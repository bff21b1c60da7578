"""The replay source against real capture files: order, bad lines, timestamps, pacing, loops."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from hub.bus import EventBus
from hub.clock import ManualClock
from hub.events import Advertisement, Reading
from hub.integrations import IntegrationRegistry, SourceContext
from hub.router import Router
from integrations.replay import INTEGRATION
from integrations.replay.source import ReplaySettings, ReplaySource

DEMO = Path(__file__).resolve().parents[3] / "config" / "demo" / "ruuvitags.jsonl"
A = "C8:25:2D:8E:AB:4C"
B = "F7:6B:13:E0:51:A8"


def line(ts: float | None, address: str = A, **fields: object) -> str:
    record: dict[str, object] = {"address": address, **fields}
    if ts is not None:
        record["ts"] = ts
    return json.dumps(record)


def capture(tmp_path: Path, *lines: str, name: str = "capture.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{text}\n" for text in lines), encoding="utf-8")
    return path


def source(
    tmp_path: Path, file: str | Path, clock: ManualClock | None = None, **settings: object
) -> ReplaySource:
    validated = ReplaySettings.model_validate(
        {"file": str(file), **settings}, context={"base_dir": tmp_path}
    )
    return ReplaySource("replay", validated, SourceContext(clock=clock or ManualClock()))


class Collector:
    """A sink that keeps what it is given."""

    def __init__(self) -> None:
        self.got: list[Advertisement] = []

    async def __call__(self, adv: Advertisement) -> None:
        self.got.append(adv)


async def test_plays_every_valid_line_in_order_and_counts_bad_ones(tmp_path: Path) -> None:
    capture(
        tmp_path,
        line(10.0, A, name="Ruuvi AB4C", rssi=-70, manufacturer_data={"1177": "0512"}),
        "this is not JSON",
        line(11.0, "f7-6b-13-e0-51-a8", service_data={"fcd2": "40"}),
        json.dumps({"ts": 11.5, "name": "no address"}),
        "",
        '{"ts": 12.0, "address": "C8:25:2D:8E:AB:4C", "manufacturer_data": {"1177": "zz"}}',
        line(12.0, A),
        "\x00\x00\x00\x00",  # what a power cut can leave at the end of a file
        '{"ts": 13.0, "address": "C8:25',  # a line cut short
    )
    replay = source(tmp_path, "capture.jsonl", speed=0)
    sink = Collector()

    await replay.run(sink)

    assert [(a.ts, a.address) for a in sink.got] == [(10.0, A), (11.0, B), (12.0, A)]
    assert sink.got[0].manufacturer_data == {0x0499: b"\x05\x12"}
    assert sink.got[0].name == "Ruuvi AB4C"
    assert sink.got[1].service_data == {"0000fcd2-0000-1000-8000-00805f9b34fb": b"\x40"}
    assert {a.source for a in sink.got} == {"replay"}
    assert replay.played == 3
    assert replay.bad_lines == 5
    assert replay.passes == 1


async def test_a_line_that_is_not_utf8_is_a_bad_line(tmp_path: Path) -> None:
    """A corrupt byte spoils its line, not the replay (nor the lines read with it)."""
    path = tmp_path / "capture.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                line(1.0).encode(),
                b'{"ts": 2.0, \xff"address": "C8:25:2D:8E:AB:4C"}',
                b'{"ts": 3.0, "address": "C8:25:2D:8E:AB:4C", '
                b'"manufacturer_data": {"1177": "05\xfe"}}',
                line(4.0).encode(),
            ]
        )
        + b"\n"
    )
    replay = source(tmp_path, "capture.jsonl", speed=0)
    sink = Collector()

    await replay.run(sink)

    assert [a.ts for a in sink.got] == [1.0, 4.0]
    assert replay.bad_lines == 2


async def test_a_capture_of_only_bad_lines_finishes(tmp_path: Path) -> None:
    capture(tmp_path, "{", "[]", "null")
    replay = source(tmp_path, "capture.jsonl", speed=0)
    sink = Collector()

    await asyncio.wait_for(replay.run(sink), timeout=5)

    assert sink.got == []
    assert replay.bad_lines == 3


async def test_timestamps_now_stamps_with_the_clock(tmp_path: Path) -> None:
    capture(tmp_path, line(10.0), line(10.5), line(None), line(99.0))
    clock = ManualClock(start=1_700_000_000.0)
    replay = source(tmp_path, "capture.jsonl", clock, speed=0, timestamps="now")
    stamps: list[float] = []

    async def sink(adv: Advertisement) -> None:
        stamps.append(adv.ts)
        clock.advance(2.5)

    await replay.run(sink)

    assert stamps == [1_700_000_000.0, 1_700_000_002.5, 1_700_000_005.0, 1_700_000_007.5]


async def test_a_record_without_ts_is_stamped_now_even_with_recorded_timestamps(
    tmp_path: Path,
) -> None:
    capture(tmp_path, line(10.0), line(None))
    replay = source(tmp_path, "capture.jsonl", ManualClock(start=500.0), speed=0)
    sink = Collector()

    await replay.run(sink)

    assert [a.ts for a in sink.got] == [10.0, 500.0]


async def test_a_loop_shifts_each_pass_by_the_capture_span(tmp_path: Path) -> None:
    capture(tmp_path, line(100.0, A), line(100.5, B), line(101.0, A))
    replay = source(tmp_path, "capture.jsonl", speed=0, loop=True)
    got: list[Advertisement] = []
    two_passes = asyncio.Event()

    async def sink(adv: Advertisement) -> None:
        got.append(adv)
        if len(got) == 6:
            two_passes.set()
            await asyncio.Event().wait()  # hold the source here until it is cancelled

    task = asyncio.create_task(replay.run(sink))
    await asyncio.wait_for(two_passes.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    first, second = got[:3], got[3:]
    assert [a.ts for a in first] == [100.0, 100.5, 101.0]
    assert [a.address for a in second] == [A, B, A]
    assert min(a.ts for a in second) > max(a.ts for a in first)  # no time stored twice
    shifts = {round(b.ts - a.ts, 9) for a, b in zip(first, second, strict=True)}
    assert len(shifts) == 1  # the pacing within a pass is kept
    assert replay.passes == 1


async def test_a_loop_with_timestamps_now_does_not_shift(tmp_path: Path) -> None:
    capture(tmp_path, line(100.0), line(101.0))
    clock = ManualClock(start=2_000.0)
    replay = source(tmp_path, "capture.jsonl", clock, speed=0, loop=True, timestamps="now")
    stamps: list[float] = []

    async def sink(adv: Advertisement) -> None:
        stamps.append(adv.ts)
        if len(stamps) == 4:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await replay.run(sink)
    assert stamps == [2_000.0] * 4


async def test_speed_scales_the_recorded_pacing(tmp_path: Path) -> None:
    capture(tmp_path, line(50.0), line(50.5), line(51.0))  # one second of capture
    replay = source(tmp_path, "capture.jsonl", speed=10)
    arrived: list[float] = []

    async def sink(_adv: Advertisement) -> None:
        arrived.append(time.monotonic())

    started = time.monotonic()
    await replay.run(sink)
    elapsed = time.monotonic() - started

    assert 0.05 <= elapsed <= 0.5  # 1 s at ten times the speed: about 0.1 s
    assert len(arrived) == 3
    assert arrived[1] - started >= 0.03  # the second comes about 0.05 s in, not at once


async def test_speed_zero_does_not_wait(tmp_path: Path) -> None:
    capture(tmp_path, line(0.0), line(3_600.0))  # an hour apart
    replay = source(tmp_path, "capture.jsonl", speed=0)

    started = time.monotonic()
    await replay.run(Collector())

    assert time.monotonic() - started < 0.5


async def test_a_missing_file_raises(tmp_path: Path) -> None:
    replay = source(tmp_path, "nowhere.jsonl", speed=0)

    with pytest.raises(FileNotFoundError, match=r"nowhere\.jsonl"):
        await replay.run(Collector())


def test_relative_paths_are_taken_from_the_config_directory(tmp_path: Path) -> None:
    settings = ReplaySettings.model_validate(
        {"file": "captures/a.jsonl"}, context={"base_dir": tmp_path}
    )
    assert settings.file == (tmp_path / "captures" / "a.jsonl").resolve()
    assert (settings.speed, settings.loop, settings.timestamps) == (1.0, False, "recorded")


def test_the_integration_builds_a_replay_source(tmp_path: Path) -> None:
    assert INTEGRATION.kind == "source"
    assert INTEGRATION.settings is ReplaySettings
    assert INTEGRATION.create_source is not None
    settings = ReplaySettings.model_validate({"file": "x.jsonl"}, context={"base_dir": tmp_path})

    built = INTEGRATION.create_source("kitchen", settings, SourceContext(clock=ManualClock()))

    assert isinstance(built, ReplaySource)
    assert built.name == "kitchen"


async def test_the_demo_capture_plays_through_the_router(tmp_path: Path) -> None:
    """The bundled capture, at full speed, into the real router and bus."""
    bus = EventBus()
    router = Router(IntegrationRegistry.discover(), bus)
    readings: list[Reading] = []
    bus.subscribe(Reading, readings.append, policy="block", queue_size=100)
    replay = source(tmp_path, DEMO, speed=0)
    bus.start()
    try:
        await replay.run(router.submit)
        await bus.idle()
    finally:
        await bus.stop()

    lines = DEMO.read_text(encoding="utf-8").splitlines()
    assert replay.played == len(lines)
    assert replay.bad_lines == 0
    assert router.counters.advertisements == len(lines)
    assert router.counters.unmatched > 0  # the phone nobody decodes
    assert router.counters.by_integration["ruuvi"].errors == 0
    assert router.counters.by_integration["ruuvi"].repeats > 0
    assert len(readings) == router.counters.readings
    keys = [(r.address, r.sequence) for r in readings]
    assert len(set(keys)) == len(keys)  # every measurement once
    assert len({r.address for r in readings}) == 6
    assert all("dew_point" in r.measurements for r in readings)
