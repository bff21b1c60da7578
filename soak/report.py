"""The soak's report: `summary.md` (every check with PASS or FAIL, the fault schedule, the
allowed gaps), `summary.json` (the same, for machines) and three plots (matplotlib, Agg):
`rss_cpu.png`, `export.png` and `throughput.png`, with the faults shaded."""

from __future__ import annotations

import json
import os
import platform
import shlex
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from soak.ledger import Ledger
from soak.verify import Verification

# Faults drawn as spans, and as lines, on every plot.
_SPANS = {"influxdb_down": "#f4a582", "read_only": "#92c5de", "clock_step": "#c2a5cf"}
_LINES = {"hub_kill": "#b2182b", "mqtt_restart": "#2166ac", "malformed": "#4d9221"}
_DPI = 80


@dataclass(frozen=True, slots=True)
class Report:
    """What the command prints at the end."""

    table: str
    passed: bool


def machine() -> dict[str, Any]:
    """What ran it: enough to compare figures between runs."""
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = 0
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            memory = int(info.readline().split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_mib": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def _utc(ts: float | None) -> str:
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def _offset(ts: float | None, start: float) -> str:
    if ts is None:
        return "-"
    seconds = round(ts - start)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def write_report(
    out: Path,
    result: Any,
    verification: Verification,
    world: Any,
    ledger: Ledger,
    argv: Sequence[str] | None,
) -> Report:
    """Write summary.md, summary.json and the plots into `out`; returns the table."""
    out.mkdir(parents=True, exist_ok=True)
    plan = result.plan
    command = "scripts/soak " + " ".join(shlex.quote(a) for a in (argv or []))
    passed = verification.passed
    real_s = result.ended_real - result.started_real
    info = machine()
    faults = [a.to_json() for a in result.applied]
    summary = {
        "passed": passed,
        "command": command.strip(),
        "plan": {
            "hours": plan.hours,
            "sensors": plan.sensors,
            "speed": plan.speed,
            "seed": plan.seed,
            "allowance_s": plan.allowance_s,
        },
        "machine": info,
        "simulated": {"start": result.start_sim, "end": result.end_sim},
        "real_s": real_s,
        "checks": [c.to_json() for c in verification.checks],
        "faults": faults,
        "gaps": [g.to_json() for g in verification.gaps],
        "figures": verification.figures,
        "examples": verification.examples,
        "lives": result.lives,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    plots = write_plots(out, result, verification, ledger)
    markdown = _markdown(summary, result, verification, plots)
    (out / "summary.md").write_text(markdown, encoding="utf-8")
    return Report(_table(verification), passed)


def _table(verification: Verification) -> str:
    rows = [("", "check", "figure", "limit")]
    for c in verification.checks:
        rows.append(("PASS" if c.ok else "FAIL", f"{c.section}: {c.name}", c.figure, c.limit))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    widths[2] = min(widths[2], 60)
    lines = [
        "  ".join(cell[: widths[i]].ljust(widths[i]) for i, cell in enumerate(row)) for row in rows
    ]
    verdict = "PASS: every line passed" if verification.passed else "FAIL: see the lines above"
    return "\n".join([*lines, "", verdict])


def _markdown(
    summary: dict[str, Any], result: Any, verification: Verification, plots: list[str]
) -> str:
    plan = result.plan
    info = summary["machine"]
    verdict = "PASS" if summary["passed"] else "FAIL"
    failed = sum(1 for c in verification.checks if not c.ok)
    lines = [
        f"# Soak run: {verdict}",
        "",
        f"`{summary['command']}`: {plan.sensors} simulated sensors, {plan.hours:g} simulated "
        f"hours at {plan.speed:g}x (seed {plan.seed}).",
        "",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['memory_mib']:,} MiB, "
        f"Linux {info['kernel']}, Python {info['python']}",
        f"- Real time: {summary['real_s'] / 60:.1f} min (run, drain, verification); "
        f"simulated: {_utc(result.start_sim)} to {_utc(result.end_sim)} UTC",
        f"- Result: {len(verification.checks) - failed} of {len(verification.checks)} lines "
        "passed" + (f", **{failed} failed**" if failed else ""),
        "",
        "## Checks",
        "",
        "| | check | figure | limit |",
        "|---|---|---|---|",
    ]
    section = ""
    for c in verification.checks:
        if c.section != section:
            section = c.section
            lines.append(f"| | **{section}** | | |")
        mark = "PASS" if c.ok else "**FAIL**"
        detail = f" ({c.detail})" if c.detail else ""
        lines.append(f"| {mark} | {c.name} | {c.figure}{detail} | {c.limit} |")
    lines += [
        "",
        "How to read it: the ledger is every emission the generator made, with the simulated "
        "time just before and after it was written to the hub; a stored reading must match "
        "one of them with equal values and a timestamp inside that window "
        f"(+{plan.allowance_s:.0f} simulated s allowance); see soak/README.md.",
        "",
        "## Fault schedule",
        "",
        "| planned | simulated time (from start) | fault | note |",
        "|---|---|---|---|",
    ]
    for applied in summary["faults"]:
        planned = f"{applied['planned_start']:.2f}"
        if applied["planned_end"] is not None:
            planned += f"-{applied['planned_end']:.2f}"
        when = _offset(applied["start_sim"], result.start_sim)
        if applied["end_sim"] is not None and applied["end_sim"] != applied["start_sim"]:
            when += f" to {_offset(applied['end_sim'], result.start_sim)}"
        if applied["ready_sim"] is not None:
            when += f" (listening again {_offset(applied['ready_sim'], result.start_sim)})"
        note = applied["not_run"] and f"NOT RUN: {applied['not_run']}"
        note = note or applied["error"] or applied["note"]
        lines.append(f"| {planned} | {when} | {applied['title']} | {note} |")
    lines += ["", "## Readings lost at the kills (allowed)", ""]
    gaps = verification.gaps
    if not gaps:
        lines.append("None: every reading delivered before a kill had been committed.")
    else:
        by_kill: dict[int, list[Any]] = defaultdict(list)
        for gap in gaps:
            by_kill[gap.kill].append(gap)
        lines += [
            "Readings delivered in the last moments before a `kill -9` that were not yet "
            "committed (the uncommitted batch and each sensor's reading held by the storage "
            f"interval); allowed within {verification.figures.get('kill_reach_s', 0):.0f} "
            "simulated s before the kill.",
            "",
            "| kill | sensors | buckets lost | readings | earliest before the kill (s) |",
            "|---|---|---|---|---|",
        ]
        kills = [a for a in result.applied if a.fault.kind == "hub_kill"]
        for kill, items in sorted(by_kill.items()):
            at = kills[kill - 1].start_sim if kill - 1 < len(kills) else None
            earliest = min(g.first_sim for g in items)
            span = f"{at - earliest:.0f}" if at is not None else "-"
            lines.append(
                f"| {kill} | {len(items)} | {sum(g.buckets for g in items)} | "
                f"{sum(g.deliveries for g in items)} | {span} |"
            )
        lines.append("")
        lines.append("Every gap (sensor, kill, buckets, simulated time before the kill):")
        lines.append("")
        for gap in sorted(gaps, key=lambda g: (g.kill, g.address)):
            at = kills[gap.kill - 1].start_sim if gap.kill - 1 < len(kills) else gap.last_sim
            lines.append(
                f"- {gap.address} at kill {gap.kill}: {gap.buckets} bucket(s), "
                f"{gap.deliveries} reading(s), {at - gap.last_sim:.0f}-{at - gap.first_sim:.0f} s "
                "before it"
            )
    examples = {k: v for k, v in verification.examples.items() if v}
    if examples:
        lines += ["", "## Examples of findings", ""]
        for kind, texts in sorted(examples.items()):
            lines.append(f"- {kind}:")
            lines += [f"  - {text}" for text in texts]
    if plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{name}]({name})" for name in plots]
    return "\n".join(lines) + "\n"


