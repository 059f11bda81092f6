"""The command line's logging options as a user runs them: --access-log-format and --log-config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.process._proc import run_cli, serving

HELLO = "tests.apps.hello:app"
TAGGED = "FILE %(name)s %(levelname)s %(message)s"


def json_lines(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_json_access_lines_on_stderr(how: str) -> None:
    args = [HELLO, "--access-log-format", "json"] if how == "flag" else [HELLO]
    env = {"AIOWSGI_ACCESS_LOG_FORMAT": "json"} if how == "environment" else None
    with serving(args, env=env) as server:
        response = server.get("/page%20one?n=1", "User-Agent: probe/1\r\nX-Request-ID: abc-123\r\n")
        assert response.status == 200
        assert server.get("/two").status == 200
        assert server.stop() == 0
        first, second = json_lines(server.stderr)
    assert first == {
        "time": first["time"],
        "client": "127.0.0.1",
        "method": "GET",
        "path": "/page one",
        "query": "n=1",
        "protocol": "HTTP/1.1",
        "status": 200,
        "bytes": len(b"Hello, world!"),
        "duration": first["duration"],
        "user_agent": "probe/1",
        "referer": None,
        "request_id": "abc-123",
    }
    assert isinstance(first["duration"], float)
    assert isinstance(first["time"], str)
    assert first["time"].endswith("Z")
    assert second["path"] == "/two"
    assert "request_id" not in second


def test_a_gunicorn_format_on_stderr() -> None:
    access_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
    with serving([HELLO, "--access-log-format", access_format]) as server:
        assert server.get("/g?x=1", "Referer: http://r/\r\nUser-Agent: ua\r\n").status == 200
        found = server.wait_for_line(r'"GET /g\?x=1 HTTP/1\.1"')
        assert server.stop() == 0
    assert found.string.startswith("127.0.0.1 - - [")
    assert found.string.rstrip("\n").endswith('"GET /g?x=1 HTTP/1.1" 200 13 "http://r/" "ua"')


def test_an_unknown_atom_stops_the_command_line_before_it_starts() -> None:
    result = run_cli([HELLO, "--port", "0", "--access-log-format", "%(h)s %(nope)s"])
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("aiowsgi: error: option access_log_format: unknown atom %(nope)s")
    assert "Traceback" not in result.stderr
    assert "listening" not in result.stderr


# --log-config -------------------------------------------------------------------------------------------


def dict_config(log_file: Path) -> dict[str, object]:
    """A log file with its own format for both loggers, and the error log's messages on stderr too."""
    return {
        "version": 1,
        "formatters": {"tagged": {"format": TAGGED}, "plain": {"format": "%(message)s"}},
        "handlers": {
            "file": {"class": "logging.FileHandler", "filename": str(log_file), "formatter": "tagged"},
            "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "plain"},
        },
        "loggers": {
            "aiowsgi.error": {"handlers": ["file", "stderr"], "propagate": False},
            "aiowsgi.access": {"handlers": ["file"], "propagate": False},
        },
    }


def toml_config(log_file: Path) -> str:
    return f"""version = 1

[formatters.tagged]
format = "{TAGGED}"

[formatters.plain]
format = "%(message)s"

[handlers.file]
class = "logging.FileHandler"
filename = {json.dumps(str(log_file))}
formatter = "tagged"

[handlers.stderr]
class = "logging.StreamHandler"
stream = "ext://sys.stderr"
formatter = "plain"

[loggers."aiowsgi.error"]
handlers = ["file", "stderr"]
propagate = false

[loggers."aiowsgi.access"]
handlers = ["file"]
propagate = false
"""


def ini_config(log_file: Path) -> str:
    return f"""[loggers]
keys = root, error, access

[handlers]
keys = file, stderr

[formatters]
keys = tagged, plain

[logger_root]
handlers =

[logger_error]
qualname = aiowsgi.error
handlers = file, stderr
propagate = 0

[logger_access]
qualname = aiowsgi.access
handlers = file
propagate = 0

[handler_file]
class = FileHandler
formatter = tagged
args = ({str(log_file)!r}, "a")

[handler_stderr]
class = StreamHandler
formatter = plain
args = (sys.stderr,)

[formatter_tagged]
format = {TAGGED}

[formatter_plain]
format = %(message)s
"""


