"""Sensor names, locations and flags: the config wins at start, `hub sensors` edits the rest."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from hub.cli import main
from hub.clock import ManualClock
from hub.config.models import DeviceConfig, StoreConfig
from hub.events import Reading
from hub.store import SqliteStore

A, B = "C8:25:2D:8E:AB:4C", "F7:6B:13:E0:51:A8"


def reading(address: str, ts: float, name: str = "Ruuvi") -> Reading:
    return Reading(
        ts=ts, address=address, integration="ruuvi", measurements={"temperature": 1.0}, name=name
    )


async def make_db(path: Path, devices: dict[str, DeviceConfig] | None = None) -> None:
    store = SqliteStore(StoreConfig(path=path, min_interval=0), ManualClock(), devices)
    await store.open()
    await store.add(reading(A, 1000.0, "Ruuvi AB4C"))
    await store.add(reading(B, 1001.0, "Ruuvi 51A8"))
    await store.close()


def sensors(path: Path) -> dict[str, tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT address, name, location, notes, disabled FROM sensors")
        return {row[0]: row[1:] for row in rows}


async def test_config_metadata_is_applied_to_new_and_known_sensors(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    await make_db(path, {A: DeviceConfig(name="Freezer", location="garage", disabled=True)})
    assert sensors(path)[A] == ("Freezer", "garage", None, 1)

    # Edited by hand, then the config (now also naming B "Freezer") wins at the next start.
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE sensors SET name = 'Cold', location = 'cellar', notes = 'n' WHERE address = ?",
            (A,),
        )
    devices = {B: DeviceConfig(name="Freezer"), A: DeviceConfig(location="garage")}
    store = SqliteStore(StoreConfig(path=path), ManualClock(), devices)
    await store.open()
    await store.close()
    found = sensors(path)
    assert found[B][0] == "Freezer"
    assert found[A] == ("Cold", "garage", "n", 1), "keys the config leaves out stay as edited"


@pytest.fixture
def hub_config(tmp_path: Path) -> Path:
    config = tmp_path / "hub.yaml"
    config.write_text(json.dumps({"store": {"path": "hub.db"}, "devices": {B: {"name": "Fridge"}}}))
    return config


async def test_sensors_commands_edit_the_database(
    hub_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hub.db"
    await make_db(path)
    cfg = ["sensors", "--config", str(hub_config)]

    assert main([*cfg, "rename", A.lower(), "Kitchen"]) == 0
    assert (
        main([*cfg, "set", "Kitchen", "--location", "ground floor", "--notes", "by the oven"]) == 0
    )
    assert main([*cfg, "disable", "Kitchen"]) == 0
    assert sensors(path)[A] == ("Kitchen", "ground floor", "by the oven", 1)
    assert main([*cfg, "enable", A]) == 0
    assert sensors(path)[A][3] == 0

    capsys.readouterr()
    assert main([*cfg, "rename", B, "Kitchen"]) == 1
    assert "the name 'Kitchen' is already used by C8:25:2D:8E:AB:4C" in capsys.readouterr().err

    assert main([*cfg, "rename", B, "Cooler"]) == 0
    err = capsys.readouterr().err
    assert f"the config sets name of {B} to 'Fridge'" in err

    assert main([*cfg, "disable", "nobody"]) == 1
    assert "no sensor 'nobody'" in capsys.readouterr().err

    assert main([*cfg, "list", "--format", "json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [s["name"] for s in listed] == ["Cooler", "Kitchen"]
    assert listed[1]["location"] == "ground floor"
    assert listed[1]["disabled"] is False

    assert main([*cfg, "list"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == [
        "ADDRESS", "NAME", "INTEGRATION", "MODEL", "LOCATION", "LAST", "SEEN", "STATE"
    ]  # fmt: skip
    assert "Kitchen" in table
