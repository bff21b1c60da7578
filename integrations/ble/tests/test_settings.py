"""Config errors in a ble source name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hub.config.loader import load_config
from hub.errors import ConfigError
from integrations.ble.settings import BleSettings


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "hub.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    return [str(p) for p in caught.value.problems]


def test_defaults_scan_hci0_actively_and_continuously() -> None:
    settings = BleSettings.model_validate({})
    assert settings.adapters == ("hci0",)
    assert (settings.mode, settings.scanning) == ("active", "continuous")
    assert settings.gatt.devices == []
    assert settings.watchdog.enabled


def test_a_gatt_device_gets_the_lywsd03mmc_poller_and_ten_minutes(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(
        "sources:\n  ble:\n    gatt:\n      devices:\n        - address: a4-c1-38-00-00-01\n"
    )
    (device,) = load_config(path, environ={}).sources["ble"].gatt.devices  # type: ignore[attr-defined]
    assert (device.address, device.poller, device.interval) == (
        "A4:C1:38:00:00:01",
        "lywsd03mmc_gatt",
        600.0,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("    adapters: [bt0]\n", "sources.ble.adapters: adapter 'bt0' is not a BlueZ adapter"),
        ("    mode: quiet\n", "sources.ble.mode: Input should be 'active' or 'passive'"),
        (
            "    scanning: windowed\n    window: {duration: 2m, interval: 1m}\n",
            "sources.ble.window: duration must be shorter than interval",
        ),
        (
            "    gatt:\n      devices:\n        - {address: A4:C1:38:00:00:01, poller: ruuvi}\n",
            "sources.ble.gatt.devices[0].poller: no GATT poller 'ruuvi'",
        ),
        (
            "    gatt:\n      devices:\n        - {address: A4:C1:38:00:00:01, adapter: hci1}\n",
            "sources.ble: gatt device A4:C1:38:00:00:01: adapter 'hci1' is not one of adapters",
        ),
        ("    watchdog: {min_silence: 1h, max_silence: 9m}\n", "sources.ble.watchdog: min_silence"),
        ("    adapter: hci0\n", "sources.ble.adapter: unknown key (did you mean 'adapters'?)"),
    ],
)
def test_bad_settings_name_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(tmp_path, "sources:\n  ble:\n" + text)
    assert len(found) == 1, found
    assert found[0].startswith(f"{tmp_path / 'hub.yaml'}: {expected}"), found


def test_the_commented_example_in_the_shipped_config_is_valid() -> None:
    text = (Path(__file__).resolve().parents[3] / "config" / "hub.yaml").read_text()
    block = text[text.index("#  ble:\n") :].splitlines()
    # The block ends at the first line that is not a comment (other sections follow).
    end = next((i for i, line in enumerate(block) if not line.startswith("#")), len(block))
    lines = [line[1:] for line in block[:end]]
    example = yaml.safe_load("\n".join(lines))["ble"]
    settings = BleSettings.model_validate(example)
    assert (
        settings.model_dump()
        == BleSettings.model_validate(
            {"gatt": {"devices": [{"address": "A4:C1:38:12:34:56"}]}}
        ).model_dump()
    ), "the example shows the defaults"
