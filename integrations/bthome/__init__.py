"""BTHome: the open BLE sensor format, v2 (service data 0xFCD2) and legacy v1 (0x181C/0x181E)."""

from hub.integrations import Integration, Match
from integrations.bthome.decoder import UUID_V1, UUID_V1_ENCRYPTED, UUID_V2, decode

INTEGRATION = Integration(
    name="bthome",
    kind="decoder",
    description="BTHome v2 and v1 (plain and AES-CCM encrypted) sensors, states and events",
    matches=(
        Match(service_data_uuid=UUID_V2),
        Match(service_data_uuid=UUID_V1),
        Match(service_data_uuid=UUID_V1_ENCRYPTED),
    ),
    decode=decode,
)
