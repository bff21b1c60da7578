"""The hand-built line protocol: what each line says, and that it reads back exactly.

The server is Debian's VictoriaMetrics: it parses escapes as the line protocol reference
says, so names and values are checked by reading them back, not by comparing strings.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import pytest

from hub.exporters.influxdb.config import InfluxConfig
from hub.exporters.influxdb.lineprotocol import (
    LineEncoder,
    escape_key,
    escape_measurement,
    quote_string,
    timestamp,
)
from hub.exporters.influxdb.testing import VictoriaMetrics
from hub.exporters.influxdb.transport import InfluxTransport, parse_retry_after
from hub.store.sqlite import StoredReading

TS = 1_795_155_600.157
NASTY = [
    "plain",
    "with space",
    "a,b",
    "x=y",
    'say "hi"',
    "back\\slash",
    "ends with \\",
    "\\ leading",
    "a\\,b\\ c\\=d",
    "\\\\two",
    "Küche ☃ 温度",
    "mix ,= \\\"' end",
]


@pytest.fixture(scope="module")
def vm() -> Iterator[VictoriaMetrics]:
    server = VictoriaMetrics()
    server.start()
    try:
        yield server
    finally:
        server.close()


def config(**values: Any) -> InfluxConfig:
    return InfluxConfig.model_validate({"bucket": "b", **values})


def stored(i: int = 1, **fields: Any) -> StoredReading:
    return StoredReading(
        id=i,
        ts=TS + i,
        address="AA:BB:CC:DD:EE:FF",
        integration="ruuvi",
        model="RuuviTag",
        name="Kitchen",
        location=None,
        measurements=fields or {"temperature": 21.5},
        rssi=-67,
        sequence=None,
    )


async def send(vm: VictoriaMetrics, settings: InfluxConfig, lines: list[str]) -> None:
    transport = InfluxTransport(settings.model_copy(update={"url": vm.url}))
    await transport.open()
    try:
        await transport.write(lines)
    finally:
        await transport.close()


# -- what a line says ----------------------------------------------------------------------


def test_a_reading_is_one_line_with_sorted_tags_fields_and_the_time() -> None:
    line = LineEncoder(config()).encode(
        stored(temperature=21.5, humidity=45, movement_counter=12, pressure=1003.21)
    )
    assert line == [
        "ble,address=AA:BB:CC:DD:EE:FF,integration=ruuvi,model=RuuviTag,name=Kitchen "
        "temperature=21.5,humidity=45,movement_counter=12i,pressure=1003.21,rssi=-67i "
        "1795155601157"
    ]


def test_counts_are_integers_and_every_other_quantity_a_float_whatever_the_decoder_gave() -> None:
    encoder = LineEncoder(config(rssi=False))
    # A humidity of 45 (an int) and of 45.5 go to the same float field; a whole float in a
    # count is still written as an integer.
    [a] = encoder.encode(stored(humidity=45, tx_power=4.0, measurement_sequence=7))
    [b] = encoder.encode(stored(humidity=45.5, tx_power=4, measurement_sequence=8))
    assert " humidity=45,tx_power=4i,measurement_sequence=7i " in a
    assert " humidity=45.5,tx_power=4i,measurement_sequence=8i " in b


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, None, True, "21.5", [1], {"a": 1}])
def test_nan_infinity_and_non_numbers_are_never_sent(bad: object) -> None:
    encoder = LineEncoder(config(rssi=False))
    [line] = encoder.encode(stored(temperature=21.5, humidity=bad))
    assert line.split(" ")[1] == "temperature=21.5"
    assert encoder.skipped_values == 1
    assert encoder.encode(stored(humidity=bad)) == []


def test_a_fraction_in_a_count_goes_as_a_float_for_the_server_to_refuse() -> None:
    [line] = LineEncoder(config(rssi=False)).encode(stored(movement_counter=1.5))
    assert " movement_counter=1.5 " in line


def test_a_reading_with_nothing_writable_gives_no_line() -> None:
    empty = StoredReading(1, TS, "AA", "bthome", None, None, None, {}, None, None)
    assert LineEncoder(config()).encode(empty) == []


@pytest.mark.parametrize(
    ("precision", "expected"),
    [
        ("s", 1_795_155_600),
        ("ms", 1_795_155_600_157),
        ("us", 1_795_155_600_157_000),
        ("ns", 1_795_155_600_157_000_000),
    ],
)
def test_timestamps_at_the_configured_precision(precision: Any, expected: int) -> None:
    assert timestamp(TS, precision) == expected
    [line] = LineEncoder(config(precision=precision)).encode(stored(i=0))
    assert line.endswith(f" {expected}")


def test_float_values_read_back_as_the_same_float() -> None:
    rng = random.Random(3)
    values = [rng.uniform(-1e6, 1e6) for _ in range(2000)]
    values += [1e-5, 1e20, -0.0, 0.1 + 0.2, 5e-324, 1.7976931348623157e308, 123.0]
    encoder = LineEncoder(config(rssi=False))
    for value in values:
        [line] = encoder.encode(stored(temperature=value))
        text = line.split(" ")[1].removeprefix("temperature=")
        assert float(text) == value
        assert math.copysign(1, float(text)) == math.copysign(1, value)


def test_one_measurement_per_quantity_layout() -> None:
    lines = LineEncoder(config(layout="quantity")).encode(
        stored(temperature=21.5, movement_counter=3)
    )
    tags = ",address=AA:BB:CC:DD:EE:FF,integration=ruuvi,model=RuuviTag,name=Kitchen"
    assert lines == [
        f"temperature{tags} value=21.5 1795155601157",
        f"movement_counter{tags} value=3i 1795155601157",
        f"rssi{tags} value=-67i 1795155601157",
    ]


def test_escapes_follow_the_reference() -> None:
    assert escape_measurement('a b,c=d"e\\') == 'a\\ b\\,c=d"e\\\\'
    assert escape_key('a b,c=d"e\\') == 'a\\ b\\,c\\=d"e\\\\'
    assert escape_key("line\nbreak\ttab") == "line\\ break\\ tab"
    assert quote_string('say "hi" \\ bye') == '"say \\"hi\\" \\\\ bye"'


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Mon, 23 Nov 2026 12:00:30 GMT", now=1_795_435_200.0) == 30.0
    assert parse_retry_after("yesterday") is None
    assert parse_retry_after(None) is None


# -- read back from a real server ----------------------------------------------------------


async def test_names_locations_and_keys_round_trip_exactly(vm: VictoriaMetrics) -> None:
    rng = random.Random(11)
    alphabet = " ,=\"'\\\\#ab1ÄßЖ温☃\U0001f321"
    randoms = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(150)]
    names = [*NASTY, "two\nlines\tand a tab", *(r for r in randoms if r.strip())]
    settings = config(measurement="esc m,1=\\", static_tags={"hub site": "Bad=,name\\"})
    encoder = LineEncoder(settings)
    readings = [
        StoredReading(
            id=i,
            ts=TS + i,
            address=f"AA:BB:CC:DD:{i // 256:02X}:{i % 256:02X}",
            integration="ruuvi",
            model=name,
            name=name,
            location=name[::-1],
            measurements={"temp, =\\x": float(i), "humidity": 40.5},
            rssi=None,
            sequence=None,
        )
        for i, name in enumerate(names)
    ]
    await send(vm, settings, [line for _, line in encoder.encode_rows(*_rows(readings))])
    found = {s["metric"]["address"]: s for s in vm.export('{__name__="esc m,1=\\\\_temp, =\\\\x"}')}
    assert len(found) == len(readings)
    for r in readings:
        labels = found[r.address]["metric"]
        assert r.name is not None
        assert r.location is not None
        # Line protocol cannot carry a line break or a tab: they arrive as spaces.
        name = r.name.replace("\n", " ").replace("\t", " ")
        assert (labels["name"], labels["location"], labels["model"]) == (name, name[::-1], name)
        assert labels["hub site"] == "Bad=,name\\"
        assert found[r.address]["values"] == [r.measurements["temp, =\\x"]]
        assert found[r.address]["timestamps"] == [round(r.ts * 1000)]


def _rows(readings: list[StoredReading]) -> tuple[list[Any], dict[int, Any]]:
    """The rows and sensors the exporter reads, for the path the exporter takes."""
    import orjson

    rows = [(r.id, r.id, r.ts, orjson.dumps(r.measurements).decode(), r.rssi) for r in readings]
    sensors = {r.id: (r.address, r.integration, r.model, r.name, r.location) for r in readings}
    return rows, sensors


async def test_both_layouts_and_precisions_read_back_exactly(vm: VictoriaMetrics) -> None:
    reading = stored(i=5, temperature=-3.25, battery=87, movement_counter=250)
    for precision in ("s", "ms", "us", "ns"):
        settings = config(layout="quantity", precision=precision, static_tags={"p": precision})
        await send(vm, settings, LineEncoder(settings).encode(reading))
    per_reading = config(measurement="layout", precision="ns")
    await send(vm, per_reading, LineEncoder(per_reading).encode(reading))
    ms = round(reading.ts * 1000)
    for precision in ("s", "ms", "us", "ns"):
        [series] = vm.export(f'{{__name__="temperature_value",p="{precision}"}}')
        assert series["values"] == [-3.25]
        assert series["timestamps"] == [ms // 1000 * 1000 if precision == "s" else ms]
    assert vm.export('{__name__="movement_counter_value",p="ms"}')[0]["values"] == [250]
    assert vm.export('{__name__="layout_battery"}')[0]["values"] == [87]
    assert vm.export('{__name__="layout_rssi"}')[0]["values"] == [-67]
