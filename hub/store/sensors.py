"""Sensor metadata: what the config says about each sensor, written over the database's.

The config wins at start-up: a name, location, notes or disabled flag given in `devices:`
replaces what `hub sensors` set by hand. Keys the config leaves out are the user's to edit.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiosqlite

from hub.config.models import DeviceConfig

CONFIGURABLE = ("name", "location", "notes", "disabled")


def configured_fields(device: DeviceConfig) -> dict[str, object]:
    """The metadata fields this device's config sets (None means: not set by config)."""
    fields: dict[str, object] = {}
    for key in CONFIGURABLE:
        value = getattr(device, key)
        if value is not None:
            fields[key] = int(value) if key == "disabled" else value
    return fields


async def apply_device_config(
    conn: aiosqlite.Connection, devices: Mapping[str, DeviceConfig]
) -> None:
    """Write the configured metadata over the rows of sensors already known, in one go."""
    for address, device in devices.items():
        fields = configured_fields(device)
        if not fields:
            continue
        name = fields.get("name")
        if name is not None:  # names are unique: the config takes it from any other sensor
            await conn.execute(
                "UPDATE sensors SET name = NULL WHERE name = ? AND address != ?", (name, address)
            )
        assignments = ", ".join(f"{key} = ?" for key in fields)
        await conn.execute(
            f"UPDATE sensors SET {assignments} WHERE address = ?",  # keys are ours, not input
            (*fields.values(), address),
        )
    await conn.commit()
