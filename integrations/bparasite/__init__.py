"""b-parasite soil moisture sensor (rbaron): its own protocol in service data 0x181A."""

from hub.integrations import Integration, Match
from integrations.bparasite.decoder import decode

INTEGRATION = Integration(
    name="bparasite",
    kind="decoder",
    description="b-parasite soil moisture sensor, protocol v1 and v2 (service data 0x181A)",
    matches=(Match(service_data_uuid="181a"),),
    decode=decode,
)
