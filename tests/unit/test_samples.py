"""Every integration's samples.jsonl: contract-1 records of valid advertisements that its own
decoder reads, in process and through `hub decode --keys samples.keys.json`.

The samples are what scripts/bench/decode.py times, so a sample that another integration
claims, or that decodes to a failure, would make the bench time the wrong thing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hub.decode import read_keys_file
from hub.decoding import canonical_measurements, decode_advertisement
from hub.integrations import DecodeContext, Decoded, IntegrationRegistry
from hub.records import parse_line

ROOT = Path(__file__).resolve().parents[2]
INTEGRATIONS = ROOT / "integrations"
ADDRESS = re.compile(r"[0-9A-F]{2}(:[0-9A-F]{2}){5}")
UUID128 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HEX = re.compile(r"(?:[0-9a-f]{2})+")

REGISTRY = IntegrationRegistry.discover()
DECODERS = sorted(REGISTRY.decoders)


def samples_of(name: str) -> tuple[Path, list[str], Path | None]:
    folder = INTEGRATIONS / name
    path = folder / "samples.jsonl"
    if not path.exists():
        pytest.fail(
            f"integrations/{name}/samples.jsonl is missing: every decoder ships 5-20 valid "
            "advertisements from its tests' vectors (scripts/bench/decode.py times them)"
        )
    lines = path.read_text().splitlines()
    keys = folder / "samples.keys.json"
    return path, lines, keys if keys.exists() else None


def test_the_decoders_are_found() -> None:
    assert not REGISTRY.problems
    assert {"ruuvi", "bthome", "xiaomi", "govee", "switchbot"} <= set(DECODERS)


@pytest.mark.parametrize("name", DECODERS)
def test_samples_are_contract_1_records(name: str) -> None:
    path, lines, keys_path = samples_of(name)
    assert 5 <= len(lines) <= 20, f"{path}: {len(lines)} samples, want 5-20"
    for number, line in enumerate(lines, 1):
        where = f"{path.name}:{number}"
        record = json.loads(line)
        assert isinstance(record.get("ts"), float | int), where
        assert ADDRESS.fullmatch(record["address"]), where
        assert isinstance(record.get("rssi"), int), where
        assert record.get("manufacturer_data") or record.get("service_data"), where
        for company, payload in record.get("manufacturer_data", {}).items():
            assert company.isdigit(), where
            assert 0 <= int(company) <= 0xFFFF, where
            assert HEX.fullmatch(payload), where
        for uuid, payload in record.get("service_data", {}).items():
            assert UUID128.fullmatch(uuid), f"{where}: {uuid} is not a full lower-case UUID"
            assert HEX.fullmatch(payload), where
    if keys_path is not None:
        keys = read_keys_file(keys_path)  # contract 3's --keys format
        addresses = {json.loads(line)["address"] for line in lines}
        assert set(keys) <= addresses, f"{keys_path.name} holds keys of no sample"


@pytest.mark.parametrize("name", DECODERS)
def test_every_sample_decodes_by_its_own_integration(name: str) -> None:
    path, lines, keys_path = samples_of(name)
    context = DecodeContext(keys=read_keys_file(keys_path) if keys_path else {})
    for number, line in enumerate(lines, 1):
        integration, result = decode_advertisement(REGISTRY, context, parse_line(line))
        where = f"{path.name}:{number} {line}"
        assert integration is not None, f"{where}: no integration claims it"
        assert integration.name == name, f"{where}: decoded by {integration.name}"
        assert isinstance(result, Decoded), f"{where}: {result}"


@pytest.mark.parametrize("name", DECODERS)
def test_hub_decode_prints_one_decoded_line_per_sample(name: str) -> None:
    path, lines, keys_path = samples_of(name)
    keys = ["--keys", str(keys_path)] if keys_path else []
    done = subprocess.run(
        [sys.executable, "-m", "hub", "decode", *keys],
        input=path.read_text(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert len(out) == len(lines), done.stdout
    context = DecodeContext(keys=read_keys_file(keys_path) if keys_path else {})
    for number, (line, printed) in enumerate(zip(lines, out, strict=True), 1):
        where = f"{path.name}:{number} -> {printed}"
        decoded = json.loads(printed)
        assert decoded["integration"] == name, where
        assert "error" not in decoded, where
        adv = parse_line(line)
        assert decoded["address"] == adv.address, where
        _, result = decode_advertisement(REGISTRY, context, adv)
        assert isinstance(result, Decoded), where
        assert (decoded["model"], decoded["format"]) == (result.model, result.format), where
        assert decoded["measurements"] == dict(canonical_measurements(result)), where
