"""Logging setup: JSON lines, journald-friendly text, per-module levels, stdlib routing."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator

import pytest
from loguru import logger

from hub.config.models import LoggingConfig
from hub.logs import InterceptHandler, setup_logging, under_journald

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}")


@pytest.fixture(autouse=True)
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """setup_logging replaces every handler: put loguru and the stdlib back afterwards."""
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    logger.remove()
    logger.add(sys.stderr)
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


class Module:
    """Log calls made from code whose module is `name`, as loguru names the caller."""

    _SOURCE = (
        "import logging\n"
        "from loguru import logger\n"
        "def loguru_log(level, message):\n"
        "    logger.log(level, message)\n"
        "def stdlib_log(level, message):\n"
        "    logging.getLogger('x').log(logging.getLevelName(level), message)\n"
    )

    def __init__(self, name: str) -> None:
        namespace: dict[str, object] = {"__name__": name}
        exec(compile(self._SOURCE, f"<module {name}>", "exec"), namespace)
        self.loguru_log: Callable[[str, str], None] = namespace["loguru_log"]  # type: ignore[assignment]
        self.stdlib_log: Callable[[str, str], None] = namespace["stdlib_log"]  # type: ignore[assignment]


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    text = stream.getvalue()
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def messages(stream: io.StringIO) -> list[tuple[str, str, str]]:
    return [(r["level"], r["logger"], r["message"]) for r in json_lines(stream)]  # type: ignore[misc]


def setup_json(stream: io.StringIO, **settings: object) -> None:
    setup_logging(LoggingConfig.model_validate({"format": "json", **settings}), stream=stream)


# --- json --------------------------------------------------------------------------------


def test_json_writes_one_object_per_line() -> None:
    stream = io.StringIO()
    setup_json(stream)

    logger.info("hello {}", "world")
    logger.warning("second")
    logger.debug("below the level")

    records = json_lines(stream)
    assert len(records) == 2
    assert [set(r) for r in records] == [{"ts", "level", "logger", "message"}] * 2
    assert [(r["level"], r["logger"], r["message"]) for r in records] == [
        ("INFO", __name__, "hello world"),
        ("WARNING", __name__, "second"),
    ]
    assert all(isinstance(r["ts"], float) for r in records)


def test_json_carries_bound_extras_as_strings() -> None:
    stream = io.StringIO()
    setup_json(stream)

    logger.bind(source="demo", count=3).info("played")

    [record] = json_lines(stream)
    assert record["message"] == "played"
    assert record["extra"] == {"source": "demo", "count": "3"}


def test_json_carries_the_exception() -> None:
    stream = io.StringIO()
    setup_json(stream)

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("it failed")
        logging.getLogger("x").exception("stdlib saw it too")

    first, second = json_lines(stream)
    for record, message in ((first, "it failed"), (second, "stdlib saw it too")):
        assert record["level"] == "ERROR"
        assert record["message"] == message
        assert isinstance(record["exception"], str)
        assert record["exception"].startswith("Traceback (most recent call last):")
        assert record["exception"].endswith("RuntimeError: boom")


def test_json_keeps_non_ascii_and_newlines_on_one_line() -> None:
    stream = io.StringIO()
    setup_json(stream)

    logger.info("21.5 °C\nsecond line")

    assert stream.getvalue().count("\n") == 1
    assert "°C" in stream.getvalue()
    assert json_lines(stream)[0]["message"] == "21.5 °C\nsecond line"


def test_stdlib_records_go_through_loguru_named_by_the_calling_module() -> None:
    stream = io.StringIO()
    setup_json(stream)

    logging.getLogger("some.library").warning("careful %s", "now")
    logging.getLogger("x").info("info %d", 5)
    logging.getLogger("x").debug("hidden")

    assert messages(stream) == [
        ("WARNING", __name__, "careful now"),
        ("INFO", __name__, "info 5"),
    ]
    assert [type(h) for h in logging.getLogger().handlers] == [InterceptHandler]


def test_setting_up_twice_replaces_the_sink() -> None:
    first, second = io.StringIO(), io.StringIO()
    setup_json(first)
    setup_json(second)

    logger.info("once")
    logging.getLogger("x").info("once from stdlib")

    assert first.getvalue() == ""
    assert [m for _, _, m in messages(second)] == ["once", "once from stdlib"]


# --- text --------------------------------------------------------------------------------


def test_text_has_a_timestamp_level_and_module() -> None:
    stream = io.StringIO()
    setup_logging(LoggingConfig(format="text"), stream=stream)

    logger.info("hello")

    line = stream.getvalue()
    assert re.fullmatch(TIMESTAMP.pattern + rf" INFO     {re.escape(__name__)} hello\n", line)
    assert "\x1b[" not in line  # not a terminal: no colours


def test_auto_outside_journald_is_text_with_timestamps() -> None:
    stream = io.StringIO()
    setup_logging(LoggingConfig(format="auto"), stream=stream)

    logger.warning("hello")

    assert not under_journald()
    assert re.fullmatch(
        TIMESTAMP.pattern + rf" WARNING  {re.escape(__name__)} hello\n", stream.getvalue()
    )


def test_auto_under_journald_has_no_timestamp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    stream = io.StringIO()
    setup_logging(LoggingConfig(format="auto"), stream=stream)

    logger.info("hello")
    logging.getLogger("x").error("from stdlib")

    assert under_journald()
    assert stream.getvalue() == (f"INFO     {__name__} hello\nERROR    {__name__} from stdlib\n")
    assert not TIMESTAMP.search(stream.getvalue())


def test_explicit_text_keeps_timestamps_even_under_journald(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    stream = io.StringIO()
    setup_logging(LoggingConfig(format="text"), stream=stream)

    logger.info("hello")

    assert TIMESTAMP.match(stream.getvalue())


def test_json_under_journald_is_still_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    stream = io.StringIO()
    setup_json(stream)

    logger.info("hello")

    assert messages(stream) == [("INFO", __name__, "hello")]


# --- levels ------------------------------------------------------------------------------


def test_global_level() -> None:
    stream = io.StringIO()
    setup_json(stream, level="WARNING")

    logger.info("no")
    logger.warning("yes")
    logging.getLogger("x").info("no")
    logging.getLogger("x").error("yes too")

    assert [m for _, _, m in messages(stream)] == ["yes", "yes too"]


def test_per_module_level_makes_one_module_louder() -> None:
    stream = io.StringIO()
    setup_json(stream, level="INFO", levels={"hub.store": "DEBUG"})
    store, sqlite, bus = Module("hub.store"), Module("hub.store.sqlite"), Module("hub.bus")

    store.loguru_log("DEBUG", "store debug")
    sqlite.loguru_log("DEBUG", "sqlite debug")
    store.stdlib_log("DEBUG", "store stdlib debug")
    bus.loguru_log("DEBUG", "bus debug")
    bus.stdlib_log("DEBUG", "bus stdlib debug")
    logger.debug("test debug")
    logging.getLogger("hub.store").debug("named hub.store but called from the test")
    bus.loguru_log("INFO", "bus info")
    store.loguru_log("TRACE", "store trace")

    assert messages(stream) == [
        ("DEBUG", "hub.store", "store debug"),
        ("DEBUG", "hub.store.sqlite", "sqlite debug"),
        ("DEBUG", "hub.store", "store stdlib debug"),
        ("INFO", "hub.bus", "bus info"),
    ]


def test_per_module_level_makes_one_module_quieter() -> None:
    stream = io.StringIO()
    setup_json(stream, level="DEBUG", levels={"hub.bus": "ERROR"})
    bus, store = Module("hub.bus"), Module("hub.store")

    bus.loguru_log("WARNING", "bus warning")
    bus.stdlib_log("WARNING", "bus stdlib warning")
    bus.loguru_log("ERROR", "bus error")
    store.loguru_log("DEBUG", "store debug")

    assert messages(stream) == [
        ("ERROR", "hub.bus", "bus error"),
        ("DEBUG", "hub.store", "store debug"),
    ]


def test_chatty_libraries_are_quieted_by_default() -> None:
    stream = io.StringIO()
    setup_json(stream, level="DEBUG")
    scheduler = Module("apscheduler.schedulers.asyncio")
    executor = Module("apscheduler.executors.base")
    aiosqlite = Module("aiosqlite.core")

    scheduler.stdlib_log("INFO", "Added job")
    scheduler.stdlib_log("WARNING", "Run time of job was missed")
    executor.stdlib_log("ERROR", "Job raised an exception")
    aiosqlite.stdlib_log("DEBUG", "executing")
    aiosqlite.stdlib_log("INFO", "aiosqlite info")

    assert messages(stream) == [
        ("WARNING", "apscheduler.schedulers.asyncio", "Run time of job was missed"),
        ("INFO", "aiosqlite.core", "aiosqlite info"),
    ]


def test_library_defaults_never_make_a_library_louder_than_the_global_level() -> None:
    stream = io.StringIO()
    setup_json(stream, level="ERROR")
    scheduler, aiosqlite = Module("apscheduler.scheduler"), Module("aiosqlite.core")

    scheduler.stdlib_log("WARNING", "apscheduler warning")
    aiosqlite.stdlib_log("INFO", "aiosqlite info")
    aiosqlite.stdlib_log("WARNING", "aiosqlite warning")
    scheduler.stdlib_log("ERROR", "apscheduler error")

    assert messages(stream) == [("ERROR", "apscheduler.scheduler", "apscheduler error")]


def test_configured_levels_override_the_library_defaults() -> None:
    stream = io.StringIO()
    setup_json(stream, level="INFO", levels={"apscheduler": "DEBUG"})
    scheduler = Module("apscheduler.scheduler")

    scheduler.stdlib_log("DEBUG", "apscheduler debug")
    Module("apscheduler.executors.base").stdlib_log("ERROR", "executor error")

    assert messages(stream) == [("DEBUG", "apscheduler.scheduler", "apscheduler debug")]


def test_text_format_applies_per_module_levels_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    stream = io.StringIO()
    setup_logging(LoggingConfig(levels={"hub.store": "DEBUG"}), stream=stream)

    Module("hub.store").stdlib_log("DEBUG", "store debug")
    Module("hub.bus").loguru_log("DEBUG", "bus debug")

    assert stream.getvalue() == "DEBUG    hub.store store debug\n"
