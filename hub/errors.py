"""The hub's exception hierarchy: every error we raise on purpose is a HubError."""

from __future__ import annotations


class HubError(Exception):
    """Base of every error the hub raises deliberately."""


class ConfigError(HubError):
    """The configuration cannot be used; carries every problem found, each with file and key."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigProblem:
    """One configuration problem: where it is (file and dotted key path) and why."""

    __slots__ = ("file", "key", "reason")

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file = file
        self.key = key
        self.reason = reason

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.reason}"

    def __repr__(self) -> str:
        return f"ConfigProblem({self.file!r}, {self.key!r}, {self.reason!r})"


class RecordError(HubError):
    """An advertisement record (contract 1) that cannot be used."""


class IntegrationError(HubError):
    """An integration folder that declares itself wrongly."""
