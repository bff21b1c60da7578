"""`python -m soak`: a fault-injecting soak run of a real `hub run`, with a no-loss ledger.

A synthetic world of sensors (`soak.world`) transmits in simulated time, `--speed` times
faster than real time; the send loop writes each emission to the receivers that heard it
(two Unix sockets, two `socket` sources of the hub) and records it in the ledger. The hub
runs as a subprocess on the simulated clock (`HUB_CLOCK_FILE`), with its database on a
loop-mounted ext4, exporting to a real VictoriaMetrics (InfluxDB write API) and publishing
to a real Mosquitto. The fault schedule (`soak.faults`) stops, restarts and kills things
on the way. At the end the hub is drained and stopped, and `soak.verify` compares the
ledger with SQLite, InfluxDB, MQTT and the alert history; `soak.report` writes the summary
and the plots. The exit status is 0 only when every line of the report passes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import numpy as np
import yaml

from hub.clock import write_clock_file
from hub.exporters.influxdb.testing import VictoriaMetrics
from hub.mqtt.testing import Mosquitto, free_port
from soak.faults import Applied, FaultRunner, Targets, default_schedule
from soak.ledger import Ledger
from soak.services import DataDisk, HubProcess, NeedsRoot, Sampler, get_health, get_json

ROOT = Path(__file__).resolve().parents[1]

# A simulated day in 20 real minutes. At 144x (a day in 10 minutes) the world's 70
# advertisements a simulated second become 11,500 lines a real second, more than the hub
# takes on one core of a 2-core machine that also runs the generator and the servers: it
# falls behind, and its stamps with it (see soak/README.md).
DEFAULT_SPEED = 72.0
# Real seconds between two writes of the send loop.
TICK_S = 0.02
# The hub's real-time settings that matter to the ledger.
FLUSH_INTERVAL_S = 0.5
MIN_INTERVAL_S = 10.0  # store.min_interval, simulated seconds (the realistic default)
ALERT_TICK_S = 0.25
# Each receiver's socket buffer: small, so a line waits little in the kernel before the hub
# reads (and stamps) it.
SNDBUF = 64 * 1024
# Advertisements each receiver may hold for the hub (about 3 s at the default speed).
SOURCE_QUEUE = 30_000
# A write that cannot go through in this long means the hub hangs: a failure.
WRITE_TIMEOUT_S = 15.0
# The hub gets this long (real seconds) to start before the simulated run begins.
STARTUP_S = 4.0
TOPIC_PREFIX = "hub"


def say(text: str) -> None:
    """A progress line (the soak is a command: its output is for people)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@dataclass(frozen=True, slots=True)
class Plan:
    """What the command line asked for."""

    hours: float
    sensors: int
    speed: float
    seed: int
    out: Path
    keep: bool
    malformed: int = 5_000
    # How long a line may wait before the hub stamps it, real seconds (times speed: simulated).
    allowance_real_s: float = 0.5

    @property
    def duration_s(self) -> float:
        return self.hours * 3600.0

    @property
    def duration_real_s(self) -> float:
        return self.duration_s / self.speed

    @property
    def allowance_s(self) -> float:
        return self.allowance_real_s * self.speed


def parse_args(argv: Sequence[str] | None = None) -> Plan:
    parser = argparse.ArgumentParser(
        prog="scripts/soak",
        description="Run a real hub for a simulated --hours against a synthetic world of "
        "sensors, with faults injected, and check that it lost nothing, invented nothing, "
        "stamped honestly, alerted sanely and stayed flat.",
    )
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    parser.add_argument("--sensors", type=int, default=300, help="simulated sensors (300)")
    parser.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        help=f"simulated seconds per real second ({DEFAULT_SPEED:g}: a day in 20 minutes)",
    )
    parser.add_argument("--seed", type=int, default=1, help="the world's random seed (1)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "soak-report", help="report directory (soak-report/)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the run directory (database, logs)"
    )
    parser.add_argument(
        "--malformed", type=int, default=5_000, help="lines in the malformed burst (5000)"
    )
    args = parser.parse_args(argv)
    if args.hours <= 0 or args.sensors < 1 or args.speed <= 0:
        parser.error("--hours and --speed must be above 0, --sensors at least 1")
    return Plan(
        hours=args.hours,
        sensors=args.sensors,
        speed=args.speed,
        seed=args.seed,
        out=args.out,
        keep=args.keep,
        malformed=args.malformed,
    )


