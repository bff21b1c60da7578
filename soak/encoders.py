"""Every device format the hub decodes from advertisements, as the soak's world sends them.

`FAMILIES` maps a family name to its `Family`: `family.encode(values, counter, address,
key)` gives the advertisement (an `AdvertisementRecordFields`: the record's name,
manufacturer and service data, and exactly the measurements our decoder must read from
it), `family.broken(address, key)` malformed ones the hub must reject. The modules under
`soak.families` hold the layouts, one per integration.
"""

from __future__ import annotations

from soak.families import (
    aranet,
    bluemaestro,
    bparasite,
    bthome,
    govee,
    inkbird,
    qingping,
    ruuvi,
    sensirion,
    switchbot,
    thermobeacon,
    thermopro,
    xiaomi,
)
from soak.families.base import (
    QUANTITIES,
    AdvertisementRecordFields,
    Family,
    Values,
    broken,
)

__all__ = [
    "FAMILIES",
    "QUANTITIES",
    "AdvertisementRecordFields",
    "Family",
    "Values",
    "broken",
    "garbage",
]

FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        ruuvi.DF5,
        ruuvi.DF3,
        bthome.CLEAR,
        bthome.ENCRYPTED,
        xiaomi.ATC1441,
        xiaomi.PVVX,
        xiaomi.LYWSDCGQ,
        xiaomi.MIBEACON_CLEAR,
        xiaomi.MIBEACON_ENCRYPTED,
        govee.H5075,
        govee.H5074,
        govee.H5179,
        govee.H5106,
        switchbot.METER,
        switchbot.METER_PRO_CO2,
        qingping.CGP1W,
        qingping.CGDN1,
        inkbird.IBS_TH,
        inkbird.IBS_TH2_PROBE,
        thermopro.TP357,
        thermobeacon.THERMOBEACON,
        aranet.ARANET4,
        aranet.ARANET2,
        bparasite.V2,
        bluemaestro.THPD,
        sensirion.SHT4X,
        sensirion.MYCO2,
    )
}


def garbage(payload: bytes) -> tuple[AdvertisementRecordFields, ...]:
    """Advertisements no integration claims: the hub counts them as unmatched."""
    return (
        broken("unknown company id", manufacturer_data={0xFFFF: payload}),
        broken("unknown service", service_data={"0000fff9-0000-1000-8000-00805f9b34fb": payload}),
        broken(
            "0x181A of no known length",
            service_data={"0000181a-0000-1000-8000-00805f9b34fb": payload[:5]},
        ),
        broken("nothing at all", name="Unknown gadget"),
    )
