"""Aranet4, Aranet2 and Aranet Radon Plus: manufacturer data of SAF Tehnika (0x0702)."""

from hub.integrations import Integration, Match
from integrations.aranet.decoder import SAF_TEHNIKA_COMPANY_ID, decode

INTEGRATION = Integration(
    name="aranet",
    kind="decoder",
    description="Aranet4, Aranet2 and Aranet Radon Plus with Smart Home integrations enabled",
    matches=(Match(manufacturer_id=SAF_TEHNIKA_COMPANY_ID),),
    decode=decode,
)
