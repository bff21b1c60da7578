"""Encryption keys ("bindkeys") of BLE sensors, as people paste them."""

from __future__ import annotations

# 16 bytes for AES-CCM (BTHome, MiBeacon v4/v5, pvvx/ATC encrypted); 12 for MiBeacon v2/v3.
KEY_LENGTHS = (12, 16)


def parse_bindkey(text: str) -> bytes:
    """The key's bytes from hex, allowing spaces, colons and either case.

    Raises ValueError with a message fit for the user (it never repeats the key).
    """
    cleaned = text.strip().replace(" ", "").replace(":", "")
    try:
        key = bytes.fromhex(cleaned)
    except ValueError:
        raise ValueError("bindkey must be hexadecimal") from None
    if len(key) not in KEY_LENGTHS:
        raise ValueError(
            "bindkey must be 32 hex characters (16 bytes), or 24 for old MiBeacon; "
            f"got {len(cleaned)} characters"
        )
    return key
