"""The clocks: the machine's (is it synchronised?), the manual one, the soak's controlled one."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger

from hub.clock import (
    CLOCK_FILE_ENV,
    ClockFileError,
    ControlledClock,
    ManualClock,
    SystemClock,
    clock_from_environment,
    clock_synchronised,
    kernel_synchronised,
    simulated_now,
    write_clock_file,
)

ORIGIN_SIM = 1_750_000_000.0


@pytest.fixture
def messages() -> Iterator[list[str]]:
    """What the code under test logs, message by message."""
    seen: list[str] = []
    sink = logger.add(lambda message: seen.append(message.record["message"]), level="DEBUG")
    try:
        yield seen
    finally:
        logger.remove(sink)


def wait_for_reload(clock: ControlledClock, before: int) -> None:
    """The clock looks at its file at most every 20 ms: wait until it has read a new version."""
    deadline = time.monotonic() + 2.0
    while clock.reloads == before and time.monotonic() < deadline:
        clock.time()
        time.sleep(0.005)
    assert clock.reloads > before, "the clock did not notice the new file"


# -- the machine's clock -------------------------------------------------------------------


def test_the_system_clock_tells_whether_it_is_synchronised_without_raising() -> None:
    assert kernel_synchronised() in (True, False, None)
    assert clock_synchronised() in (True, False, None)
    clock = SystemClock()
    first = clock.synchronised()
    assert first in (True, False, None)
    # Asked at every advertisement: the answer is cached, so asking is cheap.
    started = time.perf_counter()
    for _ in range(10_000):
        assert clock.synchronised() is first
    assert time.perf_counter() - started < 0.5


def test_a_kernel_flag_nobody_can_clear_says_nothing_about_the_clock() -> None:
    # Without an NTP client the kernel says "unsynchronised" for ever: that is "cannot tell".
    if kernel_synchronised() is False:
        from hub.clock import ntp_client_running

        assert clock_synchronised() is (False if ntp_client_running() else None)
    else:
        assert clock_synchronised() is kernel_synchronised()


# -- the manual clock ----------------------------------------------------------------------


def test_a_manual_step_moves_only_the_wall_clock() -> None:
    clock = ManualClock(1000.0)
    clock.advance(10)
    clock.step(-3600)
    assert (clock.time(), clock.monotonic()) == (1000.0 + 10 - 3600, 10.0)
    assert clock.synchronised() is True
    clock.set_synchronised(False)
    assert clock.synchronised() is False
    assert ManualClock(synchronised=None).synchronised() is None


# -- the controlled clock ------------------------------------------------------------------


def test_the_controlled_clock_follows_the_formula(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    origin_real = time.time() - 10.0
    write_clock_file(path, origin_real, ORIGIN_SIM, speed=144.0)
    clock = ControlledClock(path)
    before = time.time()
    now = clock.time()
    after = time.time()
    assert (
        ORIGIN_SIM + (before - origin_real) * 144 <= now <= ORIGIN_SIM + (after - origin_real) * 144
    )
    assert simulated_now(path) == pytest.approx(now, abs=144 * 0.05)
    # The monotonic clock runs 144 times faster than the real one.
    real_before, sim_before = time.monotonic(), clock.monotonic()
    time.sleep(0.05)
    real_after, sim_after = time.monotonic(), clock.monotonic()
    assert sim_after - sim_before == pytest.approx((real_after - real_before) * 144, rel=0.05)
    assert clock.synchronised() is True


def test_a_step_moves_the_wall_clock_but_never_the_monotonic_one(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    origin_real = time.time()
    write_clock_file(path, origin_real, ORIGIN_SIM, speed=60.0)
    clock = ControlledClock(path)
    mono_before, wall_before = clock.monotonic(), clock.time()
    reloads = clock.reloads
    write_clock_file(path, origin_real, ORIGIN_SIM, 60.0, step=-3600.0, synchronised=False)
    wait_for_reload(clock, reloads)
    wall_after, mono_after = clock.time(), clock.monotonic()
    assert clock.synchronised() is False
    # About an hour back, less the little real time that passed (60x).
    assert wall_after - wall_before == pytest.approx(-3600, abs=60 * 0.5)
    assert 0 <= mono_after - mono_before < 60 * 0.5
    assert simulated_now(path) - wall_after == pytest.approx(3600, abs=60 * 0.1)


def test_quick_rewrites_of_the_same_size_are_all_noticed(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    origin_real = time.time()
    write_clock_file(path, origin_real, ORIGIN_SIM, 1.0, step=1000.0)
    clock = ControlledClock(path)
    for step in (2000.0, 3000.0, 4000.0):  # same length in JSON, written within milliseconds
        reloads = clock.reloads
        write_clock_file(path, origin_real, ORIGIN_SIM, 1.0, step=step)
        wait_for_reload(clock, reloads)
        assert clock.time() - simulated_now(path) == pytest.approx(step, abs=0.5)


def test_a_bad_later_version_keeps_the_last_good_one(tmp_path: Path, messages: list[str]) -> None:
    path = tmp_path / "clock.json"
    origin_real = time.time()
    good = write_clock_file(path, origin_real, ORIGIN_SIM, 1.0, step=500.0, synchronised=None)
    clock = ControlledClock(path)
    assert clock.synchronised() is None
    for bad in ("{not json", json.dumps({"origin_real": 1, "origin_sim": 2, "speed": 0})):
        temporary = tmp_path / "tmp"
        temporary.write_text(bad)
        os.replace(temporary, path)
        time.sleep(0.03)
        # Still the last good version: 500 s ahead of the simulated time.
        assert clock.time() - simulated_now(good) == pytest.approx(500.0, abs=0.5)
        assert clock.synchronised() is None
    path.unlink()
    time.sleep(0.03)
    assert clock.synchronised() is None
    # Logged once, not every 20 ms, however long the file stays bad.
    assert len([m for m in messages if "cannot be used" in m]) == 1
    # A good version again is taken up.
    reloads = clock.reloads
    write_clock_file(path, origin_real, ORIGIN_SIM, 1.0, step=0.0, synchronised=True)
    wait_for_reload(clock, reloads)
    assert clock.synchronised() is True
    assert any("readable again" in m for m in messages)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "does not exist"),
        ("[]", "must hold a JSON object"),
        ("{", "not valid JSON"),
        ('{"origin_real": 1, "origin_sim": 2}', "speed is missing"),
        ('{"origin_real": 1, "origin_sim": 2, "speed": -1}', "speed must be above 0"),
        ('{"origin_real": "x", "origin_sim": 2, "speed": 1}', "origin_real must be a number"),
        ('{"origin_real": 1, "origin_sim": 2, "speed": 1, "synchronised": 1}', "synchronised"),
        ('{"origin_real": 1, "origin_sim": 2, "speed": 1, "steps": 5}', "unknown keys"),
    ],
)
def test_a_missing_or_invalid_file_at_start_names_the_variable_and_the_file(
    tmp_path: Path, content: str | None, reason: str
) -> None:
    path = tmp_path / "clock.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ClockFileError, match=reason) as raised:
        clock_from_environment({CLOCK_FILE_ENV: str(path)})
    assert f"{CLOCK_FILE_ENV}={path}" in str(raised.value)


def test_the_environment_chooses_the_clock(tmp_path: Path) -> None:
    assert isinstance(clock_from_environment({}), SystemClock)
    assert isinstance(clock_from_environment({CLOCK_FILE_ENV: ""}), SystemClock)
    path = tmp_path / "clock.json"
    write_clock_file(path, time.time(), ORIGIN_SIM, 144.0)
    clock = clock_from_environment({CLOCK_FILE_ENV: str(path)})
    assert isinstance(clock, ControlledClock)
    assert clock.time() == pytest.approx(ORIGIN_SIM, abs=144 * 1.0)


def test_one_origin_is_one_timeline_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    write_clock_file(path, time.time() - 100.0, ORIGIN_SIM, 10.0)
    first = ControlledClock(path).time()
    time.sleep(0.02)
    second = ControlledClock(path).time()  # a restarted hub
    assert 0 < second - first < 10 * 0.5
    assert first == pytest.approx(ORIGIN_SIM + 1000.0, abs=10 * 0.5)


def test_a_change_of_speed_bends_the_monotonic_clock_without_a_jump(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    origin_real = time.time()
    write_clock_file(path, origin_real, ORIGIN_SIM, 100.0)
    clock = ControlledClock(path)
    before = clock.monotonic()
    reloads = clock.reloads
    write_clock_file(path, origin_real, ORIGIN_SIM, 1.0)
    wait_for_reload(clock, reloads)
    after = clock.monotonic()
    assert 0 <= after - before < 100 * 0.5
