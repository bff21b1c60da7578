"""The configuration loader: files, interpolation, `.env`, overrides, secrets and errors."""

from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr, ValidationError

from hub.cli import main
from hub.config.loader import effective_config, load_config
from hub.config.models import HubConfig, SourceSettings
from hub.config.types import Section
from hub.durations import format_duration, parse_duration
from hub.errors import ConfigError, ConfigProblem
from hub.integrations import Integration, IntegrationRegistry
from integrations.replay import INTEGRATION as REPLAY
from integrations.replay.source import ReplaySettings

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "hub.yaml"
DEMO = ROOT / "config" / "demo.yaml"
MASK = "**********"


# --- helpers -----------------------------------------------------------------------------


class Credentials(Section):
    """A test-only section with a secret (the core models have none yet)."""

    user: str = "hub"
    password: SecretStr


class VaultSettings(SourceSettings):
    """A test-only source whose settings hold a secret, to run secrets through load_config."""

    token: SecretStr


def _never_built(*_args: object) -> object:
    raise AssertionError("config tests never build a source")


VAULT = Integration(name="vault", kind="source", settings=VaultSettings, create_source=_never_built)


def registry(*extra: Integration) -> IntegrationRegistry:
    return IntegrationRegistry([REPLAY, *extra])


def write(directory: Path, text: str, name: str = "hub.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def problems_of(path: Path, environ: dict[str, str] | None = None, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ or {}, **kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return [str(p) for p in caught.value.problems]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads os.environ: keep the developer's own HUB__* and friends out of it."""
    for name in list(os.environ):
        if name.startswith("HUB__") or name in ("HUB_CONFIG", "STATE_DIRECTORY"):
            monkeypatch.delenv(name)


# --- the shipped files -------------------------------------------------------------------


def test_shipped_config_loads_with_its_documented_values() -> None:
    config = load_config(SHIPPED, environ={})

    assert config.hub.name == "hub"
    assert config.hub.summary_interval == 60.0
    assert config.logging.level == "INFO"
    assert config.logging.format == "auto"
    assert config.logging.levels == {}
    assert config.bus.queue_size == 10_000
    assert config.bus.drain_timeout == 5.0
    assert config.store.path == ROOT / "data" / "hub.db"
    assert config.store.batch_size == 1000
    assert config.store.flush_interval == 5.0
    assert config.store.synchronous == "full"
    assert config.store.max_buffer == 100_000
    assert config.scheduler.misfire_grace_time == 30.0
    # The shipped config listens with the machine's first Bluetooth adapter.
    assert list(config.enabled_sources()) == ["ble"]
    assert config.sources["ble"].adapters == ("hci0",)


def test_shipped_config_takes_the_store_directory_from_systemd() -> None:
    config = load_config(SHIPPED, environ={"STATE_DIRECTORY": "/var/lib/hub"})

    assert config.store.path == Path("/var/lib/hub/hub.db")


def test_demo_config_has_one_replay_source_with_an_absolute_existing_file() -> None:
    config = load_config(DEMO, environ={})

    assert config.hub.name == "demo"
    assert config.hub.summary_interval == 10.0
    assert config.store.flush_interval == 2.0
    assert config.store.path == ROOT / "data" / "hub.db"
    assert list(config.sources) == ["demo"]
    demo = config.sources["demo"]
    assert isinstance(demo, ReplaySettings)
    assert demo.file == ROOT / "config" / "demo" / "ruuvitags.jsonl"
    assert demo.file.is_absolute()
    assert demo.file.is_file()
    assert (demo.type, demo.enabled, demo.speed, demo.loop, demo.timestamps) == (
        "replay",
        True,
        10.0,
        True,
        "now",
    )
    assert config.enabled_sources() == {"demo": demo}


def test_relative_paths_do_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    config = load_config(DEMO, environ={})

    assert config.sources["demo"].file == ROOT / "config" / "demo" / "ruuvitags.jsonl"
    assert config.store.path == ROOT / "data" / "hub.db"


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "# nothing set\n")

    config = load_config(path, environ={})

    assert config.hub.name == "hub"
    assert config.store.batch_size == 1000
    assert config.sources == {}


