"""Helpers for tests that run a real `hub run` on the demo's RuuviTag capture."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hub.derive import dew_point
from hub.integrations import DecodeContext, Decoded
from hub.records import parse_line
from integrations.ruuvi import INTEGRATION as RUUVI


@dataclass(frozen=True, slots=True)
class CapturedMeasurement:
    """One distinct measurement of a capture, where it first appears."""

    ts: float
    line: int  # 0-based line number
    values: dict[str, float | int]


def capture_measurements(capture: Path) -> dict[tuple[str, int], CapturedMeasurement]:
    """Every distinct measurement of a RuuviTag capture, (address, sequence) -> what the hub
    must store (dew point included), in the order each first appears."""
    assert RUUVI.decode is not None
    found: dict[tuple[str, int], CapturedMeasurement] = {}
    for number, line in enumerate(capture.read_text().splitlines()):
        adv = parse_line(line)
        decoded = RUUVI.decode(adv, DecodeContext())
        if not isinstance(decoded, Decoded):
            continue
        assert decoded.sequence is not None
        key = (adv.address, decoded.sequence)
        if key not in found:
            values = dict(decoded.measurements)
            point = dew_point(values["temperature"], values["humidity"])
            if point is not None:
                values["dew_point"] = point
            found[key] = CapturedMeasurement(adv.ts, number, values)
    return found


def start_hub(
    config: Path, log: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`hub run --config CONFIG` as a subprocess in the config's folder, output to `log`.

    The caller's `HUB__*` overrides are left out so the test's config is what runs.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
    environment.update(env or {})
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hub", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=config.parent,
        )
