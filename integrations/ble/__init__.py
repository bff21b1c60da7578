"""BLE: advertisements from bleak on BlueZ, with a watchdog, scan windows and GATT polls."""

from hub.integrations import Integration
from integrations.ble.settings import BleSettings
from integrations.ble.source import BleSource

INTEGRATION = Integration(
    name="ble",
    kind="source",
    description="Bluetooth LE advertisements heard by the adapters of this machine (BlueZ)",
    settings=BleSettings,
    create_source=BleSource.create,
)
