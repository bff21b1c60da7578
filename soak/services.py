"""The real parts around the soak's hub: its process, the data disk, and the sampler.

- `HubProcess`: `hub run` as a subprocess with the soak's clock file; started again after
  each injected kill, every life (pid, start, end, exit status) remembered.
- `DataDisk`: a small ext4 file system on a loop device for the database, which the fault
  schedule makes read-only for a while. Why `chattr +i` and not `mount -o remount,ro`:
  Linux refuses to remount a file system read-only while a file on it is open for writing
  (SQLite keeps its database and WAL open), and the kernel's own emergency read-only state
  (`errors=remount-ro`) lasts until the file system is unmounted. Making the directory,
  the database and its WAL immutable gives the writer what a read-only disk gives it,
  every write refused, and can be undone while the hub runs. The WAL index (`-shm`) is
  left alone: it is shared memory, and a refused page fault there would kill the process
  with SIGBUS, which no read-only disk does.
- `Sampler`: a thread that samples the hub's RSS and CPU time from /proc and its status
  over HTTP every second, following the new pid after a restart.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_CLK_TCK = os.sysconf("SC_CLK_TCK")


class NeedsRoot(RuntimeError):
    """The fault needs root (mount, losetup, chattr) and this is not root."""


# -- the hub process ---------------------------------------------------------------------------


@dataclass(slots=True)
class Life:
    """One run of the hub process."""

    number: int
    pid: int
    started_real: float
    log: Path
    ready_real: float | None = None  # when its sources accepted connections
    ended_real: float | None = None
    exit_status: int | None = None
    killed: bool = False  # ended by an injected kill -9


class HubProcess:
    """`python -m hub run` with the soak's config and clock, restartable."""

    def __init__(self, config: Path, clock_file: Path, run_dir: Path, sockets: Sequence[Path]):
        self.config = config
        self.clock_file = clock_file
        self.run_dir = run_dir
        self.sockets = list(sockets)
        self.lives: list[Life] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        with self._lock:
            proc = self._proc
            return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def life(self) -> Life | None:
        return self.lives[-1] if self.lives else None

    def start(self) -> Life:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
        env["HUB_CLOCK_FILE"] = str(self.clock_file)
        number = len(self.lives) + 1
        log = self.run_dir / f"hub-{number}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "hub", "run", "--config", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.run_dir,
            )
        life = Life(number, proc.pid, time.time(), log)
        with self._lock:
            self._proc = proc
            self.lives.append(life)
        return life

    def wait_ready(self, timeout: float) -> bool:
        """Until every receiver socket accepts a connection (the sources are listening)."""
        deadline = time.monotonic() + timeout
        life = self.life
        while time.monotonic() < deadline:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                return False
            if all(_accepts(path) for path in self.sockets):
                if life is not None:
                    life.ready_real = time.time()
                return True
            time.sleep(0.02)
        return False

    def kill(self) -> None:
        """kill -9, as a power cut or the OOM killer would."""
        with self._lock:
            proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        status = proc.wait()
        self._ended(status, killed=True)

    def terminate(self, timeout: float = 60.0) -> int | None:
        """SIGTERM and wait; kill -9 after `timeout` (the exit status then says so)."""
        with self._lock:
            proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            status = proc.wait()
        self._ended(status, killed=False)
        return status

    def _ended(self, status: int, *, killed: bool) -> None:
        life = self.life
        if life is not None and life.ended_real is None:
            life.ended_real = time.time()
            life.exit_status = status
            life.killed = killed
        with self._lock:
            self._proc = None

    def poll_exit(self) -> int | None:
        """The exit status if the hub died by itself (not through us), else None."""
        with self._lock:
            proc = self._proc
        if proc is None:
            return None
        status = proc.poll()
        if status is not None:
            self._ended(status, killed=False)
        return status


def _accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


# -- the data disk -----------------------------------------------------------------------------


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)


class DataDisk:
    """ext4 on a loop device, mounted at `mountpoint`; see the module docstring."""

    def __init__(self, image: Path, mountpoint: Path, size_mib: int = 4096) -> None:
        self.image = image
        self.mountpoint = mountpoint
        self.size_mib = size_mib
        self.device: str | None = None
        self.mounted = False
        self.frozen: list[Path] = []

    @staticmethod
    def available() -> str | None:
        """None when the disk can be made here, else why not."""
        if os.geteuid() != 0:
            return "needs root"
        for tool in ("mount", "umount", "losetup", "mkfs.ext4", "chattr"):
            if shutil.which(tool) is None:
                return f"no `{tool}` command"
        return None

    def open(self) -> None:
        why = self.available()
        if why is not None:
            raise NeedsRoot(why)
        with self.image.open("wb") as file:
            file.truncate(self.size_mib * 1024 * 1024)  # sparse: costs what is written
        made = _run("mkfs.ext4", "-q", "-F", str(self.image))
        if made.returncode != 0:
            raise RuntimeError(f"mkfs.ext4 failed: {made.stderr.strip()}")
        attached = _run("losetup", "--find", "--show", str(self.image))
        if attached.returncode != 0:
            raise RuntimeError(f"losetup failed: {attached.stderr.strip()}")
        self.device = attached.stdout.strip()
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        mounted = _run("mount", self.device, str(self.mountpoint))
        if mounted.returncode != 0:
            self.close()
            raise RuntimeError(f"mount failed: {mounted.stderr.strip()}")
        self.mounted = True

    def make_read_only(self) -> list[Path]:
        """Every write to the database refused from now on; returns what was frozen."""
        files = [
            p
            for p in sorted(self.mountpoint.iterdir())
            if p.is_file() and not p.name.endswith("-shm") and p.name != "lost+found"
        ]
        targets = [*files, self.mountpoint]
        done = _run("chattr", "+i", *map(str, targets))
        if done.returncode != 0:
            raise RuntimeError(f"chattr +i failed: {done.stderr.strip()}")
        self.frozen = targets
        return targets

    def make_writable(self) -> None:
        if not self.frozen:
            return
        done = _run("chattr", "-i", *map(str, self.frozen))
        if done.returncode != 0:
            raise RuntimeError(f"chattr -i failed: {done.stderr.strip()}")
        self.frozen = []

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError, subprocess.SubprocessError):
            self.make_writable()
        if self.mounted:
            if _run("umount", str(self.mountpoint)).returncode != 0:
                _run("umount", "-l", str(self.mountpoint))  # never leave a mount behind
            self.mounted = False
        if self.device is not None:
            _run("losetup", "-d", self.device)
            self.device = None


