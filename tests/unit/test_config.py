from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from aiowsgi import Config
from aiowsgi.cli import build_parser
from aiowsgi.config import (
    config_from_env,
    config_from_kwargs,
    config_to_argv,
    env_name,
    flags_of,
    option_fields,
    parse_option,
)
from aiowsgi.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_valid() -> None:
    config = Config()
    assert (config.host, config.port, config.threads) == ("127.0.0.1", 8000, 8)


def test_every_field_is_a_documented_option() -> None:
    for f in option_fields():
        assert f.metadata["option"].help, f.name
        # The first flag is the field's name, but where a peer's established spelling reads better.
        renamed = {"keep_alive_timeout": "--keep-alive-timeout", "reload_dirs": "--reload-dir"}
        assert flags_of(f)[0] == renamed.get(f.name, "--" + f.name.replace("_", "-"))
        assert env_name(f) == "AIOWSGI_" + f.name.upper()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"port": 70000}, "port"),
        ({"port": True}, "port"),
        ({"threads": 0}, "threads"),
        ({"http": "nghttp2"}, "http"),
        ({"keep_alive_timeout": -1}, "keep_alive_timeout"),
        ({"bind": [1]}, "bind"),
    ],
)
def test_bad_values_name_the_option(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config(**options)  # type: ignore[arg-type]


def test_unknown_keyword_is_named() -> None:
    with pytest.raises(ConfigError, match="thread_count"):
        config_from_kwargs({"thread_count": 3})


def test_ints_are_accepted_for_seconds_and_lists_for_binds() -> None:
    config = Config(keep_alive_timeout=2, bind=["127.0.0.1:1", "unix:/tmp/x"])
    assert config.keep_alive_timeout == 2.0
    assert isinstance(config.keep_alive_timeout, float)
    assert config.bind == ("127.0.0.1:1", "unix:/tmp/x")


def test_environment_variables_are_parsed_per_field() -> None:
    found = config_from_env(
        {"AIOWSGI_THREADS": "3", "AIOWSGI_ACCESS_LOG": "off", "AIOWSGI_BIND": "a:1 b:2", "OTHER": "x"}
    )
    assert found == {"threads": 3, "access_log": False, "bind": ("a:1", "b:2")}


def test_bad_environment_value_names_the_option() -> None:
    field = next(f for f in option_fields() if f.name == "threads")
    with pytest.raises(ConfigError, match="threads"):
        parse_option(field, "many")


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().port = 1  # type: ignore[misc]


def test_options_doc_is_up_to_date() -> None:
    """docs/options.md is generated from Config; regenerate it with scripts/build_options_doc.py."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_options_doc.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_argv_for_a_child_gives_back_the_config_even_for_values_that_start_with_a_dash() -> None:
    config = Config(
        access_log_format="-%(h)s %(s)s",
        root_path="-prefix",
        bind=("127.0.0.1:0", "unix:/tmp/-x.sock"),
        access_log=False,
        threads=3,
    )
    options = vars(build_parser().parse_args(["app:app", *config_to_argv(config)]))
    options.pop("app")
    assert Config(**options) == config
