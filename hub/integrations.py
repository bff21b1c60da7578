"""How an integration declares itself, and how the hub finds them.

An integration is a package under `integrations/` whose `__init__.py` defines `INTEGRATION`,
an `Integration` value: its name, its kind (`decoder` or `source`), and for decoders what
advertisements it matches and the pure function that decodes them. The hub imports every
such package once at start-up and indexes the matchers; it knows no device type itself.
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from loguru import logger

from hub.errors import IntegrationError
from hub.events import Advertisement
from hub.records import normalise_uuid

if TYPE_CHECKING:
    from hub.clock import Clock
    from hub.config.models import SourceSettings
    from hub.scheduler import Scheduler

# A local-name pattern needs this many literal characters before its first wildcard, so
# that it can be indexed by prefix and cannot swallow every advertisement.
MIN_NAME_PREFIX = 3
_WILDCARDS = re.compile(r"[*?\[]")
K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class Match:
    """One way an integration recognises advertisements; give exactly one criterion."""

    manufacturer_id: int | None = None
    service_data_uuid: str | None = None
    local_name: str | None = None  # shell-style pattern, e.g. "Ruuvi *"

    def name_prefix(self) -> str:
        assert self.local_name is not None
        found = _WILDCARDS.search(self.local_name)
        return self.local_name[: found.start()] if found else self.local_name


@dataclass(slots=True)
class Decoded:
    """What a decoder read from a payload, in canonical measurements (contract 2).

    Not frozen, unlike events: it never travels on the bus (the router turns it into a
    frozen Reading at once), and a frozen dataclass costs a decoder about a microsecond.
    Nothing changes it after the decoder returns it.
    """

    measurements: dict[str, float | int]
    model: str | None = None
    format: str | None = None
    sequence: int | None = None
    states: Mapping[str, bool] = field(default_factory=dict)
    events: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DecodeFailure:
    """A payload the integration recognised but could not decode, with a short reason."""

    reason: str


@dataclass(frozen=True, slots=True)
class DecodeContext:
    """What a decoder may need besides the advertisement: keys for encrypted devices."""

    keys: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}))


# A decoder returns Decoded, DecodeFailure, or None for "not mine after all" (so the router
# tries the next candidate). It must never raise; the router still guards it.
Decoder = Callable[[Advertisement, DecodeContext], "Decoded | DecodeFailure | None"]
AdvertisementSink = Callable[[Advertisement], Awaitable[None]]


class Source(Protocol):
    """A running source of advertisements (a radio, a replay file, a gateway)."""

    name: str

    async def run(self, sink: AdvertisementSink) -> None:
        """Deliver advertisements to `sink` until done or cancelled."""
        ...


def stamps_live(source: object) -> bool:
    """Whether `source` stamps advertisements with the hub's clock as it hears them (the
    default; the clock guard checks those). A source that passes on recorded times (a
    replay of a capture, a gateway's own clock) sets `live_timestamps = False`."""
    return bool(getattr(source, "live_timestamps", True))


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What the hub hands a source when it builds one."""

    clock: Clock
    # For sources with jobs of their own (scan windows, watchdogs, polls); None in tools
    # such as `hub scan` that run a source without the hub.
    scheduler: Scheduler | None = None


SourceFactory = Callable[[str, "SourceSettings", SourceContext], Source]


@dataclass(frozen=True, slots=True)
class Integration:
    """The declaration an integration package exports as `INTEGRATION`."""

    name: str
    kind: Literal["decoder", "source"]
    description: str = ""
    matches: tuple[Match, ...] = ()
    decode: Decoder | None = None
    settings: type[SourceSettings] | None = None
    create_source: SourceFactory | None = None

    def check(self) -> None:
        """Raise IntegrationError if the declaration cannot work."""
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise IntegrationError(f"name {self.name!r} must match [a-z][a-z0-9_]*")
        if self.kind == "decoder":
            if self.decode is None or not self.matches:
                raise IntegrationError("a decoder needs `decode` and at least one Match")
            for match in self.matches:
                given = [
                    v is not None
                    for v in (match.manufacturer_id, match.service_data_uuid, match.local_name)
                ]
                if sum(given) != 1:
                    raise IntegrationError(f"{match} must give exactly one criterion")
                if match.manufacturer_id is not None and not 0 <= match.manufacturer_id <= 0xFFFF:
                    raise IntegrationError(f"manufacturer id {match.manufacturer_id} out of range")
                if match.local_name is not None and len(match.name_prefix()) < MIN_NAME_PREFIX:
                    raise IntegrationError(
                        f"local-name pattern {match.local_name!r} needs at least "
                        f"{MIN_NAME_PREFIX} literal characters before any wildcard"
                    )
        elif self.create_source is None or self.settings is None:
            raise IntegrationError("a source needs `create_source` and `settings`")


class IntegrationRegistry:
    """Every integration found, and the matcher index built from the decoders once."""

    def __init__(self, integrations: list[Integration], problems: list[str] | None = None) -> None:
        # Integrations that could not be loaded, each "package: reason" (see `discover`).
        self.problems = list(problems or [])
        self.integrations: dict[str, Integration] = {}
        for integration in integrations:
            if integration.name in self.integrations:
                raise IntegrationError(f"two integrations are named {integration.name!r}")
            integration.check()
            self.integrations[integration.name] = integration
        self.decoders = {n: i for n, i in self.integrations.items() if i.kind == "decoder"}
        self.sources = {n: i for n, i in self.integrations.items() if i.kind == "source"}
        self.by_manufacturer: dict[int, tuple[Integration, ...]] = {}
        self.by_service_data: dict[str, tuple[Integration, ...]] = {}
        # name prefix (first MIN_NAME_PREFIX chars) -> (pattern, integration) pairs
        self.by_name_prefix: dict[str, tuple[tuple[str, Integration], ...]] = {}
        for integration in self.decoders.values():
            for match in integration.matches:
                if match.manufacturer_id is not None:
                    _add(self.by_manufacturer, match.manufacturer_id, integration)
                elif match.service_data_uuid is not None:
                    _add(self.by_service_data, normalise_uuid(match.service_data_uuid), integration)
                elif match.local_name is not None:
                    key = match.name_prefix()[:MIN_NAME_PREFIX]
                    entry = (match.local_name, integration)
                    self.by_name_prefix[key] = (*self.by_name_prefix.get(key, ()), entry)

    @classmethod
    def discover(cls, package: str = "integrations") -> IntegrationRegistry:
        """Import every sub-package of `package` that exports INTEGRATION.

        A package that fails to import or declares itself wrongly is left out and reported
        (logged, and kept in `problems`, which `hub check-config` turns into a failure): one
        broken integration must not stop the sensors of every other one.
        """
        try:
            root = importlib.import_module(package)
        except ImportError as exc:
            raise IntegrationError(f"cannot import the {package!r} package: {exc}") from exc
        found: list[Integration] = []
        problems: list[str] = []
        for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name):
            if not info.ispkg or info.name.startswith("_"):
                continue
            qualified = f"{package}.{info.name}"
            try:
                integration = _load(qualified)
                if integration is None:
                    continue
                if any(i.name == integration.name for i in found):
                    raise IntegrationError(f"another integration is named {integration.name!r}")
            except IntegrationError as exc:
                problems.append(f"{qualified}: {exc}")
                logger.error("Integration {} left out: {}", qualified, exc)
                continue
            found.append(integration)
        return cls(found, problems)

    def candidates(self, adv: Advertisement) -> list[Integration]:
        """The decoders whose matchers fit `adv`, in a stable order, without repeats."""
        found: list[Integration] = []
        for company in adv.manufacturer_data:
            for integration in self.by_manufacturer.get(company, ()):
                if integration not in found:
                    found.append(integration)
        for uuid in adv.service_data:
            for integration in self.by_service_data.get(uuid, ()):
                if integration not in found:
                    found.append(integration)
        name = adv.name
        if name and self.by_name_prefix:
            for pattern, integration in self.by_name_prefix.get(name[:MIN_NAME_PREFIX], ()):
                if integration not in found and fnmatch.fnmatchcase(name, pattern):
                    found.append(integration)
        return found


def _load(qualified: str) -> Integration | None:
    """The INTEGRATION a package declares (None if it declares none)."""
    try:
        module = importlib.import_module(qualified)
    except Exception as exc:  # any import failure is reported by its folder
        raise IntegrationError(f"failed to import: {exc!r}") from exc
    integration = getattr(module, "INTEGRATION", None)
    if integration is None:
        return None
    if not isinstance(integration, Integration):
        raise IntegrationError("INTEGRATION is not an Integration")
    integration.check()
    return integration


def _add(index: dict[K, tuple[Integration, ...]], key: K, value: Integration) -> None:
    if value not in index.get(key, ()):
        index[key] = (*index.get(key, ()), value)
