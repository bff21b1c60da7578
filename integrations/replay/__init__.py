"""Replay: plays advertisement records (contract 1) from a JSONL file."""

from hub.integrations import Integration
from integrations.replay.source import ReplaySettings, ReplaySource

INTEGRATION = Integration(
    name="replay",
    kind="source",
    description="Plays a recorded JSONL capture at recorded speed, faster, or at once",
    settings=ReplaySettings,
    create_source=ReplaySource.create,
)
