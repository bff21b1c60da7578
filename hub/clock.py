"""Clocks, injected wherever time matters so tests, replays and the soak run can drive it.

`SystemClock` is the machine's. `ManualClock` is moved by hand in tests. `ControlledClock` is
the soak run's time-compressed clock, read from the JSON file that `HUB_CLOCK_FILE` names
(a testing facility, not a user setting): a simulated day can pass in ten real minutes, and
the test can step the hub's wall clock without touching the machine's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import math
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from loguru import logger

from hub.errors import HubError

CLOCK_FILE_ENV = "HUB_CLOCK_FILE"

# The kernel's answer is cached this long: the guard asks at every advertisement.
_SYNC_CACHE_S = 10.0
# Looking for an NTP client means reading /proc; its answer changes rarely.
_CLIENT_CACHE_S = 60.0
# A controlled clock looks at its file (one stat) at most this often.
_RECHECK_S = 0.02

# adjtimex(2): the clock state TIME_ERROR, and STA_UNSYNC in `status`.
_TIME_ERROR = 5
_STA_UNSYNC = 0x0040
# Process names (as /proc/<pid>/comm shows them, at most 15 characters) of the programs that
# discipline the kernel clock and clear STA_UNSYNC once they have synchronised it.
_NTP_CLIENTS = frozenset(
    {"chronyd", "ntpd", "openntpd", "systemd-timesyn", "timesyncd", "htpdate", "sntp"}
)


class Clock(Protocol):
    """Wall time for timestamps, monotonic time for intervals, and whether to trust the wall."""

    def time(self) -> float:
        """Seconds since the epoch (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps."""
        ...

    def synchronised(self) -> bool | None:
        """Whether the wall clock is synchronised (NTP); None when that cannot be told."""
        ...


class SystemClock:
    """The machine's clocks."""

    __slots__ = ("_sync", "_sync_at")

    def __init__(self) -> None:
        self._sync: bool | None = None
        self._sync_at = -math.inf

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def synchronised(self) -> bool | None:
        now = time.monotonic()
        if now - self._sync_at >= _SYNC_CACHE_S:
            self._sync_at = now
            self._sync = clock_synchronised()
        return self._sync


class ManualClock:
    """A clock a test moves by hand."""

    __slots__ = ("_mono", "_sync", "_wall")

    def __init__(self, start: float = 1_700_000_000.0, synchronised: bool | None = True) -> None:
        self._wall = start
        self._mono = 0.0
        self._sync = synchronised

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def synchronised(self) -> bool | None:
        return self._sync

    def set_synchronised(self, value: bool | None) -> None:
        self._sync = value

    def advance(self, seconds: float) -> None:
        """Time passes: both clocks move."""
        self._wall += seconds
        self._mono += seconds

    def step(self, seconds: float) -> None:
        """The wall clock is set (a clock step): the monotonic clock does not move."""
        self._wall += seconds


# -- is the kernel's clock synchronised? -----------------------------------------------------


class _Timex(ctypes.Structure):
    """`struct timex` of <sys/timex.h>, with room to spare after it."""

    _fields_ = (
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long),
        ("time_usec", ctypes.c_long),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        # The kernel's struct ends in eleven reserved ints; the spare bytes make sure a
        # libc with another layout can never write past our buffer.
        ("reserved", ctypes.c_int * 11),
        ("spare", ctypes.c_byte * 256),
    )


_libc_cache: list[ctypes.CDLL | None] = []


def _libc() -> ctypes.CDLL | None:
    if not _libc_cache:
        try:
            name = ctypes.util.find_library("c")
            libc = ctypes.CDLL(name, use_errno=True) if name else None
            if libc is not None:
                libc.adjtimex.argtypes = (ctypes.POINTER(_Timex),)
                libc.adjtimex.restype = ctypes.c_int
        except (OSError, AttributeError):
            libc = None
        _libc_cache.append(libc)
    return _libc_cache[0]


