"""Field types shared by the configuration models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    SecretStr,
    ValidationInfo,
    model_validator,
)

from hub.durations import format_duration, parse_duration

LogLevel = Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"]


def _to_seconds(value: Any) -> float:
    return parse_duration(value)


Duration = Annotated[
    float,
    BeforeValidator(_to_seconds),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""Seconds; written in the config as `30s`, `10m`, `4h`, `2d` or a number."""


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    value = value.expanduser()
    if base is not None and not value.is_absolute():
        return (Path(base) / value).resolve()
    return value


ConfigPath = Annotated[
    Path,
    AfterValidator(_resolve_path),
    PlainSerializer(str, return_type=str, when_used="json"),
]
"""A path; relative paths are taken from the directory of the config file."""


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return get_origin(annotation) is not None and any(_is_secret(a) for a in get_args(annotation))


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, secrets may come from files.

    Any secret field `x` may instead be given as `x_file: PATH`; the file's content (without
    the trailing newline) becomes the secret, so it need not sit in the config itself.
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(
        extra="forbid", validate_default=True, frozen=True
    )

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        secret_fields = [n for n, f in cls.model_fields.items() if _is_secret(f.annotation)]
        if not secret_fields:
            return data
        data = dict(data)
        base = (info.context or {}).get("base_dir")
        for name in secret_fields:
            file_key = f"{name}_file"
            if file_key not in data:
                continue
            raw_path = data.pop(file_key)
            if name in data and data[name] not in (None, ""):
                raise ValueError(f"give either {name} or {file_key}, not both")
            if not isinstance(raw_path, str) or not raw_path:
                raise ValueError(f"{file_key} must be a file path")
            path = Path(raw_path).expanduser()
            if base is not None and not path.is_absolute():
                path = Path(base) / path
            try:
                data[name] = path.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise ValueError(f"{file_key}: cannot read {path}: {exc.strerror}") from None
        return data
