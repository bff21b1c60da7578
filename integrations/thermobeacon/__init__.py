"""ThermoBeacon (Brifit, SensorBlue, ORIA) hygrometers: manufacturer data, device-type ids."""

from hub.integrations import Integration, Match
from integrations.thermobeacon.decoder import MODELS, decode

INTEGRATION = Integration(
    name="thermobeacon",
    kind="decoder",
    description="ThermoBeacon / Brifit / SensorBlue WS02, WS07, WS08 hygrometers",
    matches=tuple(Match(manufacturer_id=company_id) for company_id in MODELS),
    decode=decode,
)
