"""Config files, the merge of flags, environment, file and defaults, and the suggestions for unknown names."""

from __future__ import annotations

import tomllib
from collections import defaultdict
from pathlib import Path

import pytest

from aiowsgi import Config
from aiowsgi.config import (
    closest_option,
    config_from_kwargs,
    flags_of,
    option_fields,
    option_keys,
    unknown_env_variables,
)
from aiowsgi.config_sources import (
    ConfigFile,
    EffectiveConfig,
    find_config_file,
    merge_sources,
    read_config_file,
    render_toml,
)
from aiowsgi.errors import ConfigError
from aiowsgi.supervisor.children import server_command


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# Key spellings -----------------------------------------------------------------------------------------


def test_no_key_spelling_names_two_options() -> None:
    owners: defaultdict[str, set[str]] = defaultdict(set)
    for f in option_fields():
        for spelling in (f.name, *(flag[2:] for flag in flags_of(f) if flag.startswith("--"))):
            owners[spelling.replace("-", "_")].add(f.name)
    assert {spelling: names for spelling, names in owners.items() if len(names) > 1} == {}
    assert set(option_keys().values()) == {f.name for f in option_fields()}


@pytest.mark.parametrize(
    ("key", "option"),
    [
        ("threads", "threads"),
        ("keep_alive_timeout", "keep_alive_timeout"),
        ("keep-alive-timeout", "keep_alive_timeout"),
        ("timeout-keep-alive", "keep_alive_timeout"),  # Uvicorn's flag
        ("timeout_keep_alive", "keep_alive_timeout"),  # Uvicorn's setting
        ("keep-alive", "keep_alive_timeout"),
        ("reload-dir", "reload_dirs"),
        ("reload_dirs", "reload_dirs"),
        ("access-log", "access_log"),
    ],
)
def test_a_file_key_is_an_option_name_or_a_long_flag(key: str, option: str) -> None:
    assert option_keys()[key] == option


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("thread", "threads"),
        ("keepalive", "keep_alive_timeout"),
        ("acces_log", "access_log"),
        ("xyzzy", None),
    ],
)
def test_closest_option(key: str, suggestion: str | None) -> None:
    assert closest_option(key) == suggestion


# Reading a file -----------------------------------------------------------------------------------------


