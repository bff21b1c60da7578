"""Sensirion BLE gadgets (SHT3x/SHT4x, MyCO2, SEN5x/SEN6x): manufacturer data 0x06D5."""

from hub.integrations import Integration, Match
from integrations.sensirion.decoder import SENSIRION_COMPANY_ID, decode

INTEGRATION = Integration(
    name="sensirion",
    kind="decoder",
    description="Sensirion BLE gadget advertisement samples (SHT3x, SHT4x, MyCO2, SEN5x, SEN6x)",
    matches=(Match(manufacturer_id=SENSIRION_COMPANY_ID),),
    decode=decode,
)
