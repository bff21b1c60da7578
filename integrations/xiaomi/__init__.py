"""Xiaomi: MiBeacon (service data 0xFE95) and the ATC1441 / pvvx custom firmware (0x181A)."""

from hub.integrations import Integration, Match
from integrations.xiaomi.decoder import decode

INTEGRATION = Integration(
    name="xiaomi",
    kind="decoder",
    description=(
        "Xiaomi MiBeacon v2-v5 (clear and encrypted) and the ATC1441 / pvvx custom firmware "
        "formats of LYWSD03MMC-type thermometers"
    ),
    matches=(Match(service_data_uuid="fe95"), Match(service_data_uuid="181a")),
    decode=decode,
)