def test_default_paths_are_taken_from_the_config_directory_too(tmp_path: Path) -> None:
    # No `store:` section at all: the default ../data/hub.db is still relative to the file.
    (tmp_path / "etc").mkdir()
    path = write(tmp_path / "etc", "hub:\n  name: bare\n")

    config = load_config(path, environ={})

    assert config.store.path == tmp_path / "data" / "hub.db"
    assert config.store.path.is_absolute()


def test_relative_and_absolute_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
        store:
          path: state/hub.db
        sources:
          near:
            type: replay
            file: captures/a.jsonl
          far:
            type: replay
            file: {tmp_path / "elsewhere" / "b.jsonl"}
        """,
    )

    config = load_config(path, environ={}, registry=registry())

    assert config.store.path == tmp_path / "state" / "hub.db"
    assert config.sources["near"].file == tmp_path / "captures" / "a.jsonl"
    assert config.sources["far"].file == tmp_path / "elsewhere" / "b.jsonl"


def test_source_type_defaults_to_the_entry_name(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  replay:\n    file: a.jsonl\n    enabled: false\n")

    config = load_config(path, environ={}, registry=registry())

    replay = config.sources["replay"]
    assert isinstance(replay, ReplaySettings)
    assert replay.type == "replay"
    assert replay.enabled is False
    assert config.enabled_sources() == {}


# --- interpolation -----------------------------------------------------------------------


def test_interpolation_of_a_set_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "hub:\n  name: ${SITE}-hub\nstore:\n  batch_size: ${BATCH}\n")

    config = load_config(path, environ={"SITE": "cabin", "BATCH": "250"})

    assert config.hub.name == "cabin-hub"
    assert config.store.batch_size == 250


def test_interpolation_uses_the_default_when_the_variable_is_missing_or_empty(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "hub:\n  name: ${SITE:-home}\nstore:\n  path: ${DIR:-var}/x.db\n  batch_size: ${B:-7}\n",
    )

    config = load_config(path, environ={"DIR": ""})

    assert config.hub.name == "home"
    assert config.store.path == tmp_path / "var" / "x.db"
    assert config.store.batch_size == 7


def test_interpolation_default_may_be_empty(tmp_path: Path) -> None:
    path = write(tmp_path, "hub:\n  name: hub${SUFFIX:-}\n")

    assert load_config(path, environ={}).hub.name == "hub"


def test_a_missing_variable_without_default_names_file_key_and_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "hub:\n  name: ${SITE}\nstore:\n  path: ${DIR}/hub.db\n")

    problems = problems_of(path)

    assert problems == [
        f"{path}: hub.name: environment variable SITE is not set or empty",
        f"{path}: store.path: environment variable DIR is not set or empty",
    ]


def test_a_missing_variable_is_a_config_problem_with_its_parts(tmp_path: Path) -> None:
    path = write(tmp_path, "hub:\n  name: ${SITE}\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})

    [problem] = caught.value.problems
    assert isinstance(problem, ConfigProblem)
    assert (problem.file, problem.key, problem.reason) == (
        str(path),
        "hub.name",
        "environment variable SITE is not set or empty",
    )


def test_double_dollar_is_a_literal(tmp_path: Path) -> None:
    path = write(tmp_path, "hub:\n  name: price-$${SITE}-${SITE}-$${X:-y}\n")

    config = load_config(path, environ={"SITE": "cabin"})

    assert config.hub.name == "price-${SITE}-cabin-${X:-y}"


def test_interpolation_reaches_into_sources(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  demo:\n    type: replay\n    file: ${CAPTURE}\n")

    config = load_config(path, environ={"CAPTURE": "/data/c.jsonl"}, registry=registry())

    assert config.sources["demo"].file == Path("/data/c.jsonl")


def test_text_without_variables_is_untouched(tmp_path: Path) -> None:
    path = write(tmp_path, "hub:\n  name: 'costs $5 {x}'\n")

    assert load_config(path, environ={}).hub.name == "costs $5 {x}"


# --- .env --------------------------------------------------------------------------------


def test_dot_env_next_to_the_config_supplies_variables(tmp_path: Path) -> None:
    path = write(tmp_path, "hub:\n  name: ${SITE}\nstore:\n  batch_size: ${BATCH:-1}\n")
    write(tmp_path, "SITE=cabin\nBATCH=42\n", name=".env")

    config = load_config(path, environ={})

    assert config.hub.name == "cabin"
    assert config.store.batch_size == 42


def test_the_real_environment_wins_over_dot_env(tmp_path: Path) -> None:
    path = write(tmp_path, "hub:\n  name: ${SITE}\n")
    write(tmp_path, "SITE=from-dotenv\n", name=".env")

    config = load_config(path, environ={"SITE": "from-environment"})

    assert config.hub.name == "from-environment"


def test_dot_env_may_hold_overrides_too(tmp_path: Path) -> None:
    path = write(tmp_path, "store:\n  batch_size: 10\n")
    write(tmp_path, "HUB__STORE__BATCH_SIZE=20\n", name=".env")

    assert load_config(path, environ={}).store.batch_size == 20
    assert load_config(path, environ={"HUB__STORE__BATCH_SIZE": "30"}).store.batch_size == 30


def test_dot_env_elsewhere_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    path = write(tmp_path / "conf", "")
    write(tmp_path, "HUB__HUB__NAME=not-mine\n", name=".env")

    assert load_config(path, environ={}).hub.name == "hub"


# --- environment overrides ---------------------------------------------------------------


def test_env_override_of_an_int_is_parsed_as_a_yaml_scalar() -> None:
    config = load_config(SHIPPED, environ={"HUB__STORE__BATCH_SIZE": "500"})

    assert config.store.batch_size == 500
    assert type(config.store.batch_size) is int


def test_env_override_of_a_string() -> None:
    config = load_config(
        SHIPPED, environ={"HUB__LOGGING__LEVEL": "DEBUG", "HUB__HUB__NAME": "attic"}
    )

    assert config.logging.level == "DEBUG"
    assert config.hub.name == "attic"


def test_env_override_of_a_duration_and_a_key_absent_from_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "")

    config = load_config(
        path,
        environ={
            "HUB__STORE__FLUSH_INTERVAL": "1m",
            "HUB__SCHEDULER__TIMEZONE": "Europe/Helsinki",
        },
    )

    assert config.store.flush_interval == 60.0
    assert config.scheduler.timezone == "Europe/Helsinki"


def test_env_override_of_a_source_key() -> None:
    config = load_config(DEMO, environ={"HUB__SOURCES__DEMO__SPEED": "0"})

    demo = config.sources["demo"]
    assert isinstance(demo, ReplaySettings)
    assert demo.speed == 0.0
    assert demo.loop is True  # the rest of the entry is kept


def test_env_override_of_a_boolean_source_key() -> None:
    config = load_config(DEMO, environ={"HUB__SOURCES__DEMO__ENABLED": "false"})

    assert config.sources["demo"].enabled is False
    assert config.enabled_sources() == {}


def test_variables_without_the_prefix_are_not_overrides() -> None:
    config = load_config(SHIPPED, environ={"HUB_STORE_BATCH_SIZE": "5", "STORE__BATCH_SIZE": "5"})

    assert config.store.batch_size == 1000


def test_env_override_into_a_scalar_is_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(SHIPPED, environ={"HUB__HUB__NAME__FIRST": "x"})

    assert [str(p) for p in caught.value.problems] == [
        f"{SHIPPED}: hub.name: is not a section, "
        "so HUB__HUB__NAME__FIRST cannot set a key inside it"
    ]


def test_malformed_env_override_is_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(SHIPPED, environ={"HUB__STORE____BATCH_SIZE": "5"})

    assert [str(p) for p in caught.value.problems] == [
        "HUB__STORE____BATCH_SIZE: malformed override: empty key between '__'"
    ]


# --- secrets from files ------------------------------------------------------------------


def test_secret_file_is_read_and_its_trailing_newline_stripped(tmp_path: Path) -> None:
    (tmp_path / "password").write_text("s3cret pass\n", encoding="utf-8")

    creds = Credentials.model_validate(
        {"password_file": "password"}, context={"base_dir": tmp_path}
    )

    assert creds.password.get_secret_value() == "s3cret pass"
    assert creds.user == "hub"


def test_secret_file_keeps_inner_whitespace_and_strips_crlf(tmp_path: Path) -> None:
    (tmp_path / "password").write_bytes(b"  two\nlines  \r\n")

    creds = Credentials.model_validate(
        {"password_file": "password"}, context={"base_dir": tmp_path}
    )

    assert creds.password.get_secret_value() == "  two\nlines  "


def test_secret_file_with_an_absolute_path(tmp_path: Path) -> None:
    secret = tmp_path / "abs" / "pw"
    secret.parent.mkdir()
    secret.write_text("abc\n", encoding="utf-8")

    creds = Credentials.model_validate(
        {"password_file": str(secret)}, context={"base_dir": tmp_path / "elsewhere"}
    )

    assert creds.password.get_secret_value() == "abc"


def test_secret_given_directly_still_works() -> None:
    creds = Credentials.model_validate({"password": "inline"})

    assert creds.password.get_secret_value() == "inline"


def test_secret_and_secret_file_together_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "password").write_text("a\n", encoding="utf-8")

    with pytest.raises(ValidationError, match="give either password or password_file, not both"):
        Credentials.model_validate(
            {"password": "b", "password_file": "password"}, context={"base_dir": tmp_path}
        )


@pytest.mark.parametrize("name", ["missing", "a-directory"])
def test_unreadable_secret_file_is_an_error(tmp_path: Path, name: str) -> None:
    (tmp_path / "a-directory").mkdir()

    with pytest.raises(ValidationError, match=f"password_file: cannot read {tmp_path / name}: "):
        Credentials.model_validate({"password_file": name}, context={"base_dir": tmp_path})


@pytest.mark.parametrize("value", ["", 5, None])
def test_secret_file_must_be_a_path(value: object) -> None:
    with pytest.raises(ValidationError, match="password_file must be a file path"):
        Credentials.model_validate({"password_file": value})


def test_secrets_are_masked_in_json_dumps_and_repr(tmp_path: Path) -> None:
    creds = Credentials.model_validate({"password": "hunter2"})

    assert creds.model_dump(mode="json") == {"user": "hub", "password": MASK}
    assert "hunter2" not in repr(creds)
    assert "hunter2" not in str(creds)


def test_secret_file_through_load_config_is_masked_in_the_effective_config(
    tmp_path: Path,
) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token").write_text("tok-123\n", encoding="utf-8")
    path = write(tmp_path, "sources:\n  vault:\n    token_file: secrets/token\n")

    config = load_config(path, environ={}, registry=registry(VAULT))

    vault = config.sources["vault"]
    assert isinstance(vault, VaultSettings)
    assert vault.token.get_secret_value() == "tok-123"
    assert effective_config(config)["sources"] == {
        "vault": {"type": "vault", "enabled": True, "token": MASK}
    }
    assert "tok-123" not in yaml.safe_dump(effective_config(config))


def test_secret_file_problems_through_load_config_are_all_reported(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("t\n", encoding="utf-8")
    path = write(
        tmp_path,
        """
        sources:
          both:
            type: vault
            token: inline
            token_file: token
          gone:
            type: vault
            token_file: nowhere/token
        """,
    )

    problems = problems_of(path, registry=registry(VAULT))

    assert problems == [
        f"{path}: sources.both: give either token or token_file, not both",
        f"{path}: sources.gone: token_file: cannot read {tmp_path / 'nowhere' / 'token'}: "
        "No such file or directory",
    ]


# --- errors ------------------------------------------------------------------------------


def test_wrong_type_names_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "store:\n  batch_size: abc\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})

    [problem] = caught.value.problems
    assert (problem.file, problem.key) == (str(path), "store.batch_size")
    assert str(problem) == (
        f"{path}: store.batch_size: Input should be a valid integer, "
        "unable to parse string as an integer (got 'abc')"
    )


def test_out_of_range_value(tmp_path: Path) -> None:
    path = write(tmp_path, "store:\n  batch_size: 0\n")

    assert problems_of(path) == [
        f"{path}: store.batch_size: Input should be greater than or equal to 1 (got 0)"
    ]


def test_missing_required_source_key(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  demo:\n    type: replay\n")

    assert problems_of(path) == [f"{path}: sources.demo.file: required key is missing"]


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    path = write(tmp_path, "store:\n  batch_sise: 5\n")

    assert problems_of(path) == [
        f"{path}: store.batch_sise: unknown key (did you mean 'batch_size'?)"
    ]


def test_unknown_key_without_close_match_lists_the_allowed_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "bus:\n  colour: red\n")

    assert problems_of(path) == [
        f"{path}: bus.colour: unknown key (allowed here: drain_timeout, queue_size)"
    ]


def test_unknown_section_suggests_the_close_one(tmp_path: Path) -> None:
    path = write(tmp_path, "stor:\n  batch_size: 5\n")

    assert problems_of(path) == [f"{path}: stor: unknown key (did you mean 'store'?)"]


def test_unknown_key_in_a_source_suggests_from_the_source_model(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  demo:\n    type: replay\n    file: a\n    sped: 2\n")

    assert problems_of(path) == [f"{path}: sources.demo.sped: unknown key (did you mean 'speed'?)"]


def test_unknown_source_type(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  attic:\n    type: zigbee\n  bluetooth: {}\n")

    assert problems_of(path, registry=registry()) == [
        f"{path}: sources.attic.type: unknown source type 'zigbee' (known: replay)",
        f"{path}: sources.bluetooth.type: unknown source type 'bluetooth' (known: replay)",
    ]


def test_the_installed_replay_source_is_known_to_discovery(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  attic:\n    type: zigbee\n")

    [problem] = problems_of(path)

    assert problem.startswith(f"{path}: sources.attic.type: unknown source type 'zigbee' (known: ")
    assert "replay" in problem


def test_a_source_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  demo: replay\n")

    assert problems_of(path) == [f"{path}: sources.demo: must be a mapping of settings"]


def test_wrong_type_set_by_the_environment_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, "store:\n  batch_size: 10\n")

    assert problems_of(path, {"HUB__STORE__BATCH_SIZE": "abc"}) == [
        f"{path}: store.batch_size: Input should be a valid integer, unable to parse string "
        "as an integer (got 'abc') (set by environment variable HUB__STORE__BATCH_SIZE)"
    ]


def test_unknown_key_set_by_the_environment_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, "")

    assert problems_of(path, {"HUB__STORE__BATCH_SISE": "5"}) == [
        f"{path}: store.batch_sise: unknown key (did you mean 'batch_size'?) "
        "(set by environment variable HUB__STORE__BATCH_SISE)"
    ]


def test_bad_source_value_set_by_the_environment_says_so() -> None:
    assert problems_of(DEMO, {"HUB__SOURCES__DEMO__SPEED": "-1"}) == [
        f"{DEMO}: sources.demo.speed: Input should be greater than or equal to 0 (got -1) "
        "(set by environment variable HUB__SOURCES__DEMO__SPEED)"
    ]


def test_a_source_type_set_by_the_environment_says_so() -> None:
    assert problems_of(DEMO, {"HUB__SOURCES__DEMO__TYPE": "zigbee"}, registry=registry()) == [
        f"{DEMO}: sources.demo.type: unknown source type 'zigbee' (known: replay) "
        "(set by environment variable HUB__SOURCES__DEMO__TYPE)"
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        hub:
          summary_interval: soon
        logging:
          level: LOUD
        store:
          batch_size: abc
          batch_sise: 5
        sources:
          demo:
            type: replay
          attic:
            type: zigbee
        """,
    )

    problems = problems_of(path, {"HUB__BUS__QUEUE_SIZE": "1"}, registry=registry())

    assert problems == [
        f"{path}: hub.summary_interval: not a duration: 'soon' "
        "(use e.g. 30s, 10m, 4h, 2d or seconds)",
        f"{path}: logging.level: Input should be 'TRACE', 'DEBUG', 'INFO', 'SUCCESS', "
        "'WARNING', 'ERROR' or 'CRITICAL' (got 'LOUD')",
        f"{path}: bus.queue_size: Input should be greater than or equal to 10 (got 1) "
        "(set by environment variable HUB__BUS__QUEUE_SIZE)",
        f"{path}: store.batch_size: Input should be a valid integer, "
        "unable to parse string as an integer (got 'abc')",
        f"{path}: store.batch_sise: unknown key (did you mean 'batch_size'?)",
        f"{path}: sources.demo.file: required key is missing",
        f"{path}: sources.attic.type: unknown source type 'zigbee' (known: replay)",
    ]


