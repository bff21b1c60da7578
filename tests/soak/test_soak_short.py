"""The soak run, one simulated hour: a real hub fed by the synthetic world through every
fault of the schedule (scaled into the hour) must pass every line of its report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.mark.skipif(os.geteuid() != 0, reason="the read-only disk fault needs root (loop mount)")
def test_one_simulated_hour_passes_every_line(tmp_path: Path) -> None:
    out = tmp_path / "report"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB")}
    result = subprocess.run(
        [sys.executable, "-m", "soak", "--hours", "1", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = result.stdout[-4000:] + result.stderr[-4000:]
    summary_path = out / "summary.json"
    assert summary_path.exists(), f"no report; output:\n{output}"
    summary = json.loads(summary_path.read_text())
    failed = [
        f"{c['section']}: {c['name']}: {c['figure']}"
        for c in summary["checks"]
        if c["result"] != "PASS"
    ]
    assert failed == [], f"failed lines: {failed}\nexamples: {summary['examples']}"
    assert result.returncode == 0, output
    # Every fault of the schedule happened, and the report shows them and its plots.
    assert len(summary["faults"]) == 9
    assert all(not f["error"] and not f["not_run"] for f in summary["faults"])
    markdown = (out / "summary.md").read_text()
    assert markdown.startswith("# Soak run: PASS")
    for plot in ("rss_cpu.png", "export.png", "throughput.png"):
        assert (out / plot).stat().st_size > 10_000
        assert f"]({plot})" in markdown
