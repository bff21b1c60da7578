"""Collect decoded objects, number repeated ones, and build the Decoded reading."""

from __future__ import annotations

from typing import TypeVar

from hub.integrations import Decoded, DecodeFailure

V = TypeVar("V")

MODEL = "BTHome device"


class Collector:
    """What one packet's objects decoded to, in packet order, before naming."""

    __slots__ = ("device_type", "events", "sequence", "states", "values")

    def __init__(self) -> None:
        self.values: list[tuple[str, float | int]] = []
        self.states: list[tuple[str, bool]] = []
        self.events: list[tuple[str, str | None]] = []  # (event device, detail or None)
        self.sequence: int | None = None  # the packet id object, if any
        self.device_type: int | None = None

    def has_data(self) -> bool:
        """Whether anything worth reporting was decoded (a packet id alone is not)."""
        return bool(self.values or self.states or any(d for _, d in self.events))


def finish(
    found: Collector, stopped: str | None, fmt: str, counter: int | None = None
) -> Decoded | DecodeFailure:
    """The reading, or the reason parsing stopped if it stopped before decoding anything.

    `counter` is the encryption counter: it stands in for the sequence when the packet has
    no packet id object, as both count advertisements and a repeat carries the same value.
    """
    if stopped is not None and not found.has_data():
        return DecodeFailure(stopped)
    model = MODEL if found.device_type is None else f"{MODEL} (type 0x{found.device_type:04X})"
    return Decoded(
        measurements=numbered(found.values),
        model=model,
        format=fmt,
        sequence=found.sequence if found.sequence is not None else counter,
        states=numbered(found.states) if found.states else {},
        events=event_names(found.events) if found.events else (),
    )


def numbered(pairs: list[tuple[str, V]]) -> dict[str, V]:
    """`name` when it occurs once, `name_1`, `name_2`, ... (packet order) when repeated."""
    result = dict(pairs)
    if len(result) == len(pairs):
        return result  # the common case: every name once
    counts: dict[str, int] = {}
    for name, _ in pairs:
        counts[name] = counts.get(name, 0) + 1
    result = {}
    seen: dict[str, int] = {}
    for name, value in pairs:
        if counts[name] == 1:
            result[name] = value
        else:
            seen[name] = index = seen.get(name, 0) + 1
            result[f"{name}_{index}"] = value
    return result


def event_names(events: list[tuple[str, str | None]]) -> tuple[str, ...]:
    """button_press / button_2_press, rotate_left_3 / dimmer_2_rotate_left_3, command_on.

    With several objects of one event device in a packet, the device's position (counting
    "no event" objects too, as BTHome does) tells which button fired.
    """
    counts: dict[str, int] = {}
    for device, _ in events:
        counts[device] = counts.get(device, 0) + 1
    names: list[str] = []
    seen: dict[str, int] = {}
    for device, detail in events:
        seen[device] = index = seen.get(device, 0) + 1
        if detail is None:
            continue
        if counts[device] > 1:
            names.append(f"{device}_{index}_{detail}")
        elif device == "dimmer":
            names.append(detail)  # "rotate_left_3" says it all
        else:
            names.append(f"{device}_{detail}")
    return tuple(names)