# -- sampling ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    """The hub as seen once a second."""

    real: float
    sim: float
    life: int  # 0: no hub process
    rss_kib: int | None
    cpu_s: float | None  # user + system time of this life so far
    lines_sent: int  # the soak's cumulative successful writes (line copies)
    backlog: int | None  # InfluxDB export backlog
    mqtt_connected: bool | None
    mqtt_connects: int | None
    counters: dict[str, int] = field(default_factory=dict)  # /api/status counters
    # From /healthz details: the clock guard's counters and the socket sources' bad lines.
    extra: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "real": self.real,
            "sim": self.sim,
            "life": self.life,
            "rss_kib": self.rss_kib,
            "cpu_s": self.cpu_s,
            "lines_sent": self.lines_sent,
            "backlog": self.backlog,
            "mqtt_connected": self.mqtt_connected,
            "mqtt_connects": self.mqtt_connects,
            "counters": self.counters,
            "extra": self.extra,
        }


def proc_rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_cpu_s(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            text = stat.read()
    except OSError:
        return None
    # The command name may hold spaces: the fields after it start behind the last ')'.
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def get_json(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            data = json.loads(answer.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return data if isinstance(data, dict) else None


def get_health(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    # /healthz answers 503 (with the same JSON body) when a check is failing.
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            body = answer.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
    except (OSError, urllib.error.URLError):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class Sampler(threading.Thread):
    """Samples the hub every `interval` real seconds until stopped."""

    def __init__(
        self,
        hub: HubProcess,
        http_port: int,
        sim_now: Callable[[], float],
        lines_sent: Callable[[], int],
        interval: float = 1.0,
    ) -> None:
        super().__init__(name="soak-sampler", daemon=True)
        self._hub = hub
        self._base = f"http://127.0.0.1:{http_port}"
        self._sim_now = sim_now
        self._lines_sent = lines_sent
        self._interval = interval
        self._stop_event = threading.Event()
        self.samples: list[Sample] = []
        self.latest_status: dict[str, Any] | None = None

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)

    def run(self) -> None:
        next_at = time.monotonic()
        while not self._stop_event.is_set():
            self.samples.append(self.sample())
            next_at += self._interval
            self._stop_event.wait(max(0.0, next_at - time.monotonic()))

    def sample(self) -> Sample:
        pid = self._hub.pid
        life = self._hub.life
        number = life.number if life is not None and pid is not None else 0
        rss = cpu = None
        backlog: int | None = None
        connected: bool | None = None
        connects: int | None = None
        counters: dict[str, int] = {}
        extra: dict[str, int] = {}
        if pid is not None:
            rss, cpu = proc_rss_kib(pid), proc_cpu_s(pid)
            health = get_health(f"{self._base}/healthz")
            if health is not None:
                checks = health.get("checks", {})
                influx = checks.get("influxdb", {}).get("details", {})
                mqtt = checks.get("mqtt", {}).get("details", {})
                if isinstance(influx.get("backlog"), int):
                    backlog = influx["backlog"]
                if isinstance(mqtt.get("connected"), bool):
                    connected = mqtt["connected"]
                if isinstance(mqtt.get("connects"), int):
                    connects = mqtt["connects"]
                extra = _extra(checks)
            status = get_json(f"{self._base}/api/status")
            if status is not None:
                self.latest_status = status
                raw = status.get("counters", {})
                counters = {k: v for k, v in raw.items() if isinstance(v, int)}
        return Sample(
            real=time.time(),
            sim=self._sim_now(),
            life=number,
            rss_kib=rss,
            cpu_s=cpu,
            lines_sent=self._lines_sent(),
            backlog=backlog,
            mqtt_connected=connected,
            mqtt_connects=connects,
            counters=counters,
            extra=extra,
        )


# What is kept of /healthz beyond the exporters: clock guard counters, socket bad lines.
_CLOCK_KEYS = {
    "steps": "clock_steps",
    "released_restamped": "restamped",
    "released_unsynchronised": "released_unsynchronised",
    "held": "held",
}


def _extra(checks: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    clock = checks.get("clock", {}).get("details", {})
    for key, name in _CLOCK_KEYS.items():
        if isinstance(clock.get(key), int):
            out[name] = clock[key]
    bad = queued = 0
    for name, check in checks.items():
        if name.startswith("source:"):
            details = check.get("details", {})
            if isinstance(details.get("bad_lines"), int):
                bad += details["bad_lines"]
            if isinstance(details.get("queue_depth"), int):
                queued += details["queue_depth"]
    out["bad_lines"] = bad
    out["source_queue"] = queued
    bus = checks.get("bus", {}).get("details", {})
    if isinstance(bus.get("fullest_share"), int | float):
        out["bus_fullest_pct"] = round(100 * bus["fullest_share"])
    return out
