"""SQLite, the system of record."""

from hub.store.sqlite import SqliteStore, open_store

__all__ = ["SqliteStore", "open_store"]
