"""Connects, subscribes to the temperature-humidity characteristic, takes one notification.

The stock firmware notifies every few seconds once subscribed; the ble source bounds the
whole connection with its own timeout, so a device that never notifies cannot hang here.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from bleak.exc import BleakError

from integrations.lywsd03mmc_gatt.decoder import CHARACTERISTIC_UUID

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.characteristic import BleakGATTCharacteristic


class Lywsd03mmcPoller:
    """The GATT poller of the stock-firmware LYWSD03MMC."""

    characteristic = CHARACTERISTIC_UUID

    async def read(self, client: BleakClient) -> dict[str, bytes]:
        got: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        def on_notification(_char: BleakGATTCharacteristic, data: bytearray) -> None:
            if not got.done():
                got.set_result(bytes(data))

        await client.start_notify(CHARACTERISTIC_UUID, on_notification)
        try:
            value = await got
        finally:
            # The connection is about to close anyway; a failed unsubscribe changes nothing.
            with contextlib.suppress(BleakError):
                await client.stop_notify(CHARACTERISTIC_UUID)
        return {CHARACTERISTIC_UUID: value}
