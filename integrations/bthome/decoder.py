"""Dispatch a BTHome advertisement by its service-data UUID: v2, v1, or encrypted v1."""

from __future__ import annotations

from collections.abc import Callable

from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure
from hub.records import normalise_uuid
from integrations.bthome import v1, v2

UUID_V2 = normalise_uuid("fcd2")
UUID_V1 = normalise_uuid("181c")
UUID_V1_ENCRYPTED = normalise_uuid("181e")

_Decoder = Callable[[bytes, str, bytes | None], Decoded | DecodeFailure]


# Tried in this order: a device sending both v2 and v1 is read as v2, the current format.
DECODERS: tuple[tuple[str, _Decoder], ...] = (
    (UUID_V2, v2.decode),
    (UUID_V1, v1.decode),
    (UUID_V1_ENCRYPTED, v1.decode_encrypted),
)


def decode(adv: Advertisement, context: DecodeContext) -> Decoded | DecodeFailure | None:
    service_data = adv.service_data
    for uuid, decoder in DECODERS:
        payload = service_data.get(uuid)
        if payload is not None:
            return decoder(payload, adv.address, context.keys.get(adv.address))
    return None