# -- the receivers -----------------------------------------------------------------------------


class Receivers:
    """One persistent connection per receiver socket; a refused or broken connection means
    the hub is not listening, and the write counts as not delivered."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)
        self._socks: list[socket.socket | None] = [None] * len(self.paths)
        self.connects = 0
        self.timeouts = 0

    def write(self, receiver: int, data: bytes) -> bool:
        sock = self._socks[receiver]
        if sock is None:
            sock = self._connect(receiver)
            if sock is None:
                return False
        try:
            sock.sendall(data)
        except TimeoutError:
            self.timeouts += 1
            self._drop(receiver)
            return False
        except OSError:
            self._drop(receiver)
            return False
        return True

    def _connect(self, receiver: int) -> socket.socket | None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
        sock.settimeout(WRITE_TIMEOUT_S)
        try:
            sock.connect(str(self.paths[receiver]))
        except OSError:
            sock.close()
            return None
        self._socks[receiver] = sock
        self.connects += 1
        return sock

    def _drop(self, receiver: int) -> None:
        sock, self._socks[receiver] = self._socks[receiver], None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        for r in range(len(self._socks)):
            self._drop(r)


# -- the run -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Timeline:
    """Simulated time = origin_sim + (real - origin_real) * speed; after `slowed` (real time,
    the end of the run) it goes on at real speed while the hub drains."""

    origin_real: float
    origin_sim: float
    speed: float
    slowed: float | None = None

    def sim(self, real: float | None = None) -> float:
        real = time.time() if real is None else real
        if self.slowed is not None and real > self.slowed:
            return self.sim(self.slowed) + (real - self.slowed)
        return self.origin_sim + (real - self.origin_real) * self.speed

    def real(self, sim: float) -> float:
        return self.origin_real + (sim - self.origin_sim) / self.speed


@dataclass(slots=True)
class RunResult:
    """Everything the verification and the report need from the run."""

    plan: Plan
    run_dir: Path
    db_path: Path
    start_sim: float
    end_sim: float
    started_real: float
    ended_real: float = 0.0
    applied: list[Applied] = field(default_factory=list)
    lives: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    mqtt_retained: dict[str, bytes] = field(default_factory=dict)
    final_status: dict[str, Any] | None = None
    final_health: dict[str, Any] | None = None
    drain_s: float = 0.0
    slowed_sim: float = 0.0  # when the clock went back to real speed for the drain
    stopped_sim: float = 0.0  # when the hub was told to stop
    drained: bool = False
    disk_missing: str | None = None
    receivers_timeouts: int = 0
    min_interval_s: float = MIN_INTERVAL_S
    flush_interval_s: float = FLUSH_INTERVAL_S
    alert_tick_s: float = ALERT_TICK_S
    notes: list[str] = field(default_factory=list)


def hub_config(
    plan: Plan,
    world: Any,
    run_dir: Path,
    db_path: Path,
    sockets: Sequence[Path],
    mqtt: Mosquitto,
    vm: VictoriaMetrics,
    http_port: int,
) -> dict[str, Any]:
    """The hub's configuration for the run (JSON, which is YAML)."""
    return {
        "hub": {"name": "soak", "summary_interval": "10s"},
        "logging": {"level": "INFO", "format": "json"},
        # Realistic storage: one reading per sensor per 10 simulated seconds, committed every
        # half real second (72 simulated seconds at the default speed).
        "store": {
            "path": str(db_path),
            "flush_interval": FLUSH_INTERVAL_S,
            "min_interval": f"{MIN_INTERVAL_S:g}s",
            "synchronous": "normal",
            # The read-only fault lasts a twentieth of the run (1.2 simulated hours of a
            # day): about 120,000 readings of this world wait in memory meanwhile, more than
            # the default 100,000 (55 minutes of it) holds.
            "max_buffer": 250_000,
        },
        "alerts": {"rules": str(run_dir / "alerts.yaml"), "tick_interval": ALERT_TICK_S},
        "influxdb": {
            "enabled": True,
            "url": vm.url,
            "org": "soak",
            "bucket": "soak",
            "token": "soak-token",
            "flush_interval": "1s",
            "retry": {"initial": "0.5s", "max": "5s"},
        },
        "mqtt": {
            "enabled": True,
            "host": mqtt.host,
            "port": mqtt.port,
            "client_id": "hub-soak",
            "topic_prefix": TOPIC_PREFIX,
            "home_assistant": {"enabled": True},
        },
        # The API for sampling; the dashboard's live stream would only add work per reading.
        "http": {"enabled": True, "port": http_port, "dashboard": {"enabled": False}},
        "health": {"enabled": True, "interval": "1s"},
        "clock": {"unsynchronised": "hold"},
        # Each receiver reads and stamps as lines arrive, and queues a few seconds' worth
        # while the hub works through a burst (a clock guard's release): stamps stay on time.
        "sources": {
            name: {"type": "socket", "path": str(path), "queue_size": SOURCE_QUEUE}
            for name, path in zip(("receiver_a", "receiver_b"), sockets, strict=True)
        },
        "devices": world.devices_config(),
    }