def test_sections_that_are_not_mappings(tmp_path: Path) -> None:
    path = write(tmp_path, "store: 5\nsources: [a]\n")

    assert problems_of(path) == [
        f"{path}: store: Input should be a valid dictionary or instance of StoreConfig (got 5)",
        f"{path}: sources: Input should be a valid dictionary (got ['a'])",
    ]


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- a\n- b\n")

    assert problems_of(path) == [f"{path}: must be a mapping of sections, not list"]


def test_invalid_yaml_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "hub:\n  name: hub\nstore:\n  batch_size: [1, 2\n")

    [problem] = problems_of(path)

    assert problem.startswith(f"{path}: invalid YAML: line 5, column 1: ")
    assert problem == (
        f"{path}: invalid YAML: line 5, column 1: expected ',' or ']', but got '<stream end>'"
    )


def test_invalid_yaml_indentation(tmp_path: Path) -> None:
    path = write(tmp_path, "hub:\n  name: hub\n   summary_interval: 5s\n")

    assert problems_of(path) == [
        f"{path}: invalid YAML: line 3, column 20: mapping values are not allowed here"
    ]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"

    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})

    [problem] = caught.value.problems
    assert (problem.file, problem.key, problem.reason) == (str(path), "", "file not found")
    assert str(problem) == f"{path}: file not found"
    assert str(caught.value) == f"{path}: file not found"


