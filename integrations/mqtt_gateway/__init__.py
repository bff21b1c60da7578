"""MQTT gateways: raw advertisements forwarded by remote receivers (Ruuvi Gateway,
OpenMQTTGateway, Theengs Gateway) over an MQTT broker."""

from hub.integrations import Integration
from integrations.mqtt_gateway.source import GatewaySettings, GatewaySource

INTEGRATION = Integration(
    name="mqtt_gateway",
    kind="source",
    description="Advertisements from Ruuvi Gateway and OpenMQTTGateway receivers over MQTT",
    settings=GatewaySettings,
    create_source=GatewaySource.create,
)