class SoakRun:
    """Sets up the world and the services, runs the send loop and the faults, drains."""

    def __init__(self, plan: Plan, run_dir: Path) -> None:
        from soak.world import World  # the generator (another module's job)

        self.plan = plan
        self.run_dir = run_dir
        start = float(math.floor(time.time() / 60.0) * 60.0)
        self.world = World(sensors=plan.sensors, seed=plan.seed, start=start)
        self.start_sim = float(getattr(self.world, "start", start))
        self.end_sim = self.start_sim + plan.duration_s
        self.ledger = Ledger([s.address for s in self.world.sensors])
        self.sockets = [run_dir / "receiver-a.sock", run_dir / "receiver-b.sock"]
        self.receivers = Receivers(self.sockets)
        self.config_path = run_dir / "hub.yaml"
        self.disk = DataDisk(run_dir / "data.img", run_dir / "data")
        self.mqtt = Mosquitto()
        self.vm = VictoriaMetrics(run_dir / "victoria-metrics")
        self.hub = HubProcess(self.config_path, run_dir / "clock.json", run_dir, self.sockets)
        self.timeline: Timeline | None = None
        self.sampler: Sampler | None = None
        self.faults: FaultRunner | None = None
        self.result: RunResult | None = None
        self._malformed_wanted = 0
        self._malformed_lock = threading.Lock()

    # -- helpers for the faults -----------------------------------------------------------

    def request_malformed(self, count: int) -> None:
        with self._malformed_lock:
            self._malformed_wanted += count

    def _take_malformed(self) -> int:
        with self._malformed_lock:
            count, self._malformed_wanted = self._malformed_wanted, 0
        return count

    # -- the whole run --------------------------------------------------------------------

    def run(self) -> RunResult:
        """The run itself; the services stay up for the verification (`close()` ends them)."""
        plan, run_dir = self.plan, self.run_dir
        disk = self.disk
        disk_missing = DataDisk.available()
        if disk_missing is None:
            try:
                disk.open()
            except (NeedsRoot, RuntimeError) as exc:
                disk_missing = str(exc)
        if disk_missing is not None:
            disk.mountpoint.mkdir(parents=True, exist_ok=True)
            say(f"database read-only fault cannot run here: {disk_missing}")
        db_path = disk.mountpoint / "hub.db"
        clock_file = run_dir / "clock.json"
        (run_dir / "alerts.yaml").write_text(
            yaml.safe_dump(self.world.alert_rules(), sort_keys=False), encoding="utf-8"
        )
        mqtt, vm, hub = self.mqtt, self.vm, self.hub
        http_port = free_port()
        result = RunResult(
            plan=plan,
            run_dir=run_dir,
            db_path=db_path,
            start_sim=self.start_sim,
            end_sim=self.end_sim,
            started_real=time.time(),
            disk_missing=disk_missing,
        )
        self.result = result
        mqtt.start()
        vm.dir.mkdir(parents=True, exist_ok=True)
        vm.start()
        config = hub_config(plan, self.world, run_dir, db_path, self.sockets, mqtt, vm, http_port)
        self.config_path.write_text(json.dumps(config, indent=1), encoding="utf-8")
        timeline = Timeline(time.time() + STARTUP_S, self.start_sim, plan.speed)
        self.timeline = timeline

        def write_clock(step: float, synchronised: bool) -> None:
            write_clock_file(
                clock_file,
                timeline.origin_real,
                timeline.origin_sim,
                timeline.speed,
                step=step,
                synchronised=synchronised,
            )

        write_clock(0.0, True)
        hub.clock_file = clock_file
        say(
            f"soak: {plan.sensors} sensors, {plan.hours:g} simulated h at {plan.speed:g}x "
            f"({plan.duration_real_s / 60:.1f} real min); run dir {run_dir}"
        )
        hub.start()
        if not hub.wait_ready(60.0):
            raise RuntimeError(
                f"the hub did not start listening; its log:\n{_tail(hub.lives[-1].log)}"
            )
        say(f"hub listening after {time.time() - hub.lives[-1].started_real:.1f}s")

        def start_hub() -> bool:
            hub.start()
            return hub.wait_ready(60.0)

        def read_only() -> str:
            frozen = disk.make_read_only()
            return "immutable: " + ", ".join(p.name for p in frozen)

        targets = Targets(
            step_clock=write_clock,
            stop_mqtt=mqtt.stop,
            start_mqtt=mqtt.start,
            stop_influxdb=vm.stop,
            start_influxdb=vm.start,
            kill_hub=hub.kill,
            start_hub=start_hub,
            read_only=read_only,
            writable=disk.make_writable,
            malformed=self.request_malformed,
            disk_missing=disk_missing,
        )
        sampler = self.sampler = Sampler(
            hub, http_port, timeline.sim, lambda: self.ledger.stats.lines
        )
        sampler.start()
        faults = self.faults = FaultRunner(
            schedule=default_schedule(plan.malformed),
            targets=targets,
            start_real=timeline.origin_real,
            duration_real=plan.duration_real_s,
            sim_now=timeline.sim,
            speed=plan.speed,
            say=say,
        )
        faults.start()
        self._send_loop(timeline, sampler, hub)
        faults.join(timeout=120)
        result.applied = faults.applied
        # The world has stopped transmitting; the hub's clock runs on while it drains (a
        # speed change would make its wall clock jump by what it reads late), so what it
        # does after the end (stale alerts of a world gone quiet) is left out of the checks.
        self._drain(hub, http_port, result)
        result.final_health = _health(http_port)
        result.final_status = get_json(f"http://127.0.0.1:{http_port}/api/status")
        sampler.stop()
        result.stopped_sim = timeline.sim()
        status = hub.terminate(timeout=60.0)
        say(f"hub stopped (exit status {status})")
        result.mqtt_retained = asyncio.run(_retained(mqtt.port))
        (run_dir / "mqtt_retained.json").write_text(
            json.dumps({t: p.decode(errors="replace") for t, p in result.mqtt_retained.items()})
        )
        if vm.proc is None:
            vm.start()
        self._collect(result)
        return result

    def _collect(self, result: RunResult) -> None:
        """What the run leaves behind for the verification, however it ended."""
        if self.faults is not None:
            result.applied = self.faults.applied
        result.lives = [_life_json(life, self.timeline) for life in self.hub.lives]
        if self.sampler is not None:
            result.samples = [s.to_json() for s in self.sampler.samples]
        result.receivers_timeouts = self.receivers.timeouts
        result.ended_real = time.time()
        # Every sample and the ledger, for a closer look at a kept run.
        (self.run_dir / "samples.json").write_text(json.dumps(result.samples), encoding="utf-8")
        if self.plan.keep:
            frozen = self.ledger.freeze()
            np.savez_compressed(
                self.run_dir / "ledger.npz",
                **{name: getattr(frozen, name) for name in frozen.__dataclass_fields__},
            )

    def close(self) -> None:
        """Stop everything this run started, whatever state it is in."""
        self.receivers.close()
        if self.faults is not None:
            self.faults.stop()
        if self.sampler is not None and self.sampler.is_alive():
            self.sampler.stop()
        if self.hub.pid is not None:
            self.hub.terminate(timeout=30.0)
        self.mqtt.close()
        self.vm.stop()
        if self.plan.keep and self.disk.mounted:
            _keep_database(self.disk, self.run_dir)
        self.disk.close()

    # -- the send loop --------------------------------------------------------------------

    def _send_loop(self, timeline: Timeline, sampler: Sampler, hub: HubProcess) -> None:
        world, ledger, receivers = self.world, self.ledger, self.receivers
        stats = ledger.stats
        end = self.end_sim
        nreceivers = len(self.sockets)
        progress_every = max(5.0, min(30.0, self.plan.duration_real_s / 20))
        next_progress = time.monotonic() + progress_every
        last_lines = 0
        last_progress_t = time.monotonic()
        next_tick = time.monotonic()
        while True:
            tick_started = time.monotonic()
            now = min(timeline.sim(), end)
            batch = list(world.emissions(now))
            wanted = self._take_malformed()
            if wanted:
                batch.extend(world.malformed(now, wanted))
            if batch:
                per: list[list[bytes]] = [[] for _ in range(nreceivers)]
                for e in batch:
                    for r in e.receivers:
                        per[r].append(e.line)
                before = timeline.sim()
                written = 0
                for r, lines in enumerate(per):
                    if not lines:
                        continue
                    if receivers.write(r, b"".join(lines)):
                        written |= 1 << r
                        stats.lines += len(lines)
                    else:
                        stats.refused_lines += len(lines)
                after = timeline.sim()
                ledger.record(batch, before, after, written)
            stats.ticks += 1
            took = time.monotonic() - tick_started
            stats.max_tick_real = max(stats.max_tick_real, took)
            if now >= end:
                break
            if time.monotonic() >= next_progress:
                t = time.monotonic()
                rate = (stats.lines - last_lines) / (t - last_progress_t)
                last_lines, last_progress_t = stats.lines, t
                next_progress = t + progress_every
                say(self._progress(now, rate, sampler, hub))
            next_tick += TICK_S
            delay = next_tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_tick = time.monotonic()

    def _progress(self, now: float, rate: float, sampler: Sampler, hub: HubProcess) -> str:
        elapsed = now - self.start_sim
        share = elapsed / self.plan.duration_s
        last = sampler.samples[-1] if sampler.samples else None
        counters = last.counters if last is not None else {}
        life = hub.life.number if hub.life is not None else 0
        backlog = last.backlog if last is not None else None
        mqtt = (
            "?"
            if last is None or last.mqtt_connected is None
            else ("up" if last.mqtt_connected else "down")
        )
        return (
            f"sim +{_hms(elapsed)} ({share:4.0%}) | {rate:7,.0f} lines/s | "
            f"hub life {life}: {counters.get('advertisements', 0):,} adverts, "
            f"{counters.get('committed', 0):,} stored | influx backlog "
            f"{'-' if backlog is None else f'{backlog:,}'} | mqtt {mqtt} | "
            f"lag max {self.ledger.stats.max_lag:.1f} sim s"
        )

    # -- the end --------------------------------------------------------------------------

    def _drain(self, hub: HubProcess, http_port: int, result: RunResult) -> None:
        """Let the hub take in what was sent, commit what its storage interval holds, and
        export everything, before it is stopped."""
        started = time.monotonic()
        base = f"http://127.0.0.1:{http_port}"
        # Everything written is read: the advertisement counter stops moving.
        last = -1
        stable_since = time.monotonic()
        while time.monotonic() - started < 60:
            status = get_json(f"{base}/api/status")
            count = status["counters"]["advertisements"] if status else -1
            if count != last:
                last, stable_since = count, time.monotonic()
            elif time.monotonic() - stable_since >= 1.0:
                break
            time.sleep(0.2)
        # The storage interval holds each sensor's newest reading for a whole interval of
        # the hub's clock before it is committed without a newer one.
        time.sleep(MIN_INTERVAL_S / self.plan.speed + 2 * FLUSH_INTERVAL_S)
        while time.monotonic() - started < 180:
            health = _health(http_port)
            details = (health or {}).get("checks", {}).get("influxdb", {}).get("details", {})
            status = get_json(f"{base}/api/status")
            buffered = status["counters"].get("buffered", 1) if status else 1
            if details.get("backlog") == 0 and buffered == 0:
                result.drained = True
                break
            time.sleep(0.5)
        result.drain_s = time.monotonic() - started
        say(
            f"drained in {result.drain_s:.1f}s"
            if result.drained
            else f"NOT drained after {result.drain_s:.0f}s"
        )


