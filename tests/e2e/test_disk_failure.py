"""The store on a real failing file system: a full tmpfs, and ext4 turned read-only by the
kernel. Readings are held in memory in order, failures counted and logged, nothing written
twice or lost when the disk is back, and the hub never crashes.

Needs root (mount). Why not `mount -o remount,ro` for the read-only case: Linux refuses to
remount a file system read-only while any file on it is open for writing ("mount point is
busy"), and SQLite keeps the database, its WAL and its index open read-write. The way a
running system's file system really turns read-only under a writer is the kernel's own
emergency remount after an error (ext4 `errors=remount-ro`); `trigger_fs_error` in sysfs
raises such an error on purpose. That state lasts until the file system is unmounted.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from hub.clock import ManualClock
from hub.config.models import StoreConfig
from hub.errors import HubError
from hub.events import Reading
from hub.store.backup import backup_to
from hub.store.sqlite import SqliteStore
from hub.testing_run import capture_measurements

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo" / "ruuvitags.jsonl"
A = "C8:25:2D:8E:AB:4C"
B = "F7:6B:13:E0:51:A8"  # first seen while the disk is full
T0 = 1_795_155_600.0

pytestmark = pytest.mark.slow


# -- real file systems ---------------------------------------------------------------------------


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


def _unmount(mountpoint: Path) -> None:
    if _run("umount", str(mountpoint)).returncode != 0:
        _run("umount", "-l", str(mountpoint))  # never leave a mount behind


@contextmanager
def small_tmpfs(mountpoint: Path, size: str = "2m") -> Iterator[Path]:
    """A tmpfs of `size` at `mountpoint`; skips the test where mounting is not permitted."""
    if shutil.which("mount") is None:
        pytest.skip("no `mount` command here")
    mountpoint.mkdir(parents=True, exist_ok=True)
    result = _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(mountpoint))
    if result.returncode != 0:
        pytest.skip(
            f"mounting a tmpfs is not permitted here ({result.stderr.strip()}); "
            "these tests need root (CAP_SYS_ADMIN)"
        )
    try:
        yield mountpoint
    finally:
        _unmount(mountpoint)


@contextmanager
def ext4_on_loop(image: Path, mountpoint: Path) -> Iterator[str]:
    """An ext4 file system in `image` on a loop device, mounted `errors=remount-ro`;
    yields the loop device's name (e.g. loop0)."""
    for tool in ("mount", "losetup", "mkfs.ext4"):
        if shutil.which(tool) is None:
            pytest.skip(f"no `{tool}` command here")
    with image.open("wb") as file:
        file.truncate(32 * 1024 * 1024)
    made = _run("mkfs.ext4", "-q", "-F", str(image))
    assert made.returncode == 0, made.stderr
    attached = _run("losetup", "--find", "--show", str(image))
    if attached.returncode != 0:
        pytest.skip(f"no loop device can be attached here ({attached.stderr.strip()})")
    device = attached.stdout.strip()
    try:
        mountpoint.mkdir(parents=True, exist_ok=True)
        mounted = _run("mount", "-o", "errors=remount-ro", device, str(mountpoint))
        if mounted.returncode != 0:
            pytest.skip(f"mounting ext4 is not permitted here ({mounted.stderr.strip()})")
        try:
            yield Path(device).name
        finally:
            _unmount(mountpoint)
    finally:
        _run("losetup", "-d", device)


