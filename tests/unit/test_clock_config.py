"""The `clock:` section, and the sub-second intervals a time-compressed soak run needs."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from hub.config.loader import load_config
from hub.config.models import SchedulerConfig
from hub.errors import ConfigError
from hub.scheduler import Scheduler

ROOT = Path(__file__).resolve().parents[2]


def test_by_default_the_guard_holds_with_the_documented_limits(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text("{}\n")
    clock = load_config(path).clock
    assert (clock.unsynchronised, clock.step_tolerance, clock.settle) == ("hold", 2.0, 5.0)
    assert (clock.max_hold, clock.max_held) == (900.0, 200_000)


def test_the_commented_example_in_hub_yaml_is_valid(tmp_path: Path) -> None:
    text = (ROOT / "config" / "hub.yaml").read_text()
    block = re.search(r"^#clock:\n(?:#  .*\n)+", text, re.MULTILINE)
    assert block is not None, "config/hub.yaml has no commented clock: block"
    path = tmp_path / "hub.yaml"
    path.write_text("\n".join(line[1:] for line in block.group(0).splitlines()) + "\n")
    assert load_config(path).clock.unsynchronised == "hold"


@pytest.mark.parametrize(
    ("yaml", "key", "reason"),
    [
        ("clock: {unsynchronised: drop}", "clock.unsynchronised", "'hold' or 'store'"),
        ("clock: {step_tolerance: 0}", "clock.step_tolerance", "greater than 0"),
        ("clock: {max_hold: soon}", "clock.max_hold", "not a duration"),
        ("clock: {hold: true}", "clock.hold", "unknown key (did you mean 'max_hold'?)"),
    ],
)
def test_a_bad_clock_setting_names_the_file_and_the_key(
    tmp_path: Path, yaml: str, key: str, reason: str
) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(yaml + "\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert f"{path}: {key}" in message
    assert reason in message


def test_flush_and_tick_intervals_may_be_sub_second(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text("store: {flush_interval: 200ms}\nalerts: {tick_interval: 0.2}\n")
    config = load_config(path)
    assert (config.store.flush_interval, config.alerts.tick_interval) == (0.2, 0.2)


async def test_the_scheduler_runs_a_sub_second_job_at_its_interval() -> None:
    scheduler = Scheduler(SchedulerConfig())
    runs = 0

    async def job() -> None:
        nonlocal runs
        runs += 1

    scheduler.add_interval("fast", job, 0.2)
    scheduler.start()
    try:
        await asyncio.sleep(1.1)
    finally:
        scheduler.shutdown()
    assert 4 <= runs <= 6
    assert scheduler.jobs["fast"].errors == 0
