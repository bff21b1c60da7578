"""Little-endian integer unpackers by (size, signed), precompiled once.

`struct` has no 3-byte code; those values (pressure, illuminance, energy, ...) fall back to
`int.from_bytes`, so a size missing here means "use int.from_bytes".
"""

from __future__ import annotations

import struct
from collections.abc import Callable

Unpack = Callable[[bytes, int], tuple[int, ...]]

UNPACKERS: dict[tuple[int, bool], Unpack] = {
    (size, signed): struct.Struct("<" + (code.lower() if signed else code)).unpack_from
    for size, code in ((1, "B"), (2, "H"), (4, "I"))
    for signed in (False, True)
}


def read_int(data: bytes, offset: int, size: int, signed: bool) -> int:
    """The integer of `size` bytes at `offset` (any size; used off the hot path)."""
    unpack = UNPACKERS.get((size, signed))
    if unpack is not None:
        return unpack(data, offset)[0]
    return int.from_bytes(data[offset : offset + size], "little", signed=signed)