# -- plots -------------------------------------------------------------------------------------


def _shade(ax: Any, result: Any, hours: Any) -> None:
    start = result.start_sim
    for applied in result.applied:
        kind = applied.fault.kind
        if applied.start_sim is None:
            continue
        a = hours(applied.start_sim)
        if kind in _SPANS:
            b = hours(applied.end_sim if applied.end_sim is not None else applied.start_sim)
            ax.axvspan(a, max(b, a + 0.02), color=_SPANS[kind], alpha=0.35, lw=0)
        elif kind in _LINES:
            ax.axvline(a, color=_LINES[kind], lw=1, ls="--")
    ax.set_xlim(0, (result.end_sim - start) / 3600)


def _legend_handles() -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    names = {
        "influxdb_down": "InfluxDB down",
        "read_only": "DB read-only",
        "clock_step": "clock stepped",
        "hub_kill": "kill -9",
        "mqtt_restart": "MQTT restart",
        "malformed": "malformed burst",
    }
    handles: list[Any] = [Patch(color=c, alpha=0.35, label=names[k]) for k, c in _SPANS.items()]
    handles += [Line2D([], [], color=c, ls="--", label=names[k]) for k, c in _LINES.items()]
    return handles


def write_plots(out: Path, result: Any, verification: Verification, ledger: Ledger) -> list[str]:
    """The three PNGs; returns their names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = result.start_sim

    def hours(ts: Any) -> Any:
        return (np.asarray(ts, dtype=np.float64) - start) / 3600.0

    samples = [s for s in result.samples if s.get("life")]
    names = []

    # RSS and CPU
    fig, ax = plt.subplots(figsize=(10, 3.6))
    ax2 = ax.twinx()
    for life in sorted({s["life"] for s in samples}):
        mine = [s for s in samples if s["life"] == life and s.get("rss_kib")]
        if not mine:
            continue
        t = hours([s["sim"] for s in mine])
        ax.plot(t, [s["rss_kib"] / 1024 for s in mine], color="#333333", lw=1)
        cpu = [s["cpu_s"] or 0.0 for s in mine]
        real = [s["real"] for s in mine]
        if len(mine) > 1:
            pct = 100 * np.diff(cpu) / np.maximum(1e-9, np.diff(real))
            ax2.plot(t[1:], pct, color="#e08214", lw=0.6, alpha=0.8)
    ax.set_ylabel("hub RSS (MiB, black)")
    ax2.set_ylabel("hub CPU (% of one core, orange)")
    ax.set_xlabel("simulated hours")
    ax.set_ylim(bottom=0)
    ax2.set_ylim(bottom=0)
    _shade(ax, result, hours)
    ax.legend(handles=_legend_handles(), loc="lower right", fontsize=7, ncol=3)
    ax.set_title("Hub memory and CPU through the faults")
    fig.tight_layout()
    fig.savefig(out / "rss_cpu.png", dpi=_DPI)
    plt.close(fig)
    names.append("rss_cpu.png")

    # Export backlog and MQTT
    fig, ax = plt.subplots(figsize=(10, 3.6))
    ax2 = ax.twinx()
    backlog = [(s["sim"], s["backlog"]) for s in samples if s.get("backlog") is not None]
    if backlog:
        ax.plot(hours([t for t, _ in backlog]), [b for _, b in backlog], color="#b35806", lw=1)
    reconnects: list[tuple[float, int]] = []
    total = 0
    last_by_life: dict[int, int] = {}
    for s in samples:
        c = s.get("mqtt_connects")
        if isinstance(c, int):
            before = last_by_life.get(s["life"], 1)
            total += max(0, c - before)
            last_by_life[s["life"]] = max(before, c)
            reconnects.append((s["sim"], total))
    if reconnects:
        ax2.step(
            hours([t for t, _ in reconnects]),
            [n for _, n in reconnects],
            color="#542788",
            lw=1,
            where="post",
        )
    connected = [
        (s["sim"], s["mqtt_connected"]) for s in samples if s.get("mqtt_connected") is False
    ]
    if connected:
        ax2.plot(hours([t for t, _ in connected]), [0] * len(connected), "x", color="#d73027", ms=3)
    ax.set_ylabel("InfluxDB backlog (readings, brown)")
    ax2.set_ylabel("MQTT reconnects (purple; x: disconnected)")
    ax.set_xlabel("simulated hours")
    ax.set_ylim(bottom=0)
    ax2.set_ylim(bottom=0)
    _shade(ax, result, hours)
    ax.legend(handles=_legend_handles(), loc="upper left", fontsize=7, ncol=3)
    ax.set_title("Export backlog and MQTT reconnects across the faults")
    fig.tight_layout()
    fig.savefig(out / "export.png", dpi=_DPI)
    plt.close(fig)
    names.append("export.png")

    # Throughput per simulated minute
    frozen = ledger.freeze()
    edges = np.arange(start, result.end_sim + 60.0, 60.0)
    copies = np.zeros(len(frozen))
    for r in range(ledger.receivers):
        copies += (frozen.delivered >> r) & 1
    sent, _ = np.histogram(frozen.before, bins=edges, weights=copies)
    stored_ts = verification.series.get("stored_ts", np.zeros(0))
    stored, _ = np.histogram(stored_ts, bins=edges)
    fig, ax = plt.subplots(figsize=(10, 3.6))
    mid = hours(edges[:-1] + 30.0)
    ax.plot(mid, sent, color="#2166ac", lw=0.7, label="advertisements delivered")
    ax.plot(mid, stored, color="#1b7837", lw=0.7, label="readings stored")
    ax.set_yscale("symlog")
    ax.set_ylabel("per simulated minute")
    ax.set_xlabel("simulated hours")
    _shade(ax, result, hours)
    ax.legend(loc="lower right", fontsize=7)
    ax.set_title("Advertisements and stored readings per simulated minute")
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=_DPI)
    plt.close(fig)
    names.append("throughput.png")
    return names
