"""AES-CCM as the encrypted Xiaomi formats use it, and the failures they share.

Every scheme here uses AES-128-CCM with the single byte 0x11 as associated data; they
differ in the nonce (built by the callers) and in the tag. Ciphers are cached per key:
building one costs far more than a decryption, and the hub sees the same few keys again
and again.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from hub.integrations import DecodeFailure

ASSOCIATED_DATA = b"\x11"
KEY_LENGTH = 16

NO_KEY = DecodeFailure("encrypted; no bindkey configured for this device")
WRONG_KEY = DecodeFailure("decryption failed: wrong bindkey?")
NOT_A_MAC = DecodeFailure("encrypted; cannot decrypt without the device's MAC address")

# MiBeacon v2/v3 bindkeys are 12 bytes; the AES key is those bytes with these 4 in the
# middle (the scheme of the v2/v3 "legacy" MiBeacon encryption).
_LEGACY_KEY_MIDDLE = bytes.fromhex("8d3d3c97")


def wrong_key_length(key: bytes, wanted: str) -> DecodeFailure:
    return DecodeFailure(f"bindkey has {len(key)} bytes; this format needs {wanted}")


@lru_cache(maxsize=1024)
def _ccm(key: bytes, tag_length: int) -> AESCCM:
    return AESCCM(key, tag_length=tag_length)


@lru_cache(maxsize=4096)
def mac_little_endian(address: str) -> bytes | None:
    """The address's six bytes lowest first, as the devices put their MAC in a nonce.

    None when the address is not a MAC (macOS hands out UUIDs instead), so the caller can
    say why it cannot decrypt.
    """
    if len(address) != 17:
        return None
    try:
        raw = bytes.fromhex(address.replace(":", ""))
    except ValueError:
        return None
    return raw[::-1] if len(raw) == 6 else None


def decrypt(key: bytes, nonce: bytes, ciphertext_and_tag: bytes) -> bytes | None:
    """AES-CCM with a 4-byte tag (MiBeacon v4/v5, pvvx/ATC encrypted); None if it fails."""
    try:
        return _ccm(key, 4).decrypt(nonce, ciphertext_and_tag, ASSOCIATED_DATA)
    except InvalidTag:
        return None


def legacy_key(key: bytes) -> bytes | None:
    """The AES key of a MiBeacon v2/v3 bindkey (12 bytes, or already expanded to 16)."""
    if len(key) == 12:
        return key[:6] + _LEGACY_KEY_MIDDLE + key[6:]
    if len(key) == KEY_LENGTH and key[6:10] == _LEGACY_KEY_MIDDLE:
        return key
    return None


def decrypt_legacy(key: bytes, nonce: bytes, ciphertext: bytes, check: int) -> bytes | None:
    """MiBeacon v2/v3: AES-CCM (13-byte nonce) that carries only the first byte of its tag.

    A library CCM cannot verify a 1-byte tag, so the payload is decrypted as CCM does it
    (CTR mode from counter block 1) and the full 16-byte tag of the result is computed to
    compare its first byte. That byte is all the check there is: a wrong key slips through
    once in 256 frames, and the caller's strict object parsing must catch those.
    """
    counter_block = b"\x01" + nonce + b"\x00\x01"  # flags L-1 = 1, nonce, counter 1
    decryptor = Cipher(algorithms.AES(key), modes.CTR(counter_block)).decryptor()
    plain = decryptor.update(ciphertext) + decryptor.finalize()
    tag = _ccm(key, 16).encrypt(nonce, plain, ASSOCIATED_DATA)[len(plain)]
    return plain if tag == check else None
