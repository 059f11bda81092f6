"""Where the command line's options come from, and which source wins.

The rules this module keeps:

1. Per option, a flag wins over an `AIOWSGI_<NAME>` variable, which wins over the config file, which wins
   over the default. The application (`MODULE:ATTR`) follows the same order, from the positional argument
   or the file's `app` key.
2. At most one config file is read, and files are never merged: `--config FILE` when given; otherwise
   `./aiowsgi.toml` when it exists; otherwise the `[tool.aiowsgi]` table of `./pyproject.toml` when it has
   one. `--no-config` reads none (supervisors start their children with it: a child is given every option
   on its command line and must not find a different file).
3. A file's keys are option names (`keep_alive_timeout`), or a long flag without its dashes
   (`keep-alive-timeout`, `timeout-keep-alive`), see `config.option_keys`, plus `app`. An unknown key is an
   error naming the key and the file, with the closest option.
4. A file's values are TOML values checked exactly as keyword arguments are (`config.check_option`): an
   integer is fine for seconds, a list for a repeatable option, and a string is never parsed into a number.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import (
    Config,
    check_option,
    config_from_kwargs,
    env_name,
    option_fields,
    option_keys,
    spec_of,
    unknown_option_message,
)
from .errors import ConfigError

CONFIG_FILE = "aiowsgi.toml"
PYPROJECT = "pyproject.toml"
PYPROJECT_TABLE = ("tool", "aiowsgi")
APP_KEY = "app"
MASK = "***"


@dataclass(frozen=True, slots=True)
class CommandOption:
    """An option of the command line alone, not a Config field.

    It says where the configuration comes from, or what to do with it: an embedded server has no use for it.
    """

    flag: str
    help: str
    metavar: str | None = None  # None: a switch that takes no value


COMMAND_LINE_OPTIONS = (
    CommandOption(
        "--config",
        "Read options from this TOML file: keys are option names (threads = 16, keep_alive_timeout = 5, "
        f'bind = ["0.0.0.0:8000"]) or flag spellings (keep-alive-timeout), and {APP_KEY} = "MODULE:ATTR" '
        f"may name the application. Without it, ./{CONFIG_FILE} is read when it exists, else the "
        f"[tool.aiowsgi] table of ./{PYPROJECT}; only one file is ever read. Flags and AIOWSGI_* "
        "variables win over the file.",
        metavar="FILE",
    ),
    CommandOption("--no-config", f"Read no config file, not even ./{CONFIG_FILE} or ./{PYPROJECT}."),
    CommandOption(
        "--print-config",
        "Print the effective configuration (every option, as TOML that --config reads back, each with "
        "where its value came from: default, file, env or flag; secrets masked) and exit.",
    ),
    CommandOption(
        "--check-config",
        "Check the configuration and import the application, then exit: 0 and 'config OK', or 1 and "
        "what is wrong.",
    ),
)


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """The options one config file sets, checked one by one."""

    label: str  # how messages name it: the path given, or "pyproject.toml [tool.aiowsgi]"
    options: dict[str, Any]
    app: str | None


def read_config_file(path: Path, label: str | None = None, table: tuple[str, ...] = ()) -> ConfigFile | None:
    """The options in TOML file `path` (in its `table`, e.g. ("tool", "aiowsgi")), or None if it has no
    such table.

    Raises:
        ConfigError: the file cannot be read or is not TOML, or a key or value is wrong; the message names
            the file (and the key, with the closest option for an unknown one).
    """
    shown = label or str(path)
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {shown}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown} is not valid TOML: {exc}") from None
    section: Any = document
    for name in table:
        section = section.get(name)
        if section is None:
            return None
        if not isinstance(section, dict):
            raise ConfigError(f"{shown}: [{'.'.join(table)}] must be a table")
    return _config_file(section, shown)


def _config_file(document: Mapping[str, Any], label: str) -> ConfigFile:
    keys = option_keys()
    fields = {f.name: f for f in option_fields()}
    options: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    app = None
    for key, value in document.items():
        if key == APP_KEY:
            if not isinstance(value, str):
                raise ConfigError(f"{label}: {APP_KEY} must be a string MODULE:ATTR, got {value!r}")
            app = value
            continue
        name = keys.get(key)
        if name is None:
            raise ConfigError(unknown_option_message(key, label))
        if name in options:
            raise ConfigError(f"{label}: option {name} is given twice, as {spelled[name]!r} and {key!r}")
        try:
            options[name] = check_option(fields[name], value)
        except ConfigError as exc:
            raise ConfigError(f"{label}: {exc}") from None
        spelled[name] = key
    return ConfigFile(label, options, app)


def find_config_file(directory: Path) -> tuple[ConfigFile | None, list[str]]:
    """The config file read when --config is not given (rule 2), and warnings about one left unread."""
    dedicated = directory / CONFIG_FILE
    pyproject = directory / PYPROJECT
    pyproject_label = f"{PYPROJECT} [{'.'.join(PYPROJECT_TABLE)}]"
    if dedicated.is_file():
        warnings = []
        if _has_table(pyproject, PYPROJECT_TABLE):
            warnings.append(f"{CONFIG_FILE} is read, so {pyproject_label} is ignored (only one file is read)")
        return read_config_file(dedicated, CONFIG_FILE), warnings
    if pyproject.is_file():
        return read_config_file(pyproject, pyproject_label, PYPROJECT_TABLE), []
    return None, []


def _has_table(path: Path, table: tuple[str, ...]) -> bool:
    """Whether TOML file `path` has `table`; a file that cannot be read has none, since it is not used."""
    try:
        with path.open("rb") as file:
            section: Any = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError):
        return False
    for name in table:
        if not isinstance(section, dict) or name not in section:
            return False
        section = section[name]
    return True


@dataclass(frozen=True, slots=True)
class EffectiveConfig:
    """The merged configuration, the application, and where each value came from."""

    config: Config
    app: str | None
    origins: dict[str, str]  # option name (and "app") -> "default", "file LABEL", "env VARIABLE" or "flag"


def merge_sources(
    flags: Mapping[str, Any],
    environment: Mapping[str, Any],
    config_file: ConfigFile | None,
    app_flag: str | None,
) -> EffectiveConfig:
    """Apply rule 1: each option from the first of flags, environment, file that sets it, else its default.

    Raises:
        ConfigError: the merged options do not make a valid Config.
    """
    file_options = config_file.options if config_file else {}
    options: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for f in option_fields():
        for source, origin in (
            (flags, "flag"),
            (environment, f"env {env_name(f)}"),
            (file_options, f"file {config_file.label}" if config_file else ""),
        ):
            if f.name in source:
                options[f.name] = source[f.name]
                origins[f.name] = origin
                break
        else:
            origins[f.name] = "default"
    app = app_flag
    origins[APP_KEY] = "flag"
    if app is None and config_file is not None and config_file.app is not None:
        app, origins[APP_KEY] = config_file.app, f"file {config_file.label}"
    elif app is None:
        origins[APP_KEY] = "not set"
    return EffectiveConfig(config_from_kwargs(options), app, origins)


def render_toml(effective: EffectiveConfig) -> str:
    """Every option as TOML that --config reads back, each with a comment saying where it came from.

    Secrets that are set are shown as "***" (so the output is safe to paste, and must be completed before
    it is used).
    """
    lines = ["# The effective aiowsgi configuration; `python -m aiowsgi --config FILE` reads it back."]
    if effective.app is None:
        lines.append(f'# {APP_KEY} = "MODULE:ATTR"  # not set')
    else:
        lines.append(f"{APP_KEY} = {_toml_value(effective.app)}  # {effective.origins[APP_KEY]}")
    section = None
    for f in option_fields():
        spec = spec_of(f)
        if spec.section != section:
            section = spec.section
            lines += ["", f"# {section}"]
        value = getattr(effective.config, f.name)
        shown = _toml_value(MASK if spec.secret and value != f.default else value)
        lines.append(f"{f.name} = {shown}  # {effective.origins[f.name]}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped and JSON leaves alone.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")
