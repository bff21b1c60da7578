"""BTHome event objects (button 0x3A, command 0x3B, dimmer 0x3C) as short event details.

A detail is what happened to one event device ("press", "rotate_left_3", "step_up_5"), or
None for BTHome's "no event" (0x00), which a device with several buttons sends for the
buttons that were not used so that the others keep their position. `result.py` turns
details into the reported names ("button_press", "rotate_left_3", "command_on", ...).
Event ids that the specification does not (yet) define give None: the object is well formed,
only its meaning is unknown to us.
"""

from __future__ import annotations

from collections.abc import Callable

# https://bthome.io/format/ "Events"
BUTTON_EVENTS: dict[int, str] = {
    0x01: "press",
    0x02: "double_press",
    0x03: "triple_press",
    0x04: "long_press",
    0x05: "long_double_press",
    0x06: "long_triple_press",
    0x80: "hold_press",
}
DIMMER_EVENTS: dict[int, str] = {0x01: "rotate_left", 0x02: "rotate_right"}
COMMAND_OPCODES: dict[int, str] = {
    0x00: "off",
    0x01: "on",
    0x02: "toggle",
    0x03: "step_up",
    0x04: "step_down",
}
_STEPPED_COMMANDS = frozenset({0x03, 0x04})
COMMAND_ARGS_MASK = 0x1F  # low 5 bits of the command's first byte: argument length


def button(data: bytes, offset: int, size: int) -> str | None:
    return BUTTON_EVENTS.get(data[offset])


def dimmer(data: bytes, offset: int, size: int) -> str | None:
    action = DIMMER_EVENTS.get(data[offset])
    if action is None:
        return None
    # BTHome v1 allowed a one-byte "no event" dimmer object; a real rotation has steps.
    return f"{action}_{data[offset + 1]}" if size >= 2 else action


def command(data: bytes, offset: int, size: int) -> str | None:
    if size < 2:
        return None
    opcode = data[offset + 1]
    action = COMMAND_OPCODES.get(opcode)
    if action is None:
        return None
    # "step up/down # steps": one argument byte is the number of steps. Longer arguments
    # are manufacturer specific, so we report only the action.
    if opcode in _STEPPED_COMMANDS and data[offset] & COMMAND_ARGS_MASK == 1 and size >= 3:
        return f"{action}_{data[offset + 2]}"
    return action


EVENT_PARSERS: dict[str, Callable[[bytes, int, int], str | None]] = {
    "button": button,
    "command": command,
    "dimmer": dimmer,
}