def test_config_problem_str_and_repr() -> None:
    problem = ConfigProblem("hub.yaml", "store.batch_size", "too big")

    assert str(problem) == "hub.yaml: store.batch_size: too big"
    assert repr(problem) == "ConfigProblem('hub.yaml', 'store.batch_size', 'too big')"
    assert str(ConfigProblem("hub.yaml", "", "file not found")) == "hub.yaml: file not found"


def test_config_error_joins_every_problem() -> None:
    error = ConfigError([ConfigProblem("f", "a", "x"), ConfigProblem("f", "b", "y")])

    assert str(error) == "f: a: x\nf: b: y"
    assert len(error.problems) == 2


# --- durations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("10m", 600.0),
        ("4h", 14_400.0),
        ("2d", 172_800.0),
        ("1w", 604_800.0),
        ("500ms", 0.5),
        ("1h30m", 5_400.0),
        ("1h 30m 15s", 5_415.0),
        ("1.5h", 5_400.0),
        (" 30S ", 30.0),
        ("90", 90.0),
        ("2.5", 2.5),
        ("0", 0.0),
        (90, 90.0),
        (0.25, 0.25),
    ],
)
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert type(parse_duration(text)) is float


@pytest.mark.parametrize(
    "value",
    ["", "abc", "10x", "s", "-5s", "5s-", "1h30", "h1", "5 s x", "nan", "inf", -1, True, None, []],
)
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


