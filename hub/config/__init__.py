"""Configuration: typed models and the loader that turns files and environment into them."""

from hub.config.loader import load_config
from hub.config.models import HubConfig

__all__ = ["HubConfig", "load_config"]