def kernel_synchronised() -> bool | None:
    """The kernel's own flag, read with adjtimex(2) (modes 0: read-only, unprivileged).

    True when the clock state is not TIME_ERROR and STA_UNSYNC is clear; None where adjtimex
    is not available.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = _libc()
    if libc is None:
        return None
    timex = _Timex()
    state = libc.adjtimex(ctypes.byref(timex))
    if state < 0:
        return None
    return state != _TIME_ERROR and not timex.status & _STA_UNSYNC


_client_cache: list[tuple[float, bool | None]] = []


def ntp_client_running() -> bool | None:
    """Whether a program that synchronises the kernel clock runs here; None if /proc is not
    readable. Cached for a minute."""
    now = time.monotonic()
    if _client_cache and now - _client_cache[0][0] < _CLIENT_CACHE_S:
        return _client_cache[0][1]
    found: bool | None
    try:
        entries = os.listdir("/proc")
    except OSError:
        found = None
    else:
        found = False
        for entry in entries:
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/comm", encoding="utf-8", errors="replace") as comm:
                    if comm.read().strip() in _NTP_CLIENTS:
                        found = True
                        break
            except OSError:
                continue  # gone meanwhile, or hidden from us
    _client_cache[:] = [(now, found)]
    return found


def clock_synchronised() -> bool | None:
    """Whether the machine's clock is synchronised, as far as can be told.

    The kernel flag starts as "unsynchronised" at boot and only an NTP client clears it. A
    machine that runs none (a VM whose clock the hypervisor keeps, a board set by hand)
    reports "unsynchronised" for ever, which says nothing about its clock: then the answer
    is None (cannot tell), not False. A container sees the host's kernel flag, which is
    True when the host is synchronised.
    """
    kernel = kernel_synchronised()
    if kernel is not False:
        return kernel
    return False if ntp_client_running() else None


# -- the controlled clock of the soak run ----------------------------------------------------


class ClockFileError(HubError):
    """The clock file named by HUB_CLOCK_FILE is missing or invalid."""


@dataclass(frozen=True, slots=True)
class ClockFile:
    """What a clock file says: `time() = origin_sim + (real - origin_real) * speed + step`."""

    origin_real: float
    origin_sim: float
    speed: float
    step: float = 0.0
    synchronised: bool | None = True

    @classmethod
    def parse(cls, data: object) -> ClockFile:
        """Validate decoded JSON; raises ValueError saying what is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError("the clock file must hold a JSON object")
        unknown = sorted(str(key) for key in set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown keys {unknown}")
        numbers: dict[str, float] = {}
        for key in ("origin_real", "origin_sim", "speed", "step"):
            if key not in data:
                if key == "step":
                    numbers[key] = 0.0
                    continue
                raise ValueError(f"{key} is missing")
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key} must be a number, not {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{key} must be finite")
            numbers[key] = float(value)
        if numbers["speed"] <= 0:
            raise ValueError(f"speed must be above 0, not {numbers['speed']:g}")
        synchronised = data.get("synchronised", True)
        if synchronised is not None and not isinstance(synchronised, bool):
            raise ValueError(f"synchronised must be true, false or null, not {synchronised!r}")
        return cls(
            origin_real=numbers["origin_real"],
            origin_sim=numbers["origin_sim"],
            speed=numbers["speed"],
            step=numbers["step"],
            synchronised=synchronised,
        )

    def simulated(self, real: float) -> float:
        """The simulated time (without the step) at the real time `real`."""
        return self.origin_sim + (real - self.origin_real) * self.speed

    def to_json(self) -> dict[str, object]:
        return {
            "origin_real": self.origin_real,
            "origin_sim": self.origin_sim,
            "speed": self.speed,
            "step": self.step,
            "synchronised": self.synchronised,
        }


_Signature = tuple[int, int, int]


def _read_clock_file(path: Path) -> tuple[ClockFile, _Signature]:
    # The signature comes from the open file, so it always describes what was read.
    with path.open("rb") as file:
        stat = os.fstat(file.fileno())
        raw = file.read()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    return ClockFile.parse(data), (stat.st_ino, stat.st_mtime_ns, stat.st_size)


class ControlledClock:
    """Simulated time from a clock file, followed as the file changes.

    `time()` is the file's formula; `monotonic()` runs `speed` times faster than the real
    monotonic clock and never moves with `step` (a change of speed bends it, never jumps
    it); `synchronised()` is the file's value. The file is looked at (one stat) at most every
    20 ms and read again when it changed; writers replace it atomically (`write_clock_file`).
    The same origin across restarts of the hub continues one simulated timeline.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._params, self._signature = _read_clock_file(path)
        except FileNotFoundError:
            raise ClockFileError(
                f"{CLOCK_FILE_ENV}={path}: the clock file does not exist"
            ) from None
        except (OSError, ValueError) as exc:
            raise ClockFileError(f"{CLOCK_FILE_ENV}={path}: {_reason(exc)}") from None
        self._checked = time.monotonic()
        # monotonic() = base_sim + (real monotonic - base_real) * speed
        self._base_real = 0.0
        self._base_sim = 0.0
        self._bad: str | None = None
        self.reloads = 0

    @property
    def params(self) -> ClockFile:
        return self._current()

    def time(self) -> float:
        params = self._current()
        return params.origin_sim + (time.time() - params.origin_real) * params.speed + params.step

    def monotonic(self) -> float:
        speed = self._current().speed
        return self._base_sim + (time.monotonic() - self._base_real) * speed

    def synchronised(self) -> bool | None:
        return self._current().synchronised

    def _current(self) -> ClockFile:
        now = time.monotonic()
        if now - self._checked >= _RECHECK_S:
            self._checked = now
            self._reload(now)
        return self._params

    def _reload(self, now: float) -> None:
        try:
            stat = os.stat(self.path)
        except OSError as exc:
            self._problem(_reason(exc))
            return
        if (stat.st_ino, stat.st_mtime_ns, stat.st_size) == self._signature:
            return
        try:
            params, signature = _read_clock_file(self.path)
        except (OSError, ValueError) as exc:
            # Remember the bad version, so it is not read again every 20 ms.
            self._signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            self._problem(_reason(exc))
            return
        old = self._params
        if params.speed != old.speed:
            self._base_sim = self._base_sim + (now - self._base_real) * old.speed
            self._base_real = now
        self._params, self._signature = params, signature
        self.reloads += 1
        if self._bad is not None:
            logger.info("Clock file {} is readable again", self.path)
            self._bad = None

    def _problem(self, reason: str) -> None:
        if self._bad is None:
            logger.warning(
                "Clock file {} cannot be used ({}); keeping its last good content",
                self.path,
                reason,
            )
        self._bad = reason


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def clock_from_environment(environ: Mapping[str, str] | None = None) -> Clock:
    """The controlled clock when HUB_CLOCK_FILE names a file, else the machine's."""
    value = (os.environ if environ is None else environ).get(CLOCK_FILE_ENV, "")
    if not value:
        return SystemClock()
    clock = ControlledClock(Path(value))
    params = clock.params
    logger.warning(
        "Simulated time from {} ({}; for tests and soak runs): {:g}x real time, now {}",
        value,
        CLOCK_FILE_ENV,
        params.speed,
        time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(clock.time())),
    )
    return clock


