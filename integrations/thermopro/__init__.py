"""ThermoPro TP35x/TP39x hygrometers: manufacturer data whose company id carries data."""

from hub.integrations import Integration, Match
from integrations.thermopro.decoder import NAME_PATTERNS, decode

INTEGRATION = Integration(
    name="thermopro",
    kind="decoder",
    description="ThermoPro TP357, TP357S, TP358, TP359, TP393, TP397 hygrometers",
    # The company-id bytes change with the temperature: the local name is the handle.
    matches=tuple(Match(local_name=pattern) for pattern in NAME_PATTERNS),
    decode=decode,
)
