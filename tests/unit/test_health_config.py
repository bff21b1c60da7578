"""The `health:` and `http:` sections: off by default, thresholds in order, sizes in words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.config.loader import load_config
from hub.errors import ConfigError
from hub.healthmon.sizes import format_size, parse_size


def load(tmp_path: Path, data: dict[str, object]) -> object:
    path = tmp_path / "hub.yaml"
    path.write_text(json.dumps(data))
    return load_config(path)


def test_both_sections_are_off_unless_configured(tmp_path: Path) -> None:
    config = load(tmp_path, {})
    assert config.health.enabled is False  # type: ignore[attr-defined]
    assert config.http.enabled is False  # type: ignore[attr-defined]
    assert config.http.host == "127.0.0.1"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "size"),
    [("500MB", 500_000_000), ("1.5GiB", 1_610_612_736), ("64 KiB", 65536), (1024, 1024)],
)
def test_sizes_are_read_as_people_write_them(text: str | int, size: int) -> None:
    assert parse_size(text) == size
    assert parse_size(format_size(size)) == pytest.approx(size, rel=0.001)


def test_bad_thresholds_name_the_file_and_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(
            tmp_path,
            {
                "health": {
                    "store": {"commit_age_degraded": "10m", "commit_age_failing": "5m"},
                    "bus": {"queue_degraded": 1.5},
                    "sources": {"silence_failing": "soon"},
                }
            },
        )
    problems = [str(p) for p in caught.value.problems]
    hub = tmp_path / "hub.yaml"
    assert f"{hub}: health.store: commit_age_degraded must not be above commit_age_failing" in (
        problems
    )
    assert any(p.startswith(f"{hub}: health.bus.queue_degraded:") for p in problems)
    assert any(p.startswith(f"{hub}: health.sources.silence_failing:") for p in problems)
    with pytest.raises(ConfigError, match=r"health\.store\.disk_free_failing: not a size"):
        load(tmp_path, {"health": {"store": {"disk_free_failing": "lots"}}})