def test_a_file_gives_checked_values_and_the_app(tmp_path: Path) -> None:
    path = write(
        tmp_path / "aiowsgi.toml",
        'app = "pkg.wsgi:app"\nthreads = 16\nkeep-alive = 2\nbind = ["0.0.0.0:8000"]\naccess_log = false\n',
    )
    found = read_config_file(path, "aiowsgi.toml")
    assert found == ConfigFile(
        "aiowsgi.toml",
        {"threads": 16, "keep_alive_timeout": 2.0, "bind": ("0.0.0.0:8000",), "access_log": False},
        "pkg.wsgi:app",
    )
    assert found is not None
    assert isinstance(found.options["keep_alive_timeout"], float)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("thread = 3", ["unknown option 'thread' in aiowsgi.toml; did you mean 'threads'?"]),
        ('threads = "16"', ["aiowsgi.toml: option threads: expected int, got '16'"]),
        ("threads = 0", ["aiowsgi.toml: option threads:", "at least 1"]),
        ('http = "spdy"', ["aiowsgi.toml: option http:", "h11"]),
        ("access_log = 1", ["aiowsgi.toml: option access_log: expected bool"]),
        ("port = true", ["aiowsgi.toml: option port"]),
        ("bind = [1]", ["aiowsgi.toml: option bind"]),
        ("keep-alive = 1\nkeep_alive_timeout = 2", ["keep_alive_timeout is given twice", "'keep-alive'"]),
        ("app = 3", ["aiowsgi.toml: app must be a string"]),
        ("threads = ", ["aiowsgi.toml is not valid TOML"]),
        ("[threads]\nn = 1", ["aiowsgi.toml: option threads: expected int"]),
    ],
)
def test_a_bad_file_names_itself_and_the_option(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = write(tmp_path / "aiowsgi.toml", text)
    with pytest.raises(ConfigError) as raised:
        read_config_file(path, "aiowsgi.toml")
    for fragment in fragments:
        assert fragment in str(raised.value)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read config file .*nope\.toml"):
        read_config_file(tmp_path / "nope.toml")


# Which file ---------------------------------------------------------------------------------------------


def test_no_file_in_the_directory(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    assert find_config_file(tmp_path) == (None, [])


def test_pyproject_table_when_there_is_no_aiowsgi_toml(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.aiowsgi]\nthreads = 5\n")
    found, warnings = find_config_file(tmp_path)
    assert found == ConfigFile("pyproject.toml [tool.aiowsgi]", {"threads": 5}, None)
    assert warnings == []


def test_aiowsgi_toml_wins_over_pyproject_and_says_so(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.aiowsgi]\nthreads = 5\n")
    write(tmp_path / "aiowsgi.toml", "threads = 6\n")
    found, warnings = find_config_file(tmp_path)
    assert found == ConfigFile("aiowsgi.toml", {"threads": 6}, None)
    assert warnings == [
        "aiowsgi.toml is read, so pyproject.toml [tool.aiowsgi] is ignored (only one file is read)"
    ]


def test_a_pyproject_that_is_not_read_is_not_checked(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.aiowsgi]\nthread = 5\n")
    write(tmp_path / "aiowsgi.toml", "threads = 6\n")
    found, warnings = find_config_file(tmp_path)
    assert found == ConfigFile("aiowsgi.toml", {"threads": 6}, None)
    assert len(warnings) == 1
    write(tmp_path / "pyproject.toml", "not toml [")
    assert find_config_file(tmp_path) == (found, [])


def test_a_pyproject_tool_aiowsgi_that_is_not_a_table(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool]\naiowsgi = 3\n")
    with pytest.raises(ConfigError, match=r"\[tool\.aiowsgi\] must be a table"):
        find_config_file(tmp_path)


# Merging ------------------------------------------------------------------------------------------------


def test_flags_win_over_environment_over_file_over_defaults() -> None:
    config_file = ConfigFile(
        "aiowsgi.toml", {"threads": 3, "backlog": 100, "keep_alive_timeout": 2.0}, "file.app:app"
    )
    effective = merge_sources({"backlog": 300}, {"threads": 4, "backlog": 200}, config_file, None)
    assert (effective.config.threads, effective.config.backlog, effective.config.keep_alive_timeout) == (
        4,
        300,
        2.0,
    )
    assert effective.config.port == 8000
    assert effective.app == "file.app:app"
    assert effective.origins["threads"] == "env AIOWSGI_THREADS"
    assert effective.origins["backlog"] == "flag"
    assert effective.origins["keep_alive_timeout"] == "file aiowsgi.toml"
    assert effective.origins["port"] == "default"
    assert effective.origins["app"] == "file aiowsgi.toml"


def test_the_app_on_the_command_line_wins_over_the_file() -> None:
    effective = merge_sources({}, {}, ConfigFile("f.toml", {}, "file.app:app"), "flag.app:app")
    assert (effective.app, effective.origins["app"]) == ("flag.app:app", "flag")
    nowhere = merge_sources({}, {}, None, None)
    assert (nowhere.app, nowhere.origins["app"]) == (None, "not set")


def test_options_that_conflict_across_sources_are_still_checked_together() -> None:
    with pytest.raises(ConfigError, match="--reload"):
        merge_sources({"reload": True}, {}, ConfigFile("f.toml", {"workers": 2}, None), "a:b")


# --print-config -----------------------------------------------------------------------------------------


def test_printed_config_reads_back_as_the_same_config(tmp_path: Path) -> None:
    config = Config(
        access_log_format='%(h)s "%(r)s" \\ \t\x7f é',
        root_path="/prefix",
        bind=("127.0.0.1:0", "unix:/tmp/x.sock"),
        access_log=False,
        keep_alive_timeout=0.25,
        limit_request_body=10**12,
        reload_include=(),
    )
    printed = render_toml(EffectiveConfig(config, "app:app", _all("flag")))
    path = write(tmp_path / "printed.toml", printed)
    read = read_config_file(path)
    assert read is not None
    assert read.app == "app:app"
    assert Config(**read.options) == config
    assert "access_log = false  # flag" in printed


def test_printed_config_masks_secrets_that_are_set() -> None:
    effective = merge_sources({}, {"ssl_keyfile_password": "s3cret"}, None, None)
    printed = render_toml(effective)
    assert "s3cret" not in printed
    assert 'ssl_keyfile_password = "***"  # env AIOWSGI_SSL_KEYFILE_PASSWORD' in printed
    assert '# app = "MODULE:ATTR"  # not set' in printed
    assert tomllib.loads(printed)["ssl_keyfile_password"] == "***"
    assert 'ssl_keyfile_password = ""  # default' in render_toml(merge_sources({}, {}, None, None))


def _all(origin: str) -> dict[str, str]:
    return {"app": origin} | {f.name: origin for f in option_fields()}


# Unknown names elsewhere --------------------------------------------------------------------------------


def test_an_unknown_keyword_suggests_the_closest_option() -> None:
    with pytest.raises(ConfigError, match=r"unknown option 'thread'; did you mean 'threads'\?"):
        config_from_kwargs({"thread": 3})
    # A file may say timeout_keep_alive; a keyword argument is the option's name, and is told so.
    with pytest.raises(ConfigError, match=r"'timeout_keep_alive'; did you mean 'keep_alive_timeout'\?"):
        config_from_kwargs({"timeout_keep_alive": 3})


def test_unknown_environment_variables_are_warnings_with_a_suggestion() -> None:
    environ = {
        "AIOWSGI_THREAD": "3",
        "AIOWSGI_THREADS": "3",
        "AIOWSGI_SUPERVISOR_FD": "7",
        "AIOWSGI_XYZZY": "1",
        "PATH": "/bin",
    }
    assert unknown_env_variables(environ, also_known=("AIOWSGI_SUPERVISOR_FD",)) == [
        "AIOWSGI_THREAD is not an aiowsgi option and is ignored; did you mean AIOWSGI_THREADS?",
        "AIOWSGI_XYZZY is not an aiowsgi option and is ignored",
    ]


def test_a_child_reads_no_config_file() -> None:
    assert "--no-config" in server_command("app:app", Config(threads=3), [])
