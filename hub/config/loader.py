"""Turn a YAML file, a `.env` file and the environment into a validated `HubConfig`.

Order of precedence, lowest first: model defaults, the YAML file (with `${VAR}` and
`${VAR:-default}` interpolated), then `HUB__SECTION__KEY=value` environment overrides. A
`.env` file next to the config file supplies variables that the real environment lacks.
Every problem found is reported at once, each with the file, the dotted key and the reason.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args, get_origin

import yaml
from dotenv import dotenv_values
from pydantic import BaseModel, ValidationError

from hub.config.models import HubConfig, SourceSettings
from hub.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from hub.integrations import IntegrationRegistry

ENV_PREFIX = "HUB__"
DEFAULT_CONFIG_PATHS = (Path("config/hub.yaml"), Path("/etc/hub/hub.yaml"))
# Keys whose values are never echoed in an error message.
_SECRET_KEY = re.compile(r"key|token|password|secret", re.IGNORECASE)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

KeyPath = tuple[str | int, ...]


@dataclass
class _Origins:
    """Which keys were set by the environment, so errors can say so."""

    env: dict[KeyPath, str] = field(default_factory=dict)

    def describe(self, loc: KeyPath) -> str:
        for depth in range(len(loc), 0, -1):
            var = self.env.get(loc[:depth])
            if var:
                return f" (set by environment variable {var})"
        return ""


def default_config_path() -> Path:
    """`$HUB_CONFIG`, else `config/hub.yaml` here, else `/etc/hub/hub.yaml`."""
    if env := os.environ.get("HUB_CONFIG"):
        return Path(env)
    for candidate in DEFAULT_CONFIG_PATHS:
        if candidate.exists():
            return candidate
    return DEFAULT_CONFIG_PATHS[0]


def load_config(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    registry: IntegrationRegistry | None = None,
) -> HubConfig:
    """Load, interpolate, override and validate; raises ConfigError listing every problem."""
    path = Path(path) if path is not None else default_config_path()
    file = str(path)
    raw = _read_yaml(path)
    env = _environment(path, os.environ if environ is None else environ)

    problems: list[ConfigProblem] = []
    data = _interpolate(raw, env, (), file, problems)
    origins = _Origins()
    _apply_env_overrides(data, env, origins, file, problems)
    if problems:
        raise ConfigError(problems)

    # A section left out is validated from `{}` rather than taken from the model's default,
    # so that it too gets the context (its relative paths start at the config's directory).
    for section in HubConfig.model_fields:
        data.setdefault(section, {})
    context = {"base_dir": path.parent.resolve()}
    config: HubConfig | None = None
    try:
        config = HubConfig.model_validate(data, context=context)
    except ValidationError as exc:
        problems.extend(_problems(exc, HubConfig, (), file, origins))

    if registry is None:
        from hub.integrations import IntegrationRegistry

        registry = IntegrationRegistry.discover()
    raw_sources = data.get("sources")
    sources: dict[str, SourceSettings] = {}
    if isinstance(raw_sources, dict):
        sources = _validate_sources(raw_sources, registry, context, file, origins, problems)
    if problems or config is None:
        raise ConfigError(problems)
    return config.model_copy(update={"sources": sources})


def _read_yaml(path: Path) -> dict[str, Any]:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(file, "", "file not found")]) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem(file, "", f"cannot read: {exc.strerror}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(file, "", f"invalid YAML: {where}{reason}")]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            [ConfigProblem(file, "", f"must be a mapping of sections, not {type(data).__name__}")]
        )
    return data


def _environment(path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    env_file = path.parent / ".env"
    merged: dict[str, str] = {}
    if env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(environ)
    return merged


def _interpolate(
    value: Any, env: Mapping[str, str], loc: KeyPath, file: str, problems: list[ConfigProblem]
) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, env, (*loc, str(k)), file, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, (*loc, i), file, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = env.get(name)
        if found:
            return found
        if default is not None:
            return default
        problems.append(
            ConfigProblem(file, _dotted(loc), f"environment variable {name} is not set or empty")
        )
        return ""

    # `$${` stays a literal `${`.
    parts = value.split("$${")
    return "${".join(_VAR.sub(substitute, part) for part in parts)


def _apply_env_overrides(
    data: dict[str, Any],
    env: Mapping[str, str],
    origins: _Origins,
    file: str,
    problems: list[ConfigProblem],
) -> None:
    for var in sorted(env):
        if not var.startswith(ENV_PREFIX):
            continue
        keys = [k.lower() for k in var[len(ENV_PREFIX) :].split("__")]
        if not all(keys):
            problems.append(ConfigProblem(var, "", "malformed override: empty key between '__'"))
            continue
        node = data
        for depth, key in enumerate(keys[:-1]):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                problems.append(
                    ConfigProblem(
                        file,
                        ".".join(keys[: depth + 1]),
                        f"is not a section, so {var} cannot set a key inside it",
                    )
                )
                break
            node = child
        else:
            node[keys[-1]] = _parse_scalar(env[var])
            origins.env[tuple(keys)] = var


def _parse_scalar(text: str) -> Any:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return text if isinstance(value, dict | list) or (value is None and text) else value


def _validate_sources(
    raw_sources: dict[str, Any],
    registry: IntegrationRegistry,
    context: dict[str, Any],
    file: str,
    origins: _Origins,
    problems: list[ConfigProblem],
) -> dict[str, SourceSettings]:
    """Each source entry validated by its integration's own settings model."""
    sources: dict[str, SourceSettings] = {}
    for name, raw in raw_sources.items():
        loc: KeyPath = ("sources", name)
        if not isinstance(raw, dict):
            problems.append(ConfigProblem(file, _dotted(loc), "must be a mapping of settings"))
            continue
        raw = {"type": name, **raw}
        kind = raw["type"]
        integration = registry.sources.get(kind) if isinstance(kind, str) else None
        if integration is None or integration.settings is None:
            known = ", ".join(sorted(registry.sources)) or "none installed"
            problems.append(
                ConfigProblem(
                    file,
                    _dotted((*loc, "type")),
                    f"unknown source type {kind!r} (known: {known})"
                    + origins.describe((*loc, "type")),
                )
            )
            continue
        try:
            sources[name] = integration.settings.model_validate(raw, context=context)
        except ValidationError as exc:
            problems.extend(_problems(exc, integration.settings, loc, file, origins))
    return sources


