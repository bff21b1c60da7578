"""Blue Maestro Tempo Disc: manufacturer data of Blue Maestro (company id 0x0133)."""

from hub.integrations import Integration, Match
from integrations.bluemaestro.decoder import BLUE_MAESTRO_COMPANY_ID, decode

INTEGRATION = Integration(
    name="bluemaestro",
    kind="decoder",
    description="Blue Maestro Tempo Disc T, THD and THPD (advertisement versions 13, 22, 23, 27)",
    matches=(Match(manufacturer_id=BLUE_MAESTRO_COMPANY_ID),),
    decode=decode,
)
