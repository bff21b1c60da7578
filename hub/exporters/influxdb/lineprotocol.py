"""InfluxDB line protocol, built by hand: several times faster than influxdb-client's Point.

    ble,address=AA:BB:CC:DD:EE:FF,name=Living\\ room temperature=21.5,rssi=-67i 1795155600157

Escaping (InfluxDB's line protocol reference, "special characters"):

- measurement: comma, space and backslash;
- tag keys, tag values and field keys: comma, equals sign, space and backslash;
- string field values: double quote and backslash, inside double quotes.

A backslash is written as two: the reference reads `\\\\` as one backslash, and a name that
ends in a lone backslash would otherwise escape the separator after it. Line protocol has
no way to carry a line break or a tab in a name, so those become spaces. Empty tag values
are left out (InfluxDB rejects them). Non-ASCII text is written as it is (UTF-8).

Values: quantities listed as integer fields (counts, dBm) are written as integers (`12i`),
every other quantity as a float, whatever Python type the decoder used, so a field never
changes type between points. NaN, infinities and non-numbers are never written: a field
that has one is left out, and a reading left with no field gives no line.

Speed: the sensor part of a line (measurement and tags) is built once per sensor and
cached, and the field set is cut from orjson's JSON of the measurements (shortest
round-trip floats, written in C) rather than formatted value by value in Python.
`scripts/bench/influx.py` measures it against Point.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from hub.exporters.influxdb.config import InfluxConfig, Precision

if TYPE_CHECKING:
    from hub.exporters.influxdb.outbox import OutboxRow, SensorKey
    from hub.store.sqlite import StoredReading

_BREAKS = {"\n": "\\ ", "\r": "\\ ", "\t": "\\ "}  # an escaped space
_MEASUREMENT = str.maketrans({"\\": "\\\\", ",": "\\,", " ": "\\ ", **_BREAKS})
_KEY = str.maketrans({"\\": "\\\\", ",": "\\,", "=": "\\=", " ": "\\ ", **_BREAKS})
_STRING = str.maketrans({"\\": "\\\\", '"': '\\"'})

# Timestamps are taken to whole microseconds first: a float of seconds since the epoch
# holds microseconds exactly (2**53 µs is about 285 years), and truncating a product such
# as 1795155600.157 * 1000 would give ...156.
_PER_US: dict[str, tuple[int, int]] = {  # precision -> (multiply, then floor-divide)
    "s": (1, 1_000_000),
    "ms": (1, 1_000),
    "us": (1, 1),
    "ns": (1_000, 1),
}
# Sensors whose tag set is cached; beyond it the cache starts again (renames, churn).
_PREFIX_CACHE_MAX = 10_000


def escape_measurement(name: str) -> str:
    return name.translate(_MEASUREMENT)


def escape_key(key: str) -> str:
    """A tag key, tag value or field key."""
    return key.translate(_KEY)


def quote_string(value: str) -> str:
    """A string field value, quoted."""
    return '"' + value.translate(_STRING) + '"'


def timestamp(ts: float, precision: Precision) -> int:
    """`ts` (seconds since the epoch) in whole units of `precision`, rounded down."""
    multiply, divide = _PER_US[precision]
    return round(ts * 1_000_000) * multiply // divide


def float_value(value: object) -> str | None:
    """A float field value, or None when it is not a finite number."""
    if type(value) is float:
        return repr(value) if math.isfinite(value) else None
    if type(value) is int:
        return str(value)  # no `i` suffix: InfluxDB reads it as a float
    return None


def integer_value(value: object) -> str | None:
    """An integer field value (`12i`); a float with a fraction stays a float (and the
    server refuses it if the field is an integer: the line is quarantined, not lost)."""
    if type(value) is int:
        return f"{value}i"
    if type(value) is float and math.isfinite(value):
        return f"{int(value)}i" if value.is_integer() else repr(value)
    return None


def tag_set(tags: Iterable[tuple[str, str | None]]) -> str:
    """`,k=v,...` sorted by key (as InfluxDB stores them), empty values left out."""
    pairs = sorted((k, v) for k, v in tags if v)
    return "".join(f",{escape_key(k)}={escape_key(v)}" for k, v in pairs)


class LineEncoder:
    """Turns stored readings into lines, in the layout the config asks for."""

    def __init__(self, settings: InfluxConfig) -> None:
        self._per_reading = settings.layout == "reading"
        self._measurement = escape_measurement(settings.measurement)
        self._tags = settings.tags
        self._static = tuple(settings.static_tags.items())
        self._rssi = settings.rssi
        self._integers = frozenset(settings.integer_fields)
        self._rssi_integer = "rssi" in self._integers
        self._multiply, self._divide = _PER_US[settings.precision]
        self._prefixes: dict[SensorKey, str] = {}
        self._layouts: dict[tuple[str, ...], _Layout] = {}
        self.skipped_values = 0  # non-finite or non-numeric values left out

    def encode(self, reading: StoredReading) -> list[str]:
        """The lines for one reading (none when it has nothing writable)."""
        key = (reading.address, reading.integration, reading.model, reading.name, reading.location)
        return self._lines(key, reading.ts, reading.measurements, reading.rssi)

    def encode_rows(
        self, rows: Sequence[OutboxRow], sensors: Mapping[int, SensorKey]
    ) -> list[tuple[int, str]]:
        """(reading id, line) for every line of `rows` (as `outbox` reads them), in order."""
        out: list[tuple[int, str]] = []
        append = out.append
        lines = self._lines
        loads = orjson.loads
        for reading_id, sensor_id, ts, text, rssi in rows:
            key = sensors.get(sensor_id)
            try:
                measurements = loads(text)
            except orjson.JSONDecodeError:
                measurements = None
            if key is None or type(measurements) is not dict:  # not what the store writes
                self.skipped_values += 1
                continue
            for line in lines(key, ts, measurements, rssi):
                append((reading_id, line))
        return out

    def encode_all(self, readings: Sequence[StoredReading]) -> list[tuple[int, str]]:
        """(reading id, line) for every line of `readings`, in order."""
        return [(reading.id, line) for reading in readings for line in self.encode(reading)]

    def _lines(
        self,
        key: SensorKey,
        ts: float,
        measurements: Mapping[str, object],
        rssi: int | None,
    ) -> list[str]:
        tags = self._prefixes.get(key)
        if tags is None:
            tags = self._tag_part(key)
        stamp = round(ts * 1_000_000) * self._multiply // self._divide
        with_rssi = self._rssi and rssi is not None and "rssi" not in measurements
        if self._per_reading:
            names = tuple(measurements)
            layout = self._layouts.get(names) or self._layout(names)
            fields = _plain_fields(measurements, layout) if layout.plain else None
            if fields is None:
                fields = self._fields(names, list(measurements.values()), layout)
            if with_rssi:
                if type(rssi) is int and self._rssi_integer:
                    # The usual line, in one go.
                    if fields:
                        return [f"{self._measurement}{tags} {fields},rssi={rssi}i {stamp}"]
                    return [f"{self._measurement}{tags} rssi={rssi}i {stamp}"]
                text = self._value_text("rssi", rssi)
                if text is not None:
                    fields = f"{fields},rssi={text}" if fields else f"rssi={text}"
            return [f"{self._measurement}{tags} {fields} {stamp}"] if fields else []
        names = tuple(measurements)
        values = list(measurements.values())
        if with_rssi:
            names += ("rssi",)
            values.append(rssi)
        layout = self._layouts.get(names) or self._layout(names)
        texts = _fast_texts(values, layout.integer_slots)
        if texts is not None:
            return [
                f"{measurement}{tags} value={text}{suffix} {stamp}"
                for measurement, suffix, text in zip(
                    layout.measurements, layout.suffixes, texts, strict=True
                )
            ]
        return [
            f"{measurement}{tags} value={text} {stamp}"
            for measurement, text in zip(
                layout.measurements, self._slow_texts(names, values), strict=True
            )
            if text is not None
        ]

    def _fields(self, names: tuple[str, ...], values: list[object], layout: _Layout) -> str:
        """The field set, value by value (names that need escaping, or unusual values)."""
        texts = _fast_texts(values, layout.integer_slots)
        if texts is not None:
            return layout.template % tuple(texts)
        return ",".join(
            f"{key}={text}"
            for key, text in zip(layout.keys, self._slow_texts(names, values), strict=True)
            if text is not None
        )

    def _value_text(self, name: str, value: object) -> str | None:
        text = integer_value(value) if name in self._integers else float_value(value)
        if text is None:
            self.skipped_values += 1
        return text

    def _tag_part(self, key: SensorKey) -> str:
        address, integration, model, name, location = key
        known = {
            "address": address,
            "name": name,
            "location": location,
            "integration": integration,
            "model": model,
        }
        part = tag_set([*((t, known[t]) for t in self._tags), *self._static])
        if len(self._prefixes) >= _PREFIX_CACHE_MAX:
            self._prefixes.clear()
        self._prefixes[key] = part
        return part

    def _layout(self, names: tuple[str, ...]) -> _Layout:
        integer = [name in self._integers for name in names]
        keys = tuple(escape_key(name) for name in names)
        suffixes = tuple("i" if i else "" for i in integer)
        plain = all(_PLAIN_NAME.fullmatch(name) for name in names)
        # In a plain field set the key after an integer field marks where its `i` goes.
        fixes = tuple(
            (f",{names[i + 1]}=", f"i,{names[i + 1]}=")
            for i, flag in enumerate(integer[:-1])
            if flag
        )
        layout = _Layout(
            template=",".join(f"{k}=%s{s}" for k, s in zip(keys, suffixes, strict=True)),
            keys=keys,
            measurements=tuple(escape_measurement(name) for name in names),
            suffixes=suffixes,
            integer_slots=tuple(i for i, flag in enumerate(integer) if flag),
            plain=plain,
            integer_names=tuple(n for n, flag in zip(names, integer, strict=True) if flag),
            integer_fixes=fixes,
            integer_last=bool(integer) and integer[-1],
        )
        if len(self._layouts) >= _PREFIX_CACHE_MAX:
            self._layouts.clear()
        self._layouts[names] = layout
        return layout

    def _slow_texts(self, names: tuple[str, ...], values: Sequence[object]) -> list[str | None]:
        """Each value formatted on its own, `i` included (the fast path could not take one)."""
        texts: list[str | None] = []
        for name, value in zip(names, values, strict=True):
            text = integer_value(value) if name in self._integers else float_value(value)
            if text is None:
                self.skipped_values += 1
            texts.append(text)
        return texts


@dataclass(frozen=True, slots=True)
class _Layout:
    """How one set of quantity names is written (cached per set of names)."""

    template: str  # reading layout: `temperature=%s,tx_power=%si`
    keys: tuple[str, ...]  # escaped field keys
    measurements: tuple[str, ...]  # quantity layout: escaped measurement names
    suffixes: tuple[str, ...]  # "i" for integer fields
    integer_slots: tuple[int, ...]
    plain: bool  # every name is [A-Za-z0-9_]+: written as it is
    integer_names: tuple[str, ...]
    integer_fixes: tuple[tuple[str, str], ...]
    integer_last: bool


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]+")
# In orjson's JSON of a mapping, a value that is not a number (null for NaN or infinity,
# true, false, a string, a list, a mapping) is one that does not start with - or a digit.
_NOT_A_NUMBER = re.compile(rb":[^-0-9]")
_JSON_TO_FIELDS = bytes.maketrans(b":", b"=")


def _plain_fields(measurements: Mapping[str, object], layout: _Layout) -> str | None:
    """The field set straight from orjson's JSON of the mapping, for plain names.

    `{"temperature":21.5,"tx_power":4}` becomes `temperature=21.5,tx_power=4i` with one
    translation and a replace per integer field: no Python work per value. None when a
    value needs the slow path.
    """
    for name in layout.integer_names:
        if type(measurements[name]) is not int:
            return None
    try:
        raw = orjson.dumps(measurements)
    except TypeError:  # a value orjson cannot write (a huge integer, an object)
        return None
    if _NOT_A_NUMBER.search(raw) is not None:
        return None
    fields = raw.translate(_JSON_TO_FIELDS, b'"{}').decode()
    for old, new in layout.integer_fixes:
        fields = fields.replace(old, new, 1)
    return fields + "i" if layout.integer_last else fields


# What a JSON array of finite numbers is made of: anything else (null for NaN, true,
# false, a string) sends the values down the slow path.
_NUMBER_CHARS = b"0123456789.,-+eE"


def _fast_texts(values: Sequence[object], integer_slots: tuple[int, ...]) -> list[str] | None:
    """Every value formatted at once, or None when one needs the slow path.

    orjson writes each float as its shortest round-trip text, like `repr` but about ten
    times faster, and line protocol reads that text back to the same float.
    """
    for slot in integer_slots:
        if type(values[slot]) is not int:
            return None
    try:
        raw = orjson.dumps(values)
    except TypeError:  # a value orjson cannot write (a huge integer, an object)
        return None
    if raw.translate(None, _NUMBER_CHARS) != b"[]":
        return None
    return raw[1:-1].decode().split(",")