def fill(directory: Path) -> Path:
    """Take every free byte of the file system with one file; returns it."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for size in (1 << 16, 4096, 1):
            chunk = b"\xff" * size
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    assert os.statvfs(directory).f_bavail == 0
    return filler


def remove(path: Path) -> None:
    path.unlink()


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def exists(path: Path) -> bool:
    return path.exists()


def make_read_only(trigger: Path) -> None:
    """An ext4 error on purpose: with errors=remount-ro the kernel makes the file system
    read-only at once, open files and all."""
    trigger.write_text("hub test: make the file system read-only\n")


# -- helpers -------------------------------------------------------------------------------------


def reading(n: int, address: str = A) -> Reading:
    return Reading(
        ts=T0 + n,
        address=address,
        integration="ruuvi",
        measurements={"temperature": round(20 + n * 0.01, 2), "humidity": 40.25, "n": n},
        model="RuuviTag",
        sequence=n,
    )


def stored_numbers(path: Path) -> list[int]:
    """The reading numbers in the database, in id (commit) order."""
    with closing(sqlite3.connect(path)) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'readings'").fetchone():
            return []
        return [
            int(json.loads(m)["n"])
            for (m,) in conn.execute("SELECT measurements FROM readings ORDER BY id")
        ]


def integrity(path: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchall()


async def open_store(path: Path, **settings: Any) -> SqliteStore:
    settings.setdefault("min_interval", 0)
    store = SqliteStore(StoreConfig(path=path, **settings), ManualClock(T0))
    await store.open()
    return store


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """Warnings and errors the store logs during the test."""
    messages: list[str] = []
    sink = logger.add(lambda m: messages.append(m.record["message"]), level="INFO")
    yield messages
    logger.remove(sink)


@pytest.fixture
async def full_disk(tmp_path: Path) -> AsyncIterator[Path]:
    with small_tmpfs(tmp_path / "small") as mountpoint:
        yield mountpoint


# -- disk full -----------------------------------------------------------------------------------


async def test_disk_full_holds_readings_in_order_and_writes_them_when_space_returns(
    full_disk: Path, logged: list[str]
) -> None:
    path = full_disk / "hub.db"
    store = await open_store(path, batch_size=50, max_buffer=5_000)
    try:
        for n in range(1, 101):
            await store.add(reading(n))
        assert await store.flush() == 0  # the 100th filled the second batch: both committed
        assert store.counters.committed == 100

        filler = fill(full_disk)
        # Readings keep arriving: batches fill (each tries to commit, then waits for the
        # back-off), the flush job keeps trying, a new sensor turns up.
        for n in range(101, 1_101):
            await store.add(reading(n, B if n % 5 == 0 else A))
            if n % 100 == 0:
                assert await store.flush() == 0
        assert store.buffered == 1_000
        assert store.counters.failures >= 10
        assert "full" in store.counters.last_error
        assert store.counters.dropped == 0
        assert any(m.startswith("Could not commit") for m in logged)
        # What was committed stays readable and intact meanwhile.
        assert stored_numbers(path) == list(range(1, 101))
        assert integrity(path) == [("ok",)]

        remove(filler)
        assert await store.flush() == 1_000
        assert store.buffered == 0
        assert any(m.startswith("Database writable again") for m in logged)
    finally:
        await store.close()

    assert stored_numbers(path) == list(range(1, 1_101))  # each once, in order
    assert store.counters.committed == 1_100
    assert integrity(path) == [("ok",)]
    with closing(sqlite3.connect(path)) as conn:
        sensors = conn.execute("SELECT address, last_sequence FROM sensors ORDER BY id").fetchall()
    assert sensors == [(A, 1_099), (B, 1_100)]  # the new sensor registered once


async def test_disk_full_beyond_the_buffer_drops_the_oldest_and_counts_them(
    full_disk: Path, logged: list[str]
) -> None:
    path = full_disk / "hub.db"
    store = await open_store(path, batch_size=50, max_buffer=1_000)
    try:
        for n in range(1, 51):
            await store.add(reading(n))
        filler = fill(full_disk)
        for n in range(51, 1_551):
            await store.add(reading(n))
        await store.flush()
        assert store.buffered == 1_000
        assert store.counters.dropped == 500
        assert any(m.startswith("Store buffer full") for m in logged)
        remove(filler)
        assert await store.flush() == 1_000
    finally:
        await store.close()
    assert stored_numbers(path) == list(range(1, 51)) + list(range(551, 1_551))


async def test_a_backup_onto_a_full_disk_fails_cleanly(full_disk: Path, tmp_path: Path) -> None:
    source = tmp_path / "hub.db"
    store = await open_store(source, batch_size=500)
    for n in range(1, 3_001):
        await store.add(reading(n))
    await store.close()
    dest = full_disk / "backup.db"
    dest.write_bytes(b"the previous backup")
    filler = fill(full_disk)

    with pytest.raises(HubError, match="full"):
        await backup_to(source, dest)
    assert dest.read_bytes() == b"the previous backup"
    assert names(full_disk) == ["backup.db", "filler"]

    remove(filler)
    result = await backup_to(source, dest)
    assert result.integrity == "ok"
    assert stored_numbers(dest) == list(range(1, 3_001))


# -- read-only -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("synchronous", "written_back"),
    [
        pytest.param("full", False, id="synchronous-full"),
        pytest.param("normal", True, id="synchronous-normal-written-back"),
        pytest.param("normal", False, id="synchronous-normal-in-page-cache"),
    ],
)
async def test_a_file_system_turned_read_only_under_the_store(
    tmp_path: Path, logged: list[str], synchronous: str, written_back: bool
) -> None:
    """The store keeps running and holds what arrives; shutting down reports what it could
    not write. What survives: with `synchronous: full` every commit; with `normal` the
    commits the kernel had written back (it does within ~30 s, or at a sync), and of the
    rest a prefix at most, as after a power cut: never a torn or corrupt database."""
    mountpoint = tmp_path / "ext4"
    with ext4_on_loop(tmp_path / "ext4.img", mountpoint) as device:
        trigger = Path(f"/sys/fs/ext4/{device}/trigger_fs_error")
        if not exists(trigger):
            pytest.skip(f"{trigger} is missing: cannot make the kernel remount read-only")
        path = mountpoint / "hub.db"
        store = await open_store(path, batch_size=50, synchronous=synchronous)
        try:
            for n in range(1, 101):
                await store.add(reading(n))
            await store.flush()
            assert store.counters.committed == 100
            if written_back:
                os.sync()

            make_read_only(trigger)
            with pytest.raises(OSError, match="Read-only file system"):
                (mountpoint / "probe").write_text("x")

            for n in range(101, 401):
                await store.add(reading(n))
                if n % 50 == 0:
                    assert await store.flush() == 0
            assert store.buffered == 300
            assert store.counters.failures >= 6
            assert store.counters.dropped == 0
            assert any(m.startswith("Could not commit") for m in logged)
            # The store still answers from what was committed.
            assert await store.count_readings() == 100
        finally:
            # Shutting down with the disk still read-only: reported, not raised.
            await store.close()
        assert any(
            m.startswith("Closing the database with 300 readings not written") for m in logged
        )

    # Mounted again (the only way back from an emergency read-only state): the database is
    # intact and holds what was committed before the failure (see above for `normal`).
    with ext4_on_loop_again(tmp_path / "ext4.img", mountpoint):
        assert integrity(path) == [("ok",)]
        kept = stored_numbers(path)
        if synchronous == "full" or written_back:
            assert kept == list(range(1, 101))
        else:
            assert kept == list(range(1, len(kept) + 1))  # a prefix, maybe empty
        store = await open_store(path, batch_size=50)  # and the hub carries on with it
        try:
            await store.add(reading(401))
            assert await store.flush() == 1
        finally:
            await store.close()
        assert stored_numbers(path) == [*kept, 401]


@contextmanager
def ext4_on_loop_again(image: Path, mountpoint: Path) -> Iterator[None]:
    """Mount an existing image again, after `e2fsck` has repaired the error it records."""
    checked = _run("e2fsck", "-f", "-y", str(image))
    assert checked.returncode in (0, 1), checked.stdout + checked.stderr  # 1: fixed
    attached = _run("losetup", "--find", "--show", str(image))
    assert attached.returncode == 0, attached.stderr
    device = attached.stdout.strip()
    try:
        mounted = _run("mount", device, str(mountpoint))
        assert mounted.returncode == 0, mounted.stderr
        try:
            yield
        finally:
            _unmount(mountpoint)
    finally:
        _run("losetup", "-d", device)


# -- a real `hub run` on a disk that fills up -----------------------------------------------------


def log_messages(log: Path) -> list[str]:
    messages = []
    for text in log.read_text(errors="replace").splitlines():
        try:
            messages.append(json.loads(text)["message"])
        except (json.JSONDecodeError, KeyError):
            continue
    return messages


def wait_for(log: Path, proc: subprocess.Popen[bytes], prefix: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(m.startswith(prefix) for m in log_messages(log)):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail(f"{prefix!r} not logged within {timeout}s; log:\n{log.read_text()[-3000:]}")


def test_hub_run_survives_a_full_disk_and_stores_everything_once_in_order(
    tmp_path: Path,
) -> None:
    capture = tmp_path / "capture.jsonl"
    capture.write_text("\n".join(DEMO.read_text().splitlines()[:1_200]) + "\n")  # ~5 minutes
    expected = {k: m.values for k, m in capture_measurements(capture).items()}
    with small_tmpfs(tmp_path / "small") as mountpoint:
        db = mountpoint / "hub.db"
        config = tmp_path / "hub.yaml"
        config.write_text(
            json.dumps(
                {
                    "hub": {"name": "full", "summary_interval": "1s"},
                    "logging": {"level": "DEBUG", "format": "json"},
                    "store": {"path": str(db), "flush_interval": "0.5s", "min_interval": 0},
                    "sources": {"demo": {"type": "replay", "file": str(capture), "speed": 25}},
                }
            )
        )
        log = tmp_path / "hub.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "hub", "run", "--config", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=tmp_path,
            )
        try:
            wait_for(log, proc, "Hub 'full' running", timeout=60)
            time.sleep(2)  # a few commits
            filler = fill(mountpoint)
            wait_for(log, proc, "Could not commit", timeout=10)
            time.sleep(2)  # more readings held, more failed flushes
            remove(filler)
            wait_for(log, proc, "Database writable again", timeout=70)
            wait_for(log, proc, "Replay demo finished", timeout=60)
            assert proc.poll() is None, "the hub exited"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert integrity(db) == [("ok",)]
        with closing(sqlite3.connect(db)) as conn:
            rows = conn.execute(
                "SELECT s.address, r.sequence, r.measurements FROM readings r "
                "JOIN sensors s ON s.id = r.sensor_id ORDER BY r.id"
            ).fetchall()
    messages = log_messages(log)
    assert sum(m.startswith("Could not commit") for m in messages) >= 2
    keys = [(address, sequence) for address, sequence, _ in rows]
    assert len(keys) == len(set(keys)), "a measurement was stored twice"
    assert keys == list(expected), "not every measurement, or not in the order heard"
    for address, sequence, measurements in rows:
        assert json.loads(measurements) == expected[(address, sequence)]
