"""MiBeacon product ids of the sensors the hub is for, and their model names.

Sources: pvvx's firmware header src/mi_beacon.h (XIAOMI_DEV_ID), which names the ids the
custom firmware imitates, and the ids seen in the public captures the tests use; see the
README for the table with its sources.
"""

from __future__ import annotations

MODELS: dict[int, str] = {
    0x01AA: "LYWSDCGQ/01ZM",
    0x045B: "LYWSD02",
    0x16E4: "LYWSD02MMC",
    0x2542: "LYWSD02MMC",
    0x055B: "LYWSD03MMC",
    0x0387: "MHO-C401",
    0x06D3: "MHO-C303",
    0x0347: "CGG1",
    0x0B48: "CGG1",
    0x066F: "CGDK2",
    0x0576: "CGD1",
    0x02DF: "JQJCY01YM",
    0x1203: "XMWSDJ04MMC",
    0x2832: "MJWSD05MMC",
    0x4C47: "MJWSD05MMC",
    0x55B5: "MJWSD06MMC",
    0x5BEA: "MJWSD06MMC",
    0x0098: "HHCCJCY01",
    0x03BC: "GCLS002",
    0x015D: "HHCCPOT002",
    0x07F6: "MJYD02YL",
    0x098B: "MCCGQ02HL",
}

# These two send object 0x1007 as a light/dark flag (100 = light), not as illuminance
# in lux, so the generic reading of that object does not apply to them.
LIGHT_FLAG_PRODUCTS = frozenset({0x07F6, 0x098B})


def model_of(product_id: int) -> str:
    model = MODELS.get(product_id)
    if model is None:
        # Rare (only products not in the table); the id is what a user needs to report it.
        return f"MiBeacon product 0x{product_id:04X}"
    return model
