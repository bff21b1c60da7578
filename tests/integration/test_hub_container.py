"""The whole hub in-process, built by the container with test overrides."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
from pathlib import Path

import pytest
from dependency_injector import providers

from hub.clock import ManualClock
from hub.config.loader import load_config
from hub.container import Container
from hub.runtime import serve

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo" / "ruuvitags.jsonl"


def make_config(tmp_path: Path, lines: int, **replay: object) -> Path:
    capture = tmp_path / "capture.jsonl"
    capture.write_text("\n".join(DEMO.read_text().splitlines()[:lines]) + "\n")
    config = {
        "store": {"path": "hub.db", "flush_interval": "1s", "min_interval": 0},
        "sources": {"demo": {"type": "replay", "file": "capture.jsonl", "speed": 0, **replay}},
    }
    path = tmp_path / "hub.yaml"
    path.write_text(json.dumps(config))
    return path


async def wait_until(condition: object, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            pytest.fail("condition not met in time")
        await asyncio.sleep(0.01)


async def test_container_with_overridden_clock_runs_the_pipeline(tmp_path: Path) -> None:
    config = load_config(make_config(tmp_path, 300, timestamps="now"))
    container = Container(config=config)
    clock = ManualClock(start=1_800_000_000.0)
    container.clock.override(providers.Object(clock))
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, container=container, stop=stop))
    runner = container.sources()
    await wait_until(lambda: runner.status["demo"].state == "finished")
    stop.set()
    assert await task == 0

    with sqlite3.connect(tmp_path / "hub.db") as conn:
        rows = conn.execute("SELECT DISTINCT ts FROM readings").fetchall()
        count = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
    assert rows == [(1_800_000_000.0,)], "replay stamps with the injected clock"
    assert count > 0


async def test_first_signal_stops_cleanly_second_exits_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(make_config(tmp_path, 50))
    container = Container(config=config)
    exits: list[int] = []
    release = asyncio.Event()

    class StuckHub:
        """A hub whose shutdown hangs, so only a second signal can end it."""

        async def start(self) -> None:
            return None

        async def stop(self) -> None:
            await release.wait()

    container.hub.override(providers.Object(StuckHub()))
    monkeypatch.setattr(
        "hub.runtime.os._exit", lambda status: (exits.append(status), release.set())
    )
    task = asyncio.create_task(serve(config, container=container))
    await asyncio.sleep(0.2)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.sleep(0.2)
    assert not task.done(), "the first signal waits for a clean stop"
    assert exits == []
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(task, 5)
    assert exits == [128 + signal.SIGTERM]


async def test_a_disabled_device_is_neither_stored_nor_published(tmp_path: Path) -> None:
    path = make_config(tmp_path, 300)
    config_data = json.loads(path.read_text())
    config_data["devices"] = {"c8:25:2d:8e:ab:4c": {"disabled": True}}
    path.write_text(json.dumps(config_data))
    config = load_config(path)
    container = Container(config=config)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, container=container, stop=stop))
    runner = container.sources()
    await wait_until(lambda: runner.status["demo"].state == "finished")
    stop.set()
    assert await task == 0

    with sqlite3.connect(tmp_path / "hub.db") as conn:
        addresses = {row[0] for row in conn.execute("SELECT address FROM sensors")}
    assert "C8:25:2D:8E:AB:4C" not in addresses
    assert len(addresses) == 5
    assert container.router().counters.disabled > 0


async def test_a_component_failing_to_start_leaves_nothing_running(tmp_path: Path) -> None:
    config = load_config(make_config(tmp_path, 50))
    container = Container(config=config)
    stopped: list[str] = []

    class Fine:
        name = "fine"

        async def start(self) -> None:
            return None

        async def stop(self) -> None:
            stopped.append(self.name)

        def health(self) -> object:
            return None

    class Broken(Fine):
        name = "broken"

        async def start(self) -> None:
            raise RuntimeError("cannot start")

    container.components.override(providers.Object([Fine(), Broken()]))
    with pytest.raises(RuntimeError, match="cannot start"):
        await serve(config, container=container)
    hub = await container.hub()
    assert stopped == ["fine"], "what started is stopped, what did not is not"
    assert not hub.scheduler.running
    assert all(stat.depth == 0 for stat in hub.bus.stats())
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("bus:")]
