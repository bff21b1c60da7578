"""Product id (byte 1 of a frame) -> model.

Each id is taken from a published capture of that model or from the id lists of the
public parsers that decode these frames (ble_monitor's qingping.py, qingping-ble's
DEVICE_TYPES): 0x01/0x07/0x16 CGG1, 0x04 CGH1, 0x09 CGP1W, 0x0C CGD1, 0x0E/0x24 CGDN1,
0x0F CGM1, 0x12 CGPR1, 0x15 CGF1W, 0x18/0x26 CGP23W, 0x1E CGC1, 0x33/0x5D CGP22C,
0x4F CGG3, 0x52/0x62 CGR1PC. An id missing here still decodes (the objects are shared by
the whole family); only the model is then unknown.
"""

from __future__ import annotations

MODELS: dict[int, str] = {
    0x01: "CGG1",
    0x04: "CGH1",
    0x07: "CGG1",
    0x09: "CGP1W",
    0x0C: "CGD1",
    0x0E: "CGDN1",
    0x0F: "CGM1",
    0x12: "CGPR1",
    0x15: "CGF1W",
    0x16: "CGG1",
    0x18: "CGP23W",
    0x1E: "CGC1",
    0x24: "CGDN1",
    0x26: "CGP23W",
    0x33: "CGP22C",
    0x4F: "CGG3",
    0x52: "CGR1PC",
    0x5D: "CGP22C",
    0x62: "CGR1PC",
}
