"""The header every Aranet advertisement starts with: a flags byte and the firmware version.

Flags bit 5 says whether "Smart Home integrations" are enabled in the Aranet Home app; only
then does the device append its readings. The version follows as patch, minor, major.
"""

from __future__ import annotations

INTEGRATIONS_ENABLED = 0x20


def integrations_enabled(flags: int) -> bool:
    return bool(flags & INTEGRATIONS_ENABLED)


def version(payload: bytes, offset: int) -> str:
    """The firmware version at `offset` (3 bytes: patch, minor, major), or '?' if cut off."""
    if len(payload) < offset + 3:
        return "?"
    return f"v{payload[offset + 2]}.{payload[offset + 1]}.{payload[offset]}"