def test_parse_duration_rejects_nan_and_infinity_floats() -> None:
    for value in (math.nan, math.inf):
        with pytest.raises(ValueError, match="finite"):
            parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(30.0, "30s"), (600.0, "10m"), (14_400.0, "4h"), (172_800.0, "2d"), (5_400.0, "90m"),
     (90.0, "90s"), (0.5, "0.5s"), (0.0, "0s")],
)  # fmt: skip
def test_format_duration_round_trips(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


def test_durations_in_the_config(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hub:\n  summary_interval: 1h30m\nbus:\n  drain_timeout: 0\nstore:\n  flush_interval: 90\n",
    )

    config = load_config(path, environ={})

    assert config.hub.summary_interval == 5_400.0
    assert config.bus.drain_timeout == 0.0
    assert config.store.flush_interval == 90.0
    dumped = effective_config(config)
    assert dumped["hub"]["summary_interval"] == "90m"
    assert dumped["store"]["flush_interval"] == "90s"


def test_a_zero_duration_where_it_must_be_positive(tmp_path: Path) -> None:
    path = write(tmp_path, "store:\n  flush_interval: 0s\n")

    assert problems_of(path) == [
        f"{path}: store.flush_interval: Input should be greater than 0 (got 0.0)"
    ]


# --- effective config --------------------------------------------------------------------


def test_effective_config_round_trips_through_validation() -> None:
    config = load_config(DEMO, environ={})
    dumped = effective_config(config)

    again = HubConfig.model_validate({**dumped, "sources": {}})

    assert again.model_dump() == config.model_copy(update={"sources": {}}).model_dump()
    assert ReplaySettings.model_validate(dumped["sources"]["demo"]) == config.sources["demo"]


# --- hub check-config --------------------------------------------------------------------


def test_check_config_prints_the_effective_config(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check-config", str(DEMO)])

    out, err = capsys.readouterr()
    assert code == 0
    assert yaml.safe_load(out) == effective_config(load_config(DEMO, environ={}))
    assert yaml.safe_load(out)["sources"]["demo"]["file"] == str(
        ROOT / "config" / "demo" / "ruuvitags.jsonl"
    )
    assert err == f"{DEMO}: configuration is valid\n"


def test_check_config_applies_environment_overrides(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB__STORE__BATCH_SIZE", "500")

    assert main(["check-config", str(SHIPPED)]) == 0

    assert yaml.safe_load(capsys.readouterr().out)["store"]["batch_size"] == 500


def test_check_config_masks_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(IntegrationRegistry, "discover", classmethod(lambda cls: registry(VAULT)))
    (tmp_path / "token").write_text("tok-456\n", encoding="utf-8")
    path = write(tmp_path, "sources:\n  vault:\n    token_file: token\n")

    assert main(["check-config", str(path)]) == 0

    out, err = capsys.readouterr()
    assert "tok-456" not in out + err
    assert yaml.safe_load(out)["sources"] == {
        "vault": {"type": "vault", "enabled": True, "token": MASK}
    }


def test_check_config_reports_every_error_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        "store:\n  batch_size: abc\n  batch_sise: 5\nsources:\n  demo:\n    type: replay\n",
    )

    code = main(["check-config", str(path)])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        f"hub: invalid configuration (3 problems in {path}):",
        f"  {path}: store.batch_size: Input should be a valid integer, "
        "unable to parse string as an integer (got 'abc')",
        f"  {path}: store.batch_sise: unknown key (did you mean 'batch_size'?)",
        f"  {path}: sources.demo.file: required key is missing",
    ]


def test_check_config_of_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "absent.yaml"

    assert main(["check-config", str(path)]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"hub: invalid configuration (1 problem in {path}):",
        f"  {path}: file not found",
    ]


def test_check_config_uses_hub_config_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_CONFIG", str(DEMO))

    assert main(["check-config"]) == 0

    assert yaml.safe_load(capsys.readouterr().out)["hub"]["name"] == "demo"


# -- devices --------------------------------------------------------------------------------


def test_devices_are_keyed_by_normalised_address_with_keys_and_disabled(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    secret = tmp_path / "key"
    secret.write_text("231D39C1D7CC1AB1AEE224CD096DB932\n")
    path.write_text(
        "devices:\n"
        "  a4:c1:38:12:34:56: {bindkey_file: key}\n"
        "  A4-C1-38-00-00-01: {disabled: true}\n"
    )
    config = load_config(path, environ={})
    assert set(config.devices) == {"A4:C1:38:12:34:56", "A4:C1:38:00:00:01"}
    assert config.device_keys() == {
        "A4:C1:38:12:34:56": bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
    }
    assert config.disabled_devices() == {"A4:C1:38:00:00:01"}
    dumped = config.model_dump(mode="json")
    assert dumped["devices"]["A4:C1:38:12:34:56"]["bindkey"] == "**********"


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("devices:\n  kitchen: {}\n", "devices: device key 'kitchen': address 'kitchen' is not"),
        (
            "devices:\n  A4:C1:38:12:34:56: {bindkey: 1234}\n",
            "devices.A4:C1:38:12:34:56.bindkey: ",
        ),
        (
            "devices:\n  A4:C1:38:12:34:56: {bindkey: abcd}\n",
            "bindkey must be 32 hex characters (16 bytes), or 24 for old MiBeacon; got 4",
        ),
        (
            "devices:\n  A4:C1:38:12:34:56: {bindkey: zz}\n",
            "bindkey must be hexadecimal",
        ),
        (
            "devices:\n  A4:C1:38:12:34:56: {}\n  a4:c1:38:12:34:56: {}\n",
            "device A4:C1:38:12:34:56 is configured twice",
        ),
    ],
)
def test_bad_devices_are_named(tmp_path: Path, yaml_text: str, expected: str) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    message = str(info.value)
    assert expected in message
    for secret in ("1234", "abcd", "zz"):
        assert secret not in message.split("bindkey")[-1], "a key is never echoed"


@pytest.mark.parametrize(
    ("calibration", "expected"),
    [
        ("{offset: 1, points: [[1, 1], [2, 2]]}", "give either offset or points"),
        ("{}", "give either offset or points"),
        ("{points: [[5, 1], [5, 2]]}", "the two points need different measured values"),
        ("{points: [[5, 1]]}", "devices.A4:C1:38:12:34:56.calibration.humidity.points"),
    ],
)
def test_bad_calibrations_are_named(tmp_path: Path, calibration: str, expected: str) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(
        f"devices:\n  A4:C1:38:12:34:56:\n    calibration:\n      humidity: {calibration}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert expected in str(info.value)


def test_a_two_point_calibration_maps_measured_onto_reference() -> None:
    from hub.config.models import Calibration

    salt_test = Calibration(points=((76.1, 75.3), (34.0, 33.0)))
    assert salt_test.apply(76.1) == 75.3
    assert salt_test.apply(34.0) == 33.0
    assert salt_test.apply(55.05) == 54.15
    assert Calibration(offset=-0.3).apply(21.5) == 21.2
