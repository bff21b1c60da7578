"""Xiaomi LYWSD03MMC with its stock firmware, read over GATT (its advertisements carry nothing).

The ble source polls it with GATT_POLLER and hands the characteristic's value on as service
data keyed by the characteristic UUID, which the decoder below matches.
"""

from hub.integrations import Integration, Match
from integrations.lywsd03mmc_gatt.decoder import CHARACTERISTIC_UUID, decode
from integrations.lywsd03mmc_gatt.poller import Lywsd03mmcPoller

INTEGRATION = Integration(
    name="lywsd03mmc_gatt",
    kind="decoder",
    description="Xiaomi LYWSD03MMC (stock firmware) temperature, humidity and battery voltage "
    "read over GATT by the ble source",
    matches=(Match(service_data_uuid=CHARACTERISTIC_UUID),),
    decode=decode,
)

GATT_POLLER = Lywsd03mmcPoller()
