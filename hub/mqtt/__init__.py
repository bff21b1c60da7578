"""MQTT: reading states, Home Assistant discovery, alerts, health and battery to a broker.

`hub.config.models` imports `hub.mqtt.config` for its `mqtt:` section, and `hub.mqtt.config`
imports `hub.config.types`. Importing `hub.config` first, here, makes either import order
work: whichever module is imported first, the other finds its names already defined.
"""

import hub.config  # noqa: F401 - import order, see above