def _problems(
    exc: ValidationError,
    model: type[BaseModel],
    prefix: KeyPath,
    file: str,
    origins: _Origins,
) -> list[ConfigProblem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc: KeyPath = (*prefix, *error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            allowed = _allowed_keys(model, tuple(error["loc"][:-1]))
            key = str(error["loc"][-1])
            reason = "unknown key"
            close = difflib.get_close_matches(key, allowed, n=1)
            if close:
                reason += f" (did you mean {close[0]!r}?)"
            elif allowed:
                reason += f" (allowed here: {', '.join(sorted(allowed))})"
        elif kind == "missing":
            reason = "required key is missing"
        else:
            reason = error["msg"]
            last = next((p for p in reversed(loc) if isinstance(p, str)), "")
            secret = _SECRET_KEY.search(last) is not None
            if kind not in ("value_error", "assertion_error") and "input" in error and not secret:
                reason += f" (got {error['input']!r})"
            elif kind == "value_error":
                reason = reason.removeprefix("Value error, ")
        problems.append(ConfigProblem(file, _dotted(loc), reason + origins.describe(loc)))
    return problems


def _allowed_keys(model: type[BaseModel], loc: KeyPath) -> list[str]:
    """The field names of the model found at `loc` below `model` (empty if none)."""
    current: Any = model
    for part in loc:
        current = _model_in(current)
        if current is None:
            return []
        if isinstance(part, str) and part in current.model_fields:
            current = current.model_fields[part].annotation
        else:
            # a key of a dict or an index of a list: step into the value type
            args = [a for a in get_args(current) if a is not type(None)]
            current = args[-1] if args else None
    found = _model_in(current)
    return list(found.model_fields) if found is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None:
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _dotted(loc: KeyPath) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def effective_config(config: HubConfig) -> dict[str, Any]:
    """The configuration as plain data, secrets masked (for `hub check-config`, bundles)."""
    return config.model_dump(mode="json")
