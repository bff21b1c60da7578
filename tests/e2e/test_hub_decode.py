"""`hub decode` as a user pipes a capture through it (contract 3)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DF5 = "0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F"  # Ruuvi's official valid vector


def run_decode(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", "decode", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )


def test_mixed_lines_give_one_line_each_in_order() -> None:
    lines = [
        json.dumps(
            {
                "ts": 1700000000.5,
                "address": "cb:b8:33:4c:88:4f",
                "rssi": -67,
                "manufacturer_data": {"1177": DF5},
            }
        ),
        json.dumps(
            {"ts": 1.0, "address": "AA:BB:CC:DD:EE:FF", "manufacturer_data": {"1177": "0512"}}
        ),
        "this is not json",
        json.dumps({"ts": 1.0, "address": "11:22:33:44:55:66", "manufacturer_data": {"76": "10"}}),
        json.dumps({"ts": 1.0, "manufacturer_data": {"1177": DF5}}),
        "",
        json.dumps(
            {"ts": 1.0, "address": "AA:BB:CC:DD:EE:FF", "manufacturer_data": {"1177": "xyz"}}
        ),
        json.dumps(
            {"ts": 1700000001.0, "address": "CB:B8:33:4C:88:4F", "manufacturer_data": {"1177": DF5}}
        ),
    ]
    result = run_decode("\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(lines)

    assert out[0] == {
        "address": "CB:B8:33:4C:88:4F",
        "ts": 1700000000.5,
        "integration": "ruuvi",
        "model": "RuuviTag",
        "format": "5",
        "measurements": {
            "temperature": 24.3,
            "humidity": 53.49,
            "pressure": 1000.44,
            "acceleration_x": 0.004,
            "acceleration_y": -0.004,
            "acceleration_z": 1.036,
            "voltage": 2.977,
            "battery": 95,
            "tx_power": 4,
            "movement_counter": 66,
            "measurement_sequence": 205,
            "dew_point": 14.25,
        },
        "rssi": -67,
    }
    assert out[1] == {
        "address": "AA:BB:CC:DD:EE:FF",
        "integration": "ruuvi",
        "error": "format 5 needs 24 bytes, got 2",
    }
    assert out[2]["line"] == 3
    assert out[2]["error"].startswith("invalid JSON")
    assert out[3] == {"address": "11:22:33:44:55:66", "integration": None}
    assert out[4] == {"error": "address missing or not a string", "line": 5}
    assert out[5] == {"error": "empty line", "line": 6}
    assert out[6]["line"] == 7
    assert "not hex" in out[6]["error"]
    # A repeat of the same measurement is decoded again: decode has no memory.
    assert out[7]["measurements"] == out[0]["measurements"]


def test_missing_ts_means_now() -> None:
    line = json.dumps({"address": "CB:B8:33:4C:88:4F", "manufacturer_data": {"1177": DF5}})
    before = __import__("time").time()
    result = run_decode(line + "\n")
    assert result.returncode == 0
    ts = json.loads(result.stdout)["ts"]
    assert before - 1 <= ts <= before + 60


def test_bad_keys_file_is_a_clear_error(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text('{"A4:C1:38:00:00:01": "not-hex"}')
    result = run_decode("", "--keys", str(keys))
    assert result.returncode == 2
    assert f"{keys}: A4:C1:38:00:00:01: bindkey must be hexadecimal" in result.stderr


def test_no_input_no_output() -> None:
    result = run_decode("")
    assert result.returncode == 0
    assert result.stdout == ""


# The worked example of bthome.io/encryption: key, MAC and an encrypted v2 packet that
# carries 25.06 °C and 50.55 %.
BTHOME_KEY = "231d39c1d7cc1ab1aee224cd096db932"
BTHOME_MAC = "54:48:E6:8F:80:A5"
BTHOME_PACKET = "41e445f3c9962b332211006c7c4519"
BTHOME_UUID = "0000fcd2-0000-1000-8000-00805f9b34fb"


def encrypted_line() -> str:
    return json.dumps(
        {"ts": 1.0, "address": BTHOME_MAC, "service_data": {BTHOME_UUID: BTHOME_PACKET}}
    )


def test_encrypted_packets_need_their_key(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({BTHOME_MAC.lower(): BTHOME_KEY}))
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({BTHOME_MAC: "814aac74c4f17b6c1581e1ab87816b99"}))

    with_key = json.loads(run_decode(encrypted_line() + "\n", "--keys", str(keys)).stdout)
    assert with_key["measurements"] == {"temperature": 25.06, "humidity": 50.55, "dew_point": 14.08}
    assert with_key["format"] == "v2-encrypted"

    no_key = json.loads(run_decode(encrypted_line() + "\n").stdout)
    assert no_key == {
        "address": BTHOME_MAC,
        "integration": "bthome",
        "error": "encrypted; no bindkey configured for this device",
    }
    wrong_key = json.loads(run_decode(encrypted_line() + "\n", "--keys", str(wrong)).stdout)
    assert wrong_key["error"] == "decryption failed: wrong bindkey?"


def test_keys_come_from_the_config_devices_too(tmp_path: Path) -> None:
    secret = tmp_path / "bthome.key"
    secret.write_text(BTHOME_KEY + "\n")
    config = tmp_path / "hub.yaml"
    config.write_text(f'devices:\n  "{BTHOME_MAC}":\n    bindkey_file: bthome.key\n')
    result = run_decode(encrypted_line() + "\n", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["measurements"]["temperature"] == 25.06


def test_keys_file_takes_keys_as_people_paste_them(tmp_path: Path) -> None:
    """The same spellings the config's `bindkey:` accepts (spaces, colons, upper case)."""
    keys = tmp_path / "keys.json"
    spaced = " ".join(BTHOME_KEY.upper()[i : i + 2] for i in range(0, len(BTHOME_KEY), 2))
    keys.write_text(f'{{"{BTHOME_MAC}": "{spaced}"}}')
    line = (
        f'{{"address": "{BTHOME_MAC}", "service_data": {{"{BTHOME_UUID}": "{BTHOME_PACKET}"}}}}\n'
    )
    result = run_decode(line, "--keys", str(keys))
    assert result.returncode == 0, result.stderr
    assert '"temperature":25.06' in result.stdout.replace(" ", "")
