"""Helpers shared by the Xiaomi tests: adverts under the right UUIDs, and a decode call."""

from __future__ import annotations

from collections.abc import Mapping

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, decode
from integrations.xiaomi import INTEGRATION

MIBEACON = 0xFE95
ENVIRONMENTAL_SENSING = 0x181A


def run(
    payload: str | bytes,
    uuid: int,
    address: str = "A4:C1:38:AA:BB:CC",
    keys: Mapping[str, bytes] | None = None,
) -> Decoded | DecodeFailure | None:
    data = bytes.fromhex(payload) if isinstance(payload, str) else payload
    return decode(INTEGRATION, advertisement(address, service_data={uuid: data}), keys)


def reading(
    payload: str | bytes,
    uuid: int,
    address: str = "A4:C1:38:AA:BB:CC",
    keys: Mapping[str, bytes] | None = None,
) -> Decoded:
    result = run(payload, uuid, address, keys)
    assert isinstance(result, Decoded), result
    return result