def write_config(tmp_path: Path, suffix: str, log_file: Path) -> Path:
    path = tmp_path / f"logging{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(dict_config(log_file)))
    elif suffix == ".toml":
        path.write_text(toml_config(log_file))
    else:
        path.write_text(ini_config(log_file))
    return path


@pytest.mark.parametrize("suffix", [".json", ".toml", ".ini"])
def test_a_log_config_file_gets_the_error_and_access_lines(tmp_path: Path, suffix: str) -> None:
    log_file = tmp_path / "server.log"
    config = write_config(tmp_path, suffix, log_file)
    with serving([HELLO, "--log-config", str(config)]) as server:
        assert server.get("/logged%25s?q=%25d").status == 200
        assert server.stop() == 0
        stderr = server.stderr
    logged = log_file.read_text().splitlines()
    assert any(
        line.startswith("FILE aiowsgi.error INFO aiowsgi ") and "listening on" in line for line in logged
    )
    access = [line for line in logged if line.startswith("FILE aiowsgi.access INFO ")]
    assert len(access) == 1, logged
    assert '"GET /logged%25s?q=%25d HTTP/1.1" 200 13 ' in access[0]
    assert "/logged" not in stderr  # the file's config sends access lines to the file only
    assert "FILE " not in stderr


def test_a_log_config_with_json_lines(tmp_path: Path) -> None:
    log_file = tmp_path / "server.log"
    config = write_config(tmp_path, ".json", log_file)
    with serving([HELLO, "--log-config", str(config), "--access-log-format", "json"]) as server:
        assert server.get("/j").status == 200
        assert server.stop() == 0
    (access,) = (line for line in log_file.read_text().splitlines() if "aiowsgi.access" in line)
    assert json.loads(access.removeprefix("FILE aiowsgi.access INFO "))["path"] == "/j"


def test_workers_apply_the_log_config_too(tmp_path: Path) -> None:
    log_file = tmp_path / "server.log"
    config = write_config(tmp_path, ".json", log_file)
    with serving([HELLO, "--workers", "2", "--log-config", str(config)]) as server:
        assert server.get("/from-a-worker").status == 200
        assert server.stop() == 0
    logged = log_file.read_text()
    assert "FILE aiowsgi.error INFO aiowsgi supervisor (pid" in logged
    assert '"GET /from-a-worker HTTP/1.1" 200 ' in logged


def test_reload_applies_the_log_config_in_the_supervisor_and_the_server(tmp_path: Path) -> None:
    log_file = tmp_path / "server.log"
    config = write_config(tmp_path, ".toml", log_file)
    watched = tmp_path / "watched"
    watched.mkdir()
    args = [HELLO, "--reload", "--reload-dir", str(watched), "--log-config", str(config)]
    with serving(args) as server:
        assert server.get("/from-the-child").status == 200
        assert server.stop() == 0
    logged = log_file.read_text()
    assert "FILE aiowsgi.error INFO aiowsgi reloader on " in logged
    assert '"GET /from-the-child HTTP/1.1" 200 ' in logged


@pytest.mark.parametrize(
    ("content", "name", "fragment"),
    [
        (None, "absent.json", "No such file or directory"),
        ("{", "broken.json", "Expecting property name"),
        ('{"version": 1, "handlers": {"h": {"class": "logging.Nope"}}}', "bad.json", "Unable to configure"),
        ("[formatters]\nkeys = f\n", "bad.ini", "formatter_f"),
        ("version: 1\n", "logging.yaml", "expected a .json or .toml file"),
    ],
)
def test_a_bad_log_config_is_one_clear_error(
    tmp_path: Path, content: str | None, name: str, fragment: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    result = run_cli([HELLO, "--port", "0", "--log-config", str(path)])
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip()
    assert message.startswith(f"aiowsgi: error: --log-config {path}: "), message
    assert fragment in message
    assert "\n" not in message
    assert "Traceback" not in message
