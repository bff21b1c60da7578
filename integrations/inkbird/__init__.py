"""Inkbird IBS-TH family: the measurement rides in the manufacturer-data field itself."""

from hub.integrations import Integration, Match
from integrations.inkbird.decoder import LOCAL_NAMES, decode

INTEGRATION = Integration(
    name="inkbird",
    kind="decoder",
    description="Inkbird IBS-TH1/TH1 Mini/TH1 Plus ('sps') and IBS-TH2/P01B ('tps')",
    # The company-id bytes are the temperature, so the name is the only fixed handle.
    matches=tuple(Match(local_name=name) for name in LOCAL_NAMES),
    decode=decode,
)
