"""Logging through loguru, for the hub and for every library that logs with `logging`."""

from __future__ import annotations

import json
import logging
import os
import sys
from traceback import format_exception
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from loguru import logger

if TYPE_CHECKING:
    from loguru import Message, Record

    from hub.config.models import LoggingConfig

# Libraries that are chatty at INFO about routine work (APScheduler logs every job run).
# Job failures are logged by hub.scheduler with the job's counters, so APScheduler's own
# executor messages would only repeat them.
DEFAULT_LEVELS = {
    "apscheduler": "WARNING",
    "apscheduler.executors": "CRITICAL",
    "aiosqlite": "INFO",
}
_ORDER = ["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"]

TEXT_FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> <level>{level: <8}</level> "
    "<cyan>{name}</cyan> {message}"
)
# journald stamps every line itself; a second timestamp would only be noise.
JOURNALD_FORMAT = "{level: <8} {name} {message}"


class InterceptHandler(logging.Handler):
    """Hands records of the standard library's logging to loguru, keeping their origin."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        # Find the caller outside the logging module so loguru names the right module.
        frame: FrameType | None = sys._getframe(0)
        depth = 0
        while frame is not None and (depth == 0 or frame.f_code.co_filename == logging.__file__):
            frame = frame.f_back
            depth += 1
        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


def under_journald() -> bool:
    """True when stderr goes to the systemd journal."""
    return "JOURNAL_STREAM" in os.environ


def _json_sink(stream: TextIO) -> Any:
    def sink(message: Message) -> None:
        record: Record = message.record
        line: dict[str, Any] = {
            "ts": record["time"].timestamp(),
            "level": record["level"].name,
            "logger": record["name"],
            "message": record["message"],
        }
        if record["extra"]:
            line["extra"] = {k: str(v) for k, v in record["extra"].items()}
        if record["exception"] is not None:
            line["exception"] = "".join(format_exception(*record["exception"])).rstrip()
        stream.write(json.dumps(line, ensure_ascii=False) + "\n")
        stream.flush()

    return sink


def setup_logging(config: LoggingConfig, stream: TextIO | None = None) -> None:
    """Replace every handler with one loguru sink configured from `config`."""
    stream = stream or sys.stderr
    # The library defaults only ever quiet a library: never below the configured level.
    defaults = {
        name: max(level, config.level, key=_ORDER.index) for name, level in DEFAULT_LEVELS.items()
    }
    levels: dict[str | None, str | int | bool] = {"": config.level}
    levels.update(defaults)
    levels.update(config.levels)
    lowest = min((str(v) for v in levels.values()), key=_ORDER.index)
    logger.remove()
    fmt = config.format
    if fmt == "json":
        logger.add(_json_sink(stream), level=lowest, filter=levels)
    else:
        plain = fmt == "auto" and under_journald()
        logger.add(
            stream,
            level=lowest,
            filter=levels,
            format=JOURNALD_FORMAT if plain else TEXT_FORMAT,
            colorize=None if not plain else False,
            backtrace=False,
            diagnose=False,
        )
    logging.basicConfig(handlers=[InterceptHandler()], level=0, force=True)
