"""AES-CCM decryption of encrypted BTHome packets (https://bthome.io/encryption/).

Both versions append a 4-byte little-endian counter and a 4-byte MIC (the CCM tag) to the
ciphertext, and build the 13/12-byte nonce from the device's MAC address:

- v2: nonce = MAC (6) + UUID 0xFCD2 little-endian (D2 FC) + device info byte + counter (4);
  no associated data.
- v1: nonce = MAC (6) + UUID 0x181E little-endian (1E 18) + counter (4); associated data
  0x11 (the header byte Xiaomi's format uses, kept by BTHome v1).
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from hub.integrations import DecodeFailure

KEY_LENGTH = 16
TAG_LENGTH = 4
_TRAILER = 8  # counter + MIC
V2_UUID_LE = b"\xd2\xfc"
V1_UUID_LE = b"\x1e\x18"
V1_ASSOCIATED_DATA = b"\x11"

NO_KEY = DecodeFailure("encrypted; no bindkey configured for this device")
WRONG_KEY = DecodeFailure("decryption failed: wrong bindkey?")
NOT_A_MAC = DecodeFailure("encrypted; the device address is not a MAC, so no nonce can be built")


@lru_cache(maxsize=1024)
def _cipher(key: bytes) -> AESCCM:
    # Building AESCCM expands the key; a hub sees the same few keys over and over.
    return AESCCM(key, tag_length=TAG_LENGTH)


@lru_cache(maxsize=4096)
def mac_bytes(address: str) -> bytes | None:
    """b'\\xaa\\xbb...' for 'AA:BB:CC:DD:EE:FF'; None for anything else (e.g. a macOS UUID)."""
    try:
        raw = bytes.fromhex(address.replace(":", "").replace("-", ""))
    except ValueError:
        return None
    return raw if len(raw) == 6 else None


def decrypt(
    body: bytes,
    address: str,
    key: bytes | None,
    nonce_middle: bytes,
    associated_data: bytes | None,
) -> tuple[bytes, int] | DecodeFailure:
    """(plaintext, counter) of `body` = ciphertext + counter + MIC, or why not.

    `nonce_middle` goes between the MAC and the counter (UUID, and for v2 the info byte).
    """
    if key is None:
        return NO_KEY
    if len(key) != KEY_LENGTH:
        return DecodeFailure(f"bindkey must be {KEY_LENGTH} bytes, got {len(key)}")
    if len(body) < _TRAILER:
        return DecodeFailure(f"encrypted payload too short ({len(body)} bytes after the header)")
    mac = mac_bytes(address)
    if mac is None:
        return NOT_A_MAC
    counter_bytes = body[-8:-4]
    nonce = mac + nonce_middle + counter_bytes
    try:
        plaintext = _cipher(key).decrypt(nonce, body[:-8] + body[-4:], associated_data)
    except InvalidTag:
        return WRONG_KEY
    return plaintext, int.from_bytes(counter_bytes, "little")
