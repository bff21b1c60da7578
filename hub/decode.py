"""`hub decode`: advertisement records in, one decoded JSON line out per input line (contract 3).

It never stops on a bad line, so a capture from anyone's sensors can be checked whole.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import orjson

from hub.bindkey import parse_bindkey
from hub.decoding import canonical_measurements, decode_advertisement
from hub.errors import HubError, RecordError
from hub.integrations import DecodeContext, DecodeFailure, IntegrationRegistry
from hub.records import normalise_address, parse_line


def decode_lines(
    lines: Iterable[str],
    registry: IntegrationRegistry,
    keys: Mapping[str, bytes],
    now: float | None = None,
) -> Iterable[dict[str, Any]]:
    """One output object per input line, in order."""
    context = DecodeContext(keys=dict(keys))
    for number, line in enumerate(lines, 1):
        if not line.strip():
            yield {"error": "empty line", "line": number}
            continue
        try:
            adv = parse_line(line, now=time.time() if now is None else now)
        except RecordError as exc:
            yield {"error": str(exc), "line": number}
            continue
        integration, result = decode_advertisement(registry, context, adv)
        if integration is None or result is None:
            yield {"address": adv.address, "integration": None}
        elif isinstance(result, DecodeFailure):
            yield {"address": adv.address, "integration": integration.name, "error": result.reason}
        else:
            out: dict[str, Any] = {
                "address": adv.address,
                "ts": adv.ts,
                "integration": integration.name,
                "model": result.model,
                "format": result.format,
                "measurements": dict(canonical_measurements(result)),
                "rssi": adv.rssi,
            }
            if result.states:
                out["states"] = dict(result.states)
            if result.events:
                out["events"] = list(result.events)
            yield out


def write_lines(objects: Iterable[dict[str, Any]], out: IO[bytes]) -> int:
    """Write JSON lines, flushing each so a pipe sees results as they come; returns the count."""
    count = 0
    for obj in objects:
        out.write(orjson.dumps(obj) + b"\n")
        out.flush()
        count += 1
    return count


def read_keys_file(path: Path) -> dict[str, bytes]:
    """`{"AA:BB:CC:DD:EE:FF": "<bindkey hex>"}`; raises HubError naming the file and entry."""
    try:
        raw = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise HubError(f"{path}: cannot read: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise HubError(f"{path}: not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise HubError(f"{path}: must be a JSON object of address -> bindkey hex")
    keys: dict[str, bytes] = {}
    for address, key in raw.items():
        try:
            normal = normalise_address(address)
        except RecordError as exc:
            raise HubError(f"{path}: {exc}") from None
        try:
            value = parse_bindkey(str(key))
        except ValueError as exc:
            raise HubError(f"{path}: {address}: {exc}") from None
        keys[normal] = value
    return keys
