"""Run the Aranet decoder on one manufacturer-data payload."""

from __future__ import annotations

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, decode
from integrations.aranet import INTEGRATION


def run(payload: bytes, name: str | None = None) -> Decoded | DecodeFailure | None:
    adv = advertisement("AA:BB:CC:DD:EE:FF", manufacturer_data={0x0702: payload}, name=name)
    return decode(INTEGRATION, adv)
