"""Qingping (ClearGrass): the maker's own plain-text advertisement on service data 0xFDCD."""

from hub.integrations import Integration, Match
from integrations.qingping.decoder import SERVICE_DATA_UUID, decode

INTEGRATION = Integration(
    name="qingping",
    kind="decoder",
    description="Qingping/ClearGrass 0xFDCD frames (CGG1, CGDN1, CGP1W, CGP23W, CGH1, CGPR1, CGD1)",
    matches=(Match(service_data_uuid=SERVICE_DATA_UUID),),
    decode=decode,
)