def write_clock_file(
    path: str | Path,
    origin_real: float,
    origin_sim: float,
    speed: float,
    step: float = 0.0,
    synchronised: bool | None = True,
) -> ClockFile:
    """Write (atomically: a temporary file, then a rename) what a ControlledClock reads."""
    path = Path(path)
    params = ClockFile.parse(
        {
            "origin_real": origin_real,
            "origin_sim": origin_sim,
            "speed": speed,
            "step": step,
            "synchronised": synchronised,
        }
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(params.to_json()), encoding="utf-8")
    # A reader notices a new version by inode, mtime and size; file systems keep coarse
    # mtimes, so make sure two quick writes of the same size still differ in mtime.
    try:
        before = path.stat().st_mtime_ns
    except FileNotFoundError:
        before = 0
    stamp = max(time.time_ns(), before + 1)
    os.utime(temporary, ns=(stamp, stamp))
    os.replace(temporary, path)
    return params


def simulated_now(source: str | Path | Mapping[str, object] | ClockFile) -> float:
    """The simulated time now (without the step), from a clock file, its content or a
    ClockFile: what the soak's generator and verifier go by."""
    if isinstance(source, ClockFile):
        params = source
    elif isinstance(source, Mapping):
        params = ClockFile.parse(source)
    else:
        params = _read_clock_file(Path(source))[0]
    return params.simulated(time.time())
