"""SwitchBot thermo-hygrometers: service data 0xFD3D/0x0D00 plus manufacturer data 0x0969."""

from hub.integrations import Integration, Match
from integrations.switchbot.decoder import decode

INTEGRATION = Integration(
    name="switchbot",
    kind="decoder",
    description="SwitchBot Meter, Meter Plus, Outdoor Meter, Meter Pro and Meter Pro CO2",
    # The service data names the product, so it is what the hub matches on; the
    # manufacturer data (company 0x0969) is read from the same advertisement.
    matches=(Match(service_data_uuid="fd3d"), Match(service_data_uuid="0d00")),
    decode=decode,
)
