"""RuuviTag and Ruuvi Air: manufacturer data of Ruuvi Innovations (company id 0x0499)."""

from hub.integrations import Integration, Match
from integrations.ruuvi.decoder import RUUVI_COMPANY_ID, decode

INTEGRATION = Integration(
    name="ruuvi",
    kind="decoder",
    description="RuuviTag data formats 3 (RAWv1) and 5 (RAWv2); Ruuvi Air formats 6 and E1",
    matches=(Match(manufacturer_id=RUUVI_COMPANY_ID),),
    decode=decode,
)