def _health(port: int) -> dict[str, Any] | None:
    return get_health(f"http://127.0.0.1:{port}/healthz")


def _life_json(life: Any, timeline: Timeline | None) -> dict[str, Any]:
    def sim(real: float | None) -> float | None:
        return None if real is None or timeline is None else timeline.sim(real)

    return {
        "number": life.number,
        "pid": life.pid,
        "started_sim": sim(life.started_real),
        "ready_sim": sim(life.ready_real),
        "ended_sim": sim(life.ended_real),
        "exit_status": life.exit_status,
        "killed": life.killed,
        "log": str(life.log),
    }


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def _hms(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


async def _retained(port: int, quiet_s: float = 0.7, within: float = 15.0) -> dict[str, bytes]:
    """Every retained state and discovery config on the broker, as a new subscriber sees it.
    At QoS 0: at QoS 1 Mosquitto queues at most 1,000 messages for a subscriber
    (max_queued_messages) and drops the rest of a burst of retained ones."""
    topics = (f"{TOPIC_PREFIX}/sensor/+/state", "homeassistant/sensor/+/+/config")
    out: dict[str, bytes] = {}
    async with aiomqtt.Client("127.0.0.1", port) as client:
        for topic in topics:
            await client.subscribe(topic, qos=0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        messages = client.messages
        while loop.time() - started < within:
            try:
                async with asyncio.timeout(quiet_s):
                    message = await anext(messages)
            except TimeoutError:
                break
            if message.retain and isinstance(message.payload, bytes | bytearray):
                out[str(message.topic)] = bytes(message.payload)
    return out


def influx_fetcher(vm: VictoriaMetrics) -> Callable[[str], list[dict[str, Any]]]:
    """A function giving every series VictoriaMetrics holds for one sensor address (one
    flush first, then one export per sensor: a day of points at once would not fit well)."""
    with urllib.request.urlopen(f"{vm.url}/internal/force_flush", timeout=60) as answer:
        answer.read()
    end = str(int(time.time()) + 400 * 86400)

    def fetch(address: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode(
            {"match[]": f'{{__name__=~"ble_.+",address="{address}"}}', "start": "0", "end": end}
        )
        with urllib.request.urlopen(f"{vm.url}/api/v1/export?{query}", timeout=120) as answer:
            body = answer.read()
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    return fetch


def main(argv: Sequence[str] | None = None) -> int:
    plan = parse_args(argv)
    from soak.report import write_report
    from soak.verify import verify

    run_dir = Path(tempfile.mkdtemp(prefix="soak-run-"))
    run_dir.chmod(0o755)  # mosquitto and the hub's sockets live here
    soak = SoakRun(plan, run_dir)
    try:
        try:
            result = soak.run()
        except BaseException:
            if soak.result is not None:
                soak._collect(soak.result)
            raise
        say("verifying ...")
        checks = verify(result, soak.world, soak.ledger, influx_fetcher(soak.vm))
        report = write_report(plan.out, result, checks, soak.world, soak.ledger, argv)
        say("")
        say(report.table)
        say(f"report: {plan.out / 'summary.md'}")
        if plan.keep:
            say(f"run directory kept: {run_dir}")
        return 0 if report.passed else 1
    finally:
        soak.close()
        if not plan.keep:
            shutil.rmtree(run_dir, ignore_errors=True)


def _keep_database(disk: DataDisk, run_dir: Path) -> None:
    """Copy the database off the loop device before it is unmounted."""
    target = run_dir / "database"
    target.mkdir(exist_ok=True)
    for path in disk.mountpoint.iterdir():
        if path.is_file():
            shutil.copy2(path, target / path.name)


if __name__ == "__main__":
    raise SystemExit(main())
