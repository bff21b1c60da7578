"""Govee thermo-hygrometers: manufacturer data under 0xEC88, 0x8801 and 0x0001."""

from hub.integrations import Integration, Match
from integrations.govee.decoder import decode
from integrations.govee.models import COMPANY_IDS

INTEGRATION = Integration(
    name="govee",
    kind="decoder",
    description=(
        "Govee H5051/H5052/H5071/H5072/H5074/H5075/H5100-H5106/H5174/H5177/H5179 "
        "thermo-hygrometers (H5106: PM2.5)"
    ),
    matches=(
        *(Match(manufacturer_id=company_id) for company_id in COMPANY_IDS),
        Match(local_name="GVH5*"),
        Match(local_name="GV5*"),
        Match(local_name="Govee_H5*"),
        Match(local_name="ihoment_H5*"),
    ),
    decode=decode,
)
