"""hub: BLE environmental sensors turned into trustworthy data."""

__version__ = "0.1.0"
