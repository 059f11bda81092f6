"""`python -m aiowsgi` with config files: --config, ./aiowsgi.toml, pyproject.toml [tool.aiowsgi],
--print-config, --check-config, and the same options in --workers children."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.process._proc import STARTUP_LINE, run_cli, serving, wait_until

HELLO = "tests.apps.hello:app"
QUICK = ["--graceful-timeout", "5", "--no-access-log"]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def worker_threads(text: str) -> list[str]:
    """The thread count of each startup line in `text`."""
    return [found["threads"] for found in STARTUP_LINE.finditer(text)]


def test_print_config_shows_each_value_from_the_source_that_wins(tmp_path: Path) -> None:
    write(
        tmp_path / "aiowsgi.toml",
        f'app = "{HELLO}"\nthreads = 3\nbacklog = 100\nkeep-alive-timeout = 2\nroot_path = "/file"\n',
    )
    env = {"AIOWSGI_THREADS": "4", "AIOWSGI_BACKLOG": "200", "AIOWSGI_SSL_KEYFILE_PASSWORD": "s3cret"}
    result = run_cli(["--print-config", "--backlog", "300"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f'app = "{HELLO}"  # file aiowsgi.toml' in lines
    assert "threads = 4  # env AIOWSGI_THREADS" in lines
    assert "backlog = 300  # flag" in lines
    assert "keep_alive_timeout = 2.0  # file aiowsgi.toml" in lines
    assert 'root_path = "/file"  # file aiowsgi.toml' in lines
    assert "port = 8000  # default" in lines
    assert 'ssl_keyfile_password = "***"  # env AIOWSGI_SSL_KEYFILE_PASSWORD' in lines
    assert "s3cret" not in result.stdout + result.stderr
    printed = tomllib.loads(result.stdout)
    assert (printed["threads"], printed["backlog"], printed["access_log"]) == (4, 300, True)


def test_printed_config_runs_the_same_server(tmp_path: Path) -> None:
    write(tmp_path / "aiowsgi.toml", f'app = "{HELLO}"\nthreads = 3\naccess_log = false\n')
    printed = run_cli(["--print-config"], cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    write(tmp_path / "printed.toml", printed.stdout)
    again = run_cli(["--config", "printed.toml", "--print-config"], cwd=tmp_path)
    assert tomllib.loads(again.stdout) == tomllib.loads(printed.stdout)


def test_a_server_from_a_file_alone(tmp_path: Path) -> None:
    write(tmp_path / "aiowsgi.toml", f'app = "{HELLO}"\nbind = ["127.0.0.1:0"]\nthreads = 3\n')
    with serving(["--config", "aiowsgi.toml"], cwd=tmp_path, port_zero=False) as server:
        assert server.startup["threads"] == "3"
        response = server.get("/")
        assert (response.status, response.body) == (200, b"Hello, world!")
        assert "options from aiowsgi.toml" in server.stderr
        assert server.stop() == 0


def test_aiowsgi_toml_in_the_working_directory_is_read_without_config(tmp_path: Path) -> None:
    write(tmp_path / "aiowsgi.toml", f'app = "{HELLO}"\nthreads = 2\n')
    with serving([], cwd=tmp_path) as server:
        assert server.startup["threads"] == "2"
    skipped = run_cli(["--no-config", "--print-config"], cwd=tmp_path)
    assert "threads = 8  # default" in skipped.stdout


def test_pyproject_tool_aiowsgi_is_read_and_an_explicit_config_wins_over_it(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        f'[project]\nname = "x"\n\n[tool.aiowsgi]\napp = "{HELLO}"\nthreads = 5\n',
    )
    result = run_cli(["--print-config"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "threads = 5  # file pyproject.toml [tool.aiowsgi]" in result.stdout
    write(tmp_path / "other.toml", "threads = 6\n")
    explicit = run_cli(["--config", "other.toml", "--print-config"], cwd=tmp_path)
    assert "threads = 6  # file other.toml" in explicit.stdout
    assert "# app = " in explicit.stdout  # nothing from pyproject.toml: only one file is read


def test_aiowsgi_toml_next_to_a_pyproject_table_warns_that_the_table_is_ignored(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.aiowsgi]\nthreads = 5\n")
    write(tmp_path / "aiowsgi.toml", "threads = 6\n")
    result = run_cli(["--print-config"], cwd=tmp_path)
    assert "threads = 6  # file aiowsgi.toml" in result.stdout
    assert "pyproject.toml [tool.aiowsgi] is ignored" in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("thread = 3\n", "aiowsgi: error: unknown option 'thread' in aiowsgi.toml; did you mean 'threads'?"),
        ("keepalive = 3\n", "did you mean 'keep_alive_timeout'?"),
        ('threads = "3"\n', "aiowsgi: error: aiowsgi.toml: option threads: expected int, got '3'"),
    ],
)
def test_a_mistake_in_the_file_fails_at_once_with_one_line(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path / "aiowsgi.toml", text)
    result = run_cli([HELLO], cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_application_anywhere_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli([], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("aiowsgi: error: no application:")
    assert 'app = "MODULE:ATTR"' in result.stderr


def test_unknown_environment_variable_is_a_warning_with_a_suggestion(tmp_path: Path) -> None:
    result = run_cli([HELLO, "--print-config"], env={"AIOWSGI_THREAD": "3"}, cwd=tmp_path)
    assert result.returncode == 0
    assert "aiowsgi: warning: AIOWSGI_THREAD is not an aiowsgi option" in result.stderr
    assert "did you mean AIOWSGI_THREADS?" in result.stderr


# --check-config -----------------------------------------------------------------------------------------


def test_check_config_ok(tmp_path: Path) -> None:
    write(tmp_path / "aiowsgi.toml", f'app = "{HELLO}"\nthreads = 3\n')
    result = run_cli(["--check-config"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"aiowsgi: config OK (application {HELLO})"


@pytest.mark.parametrize(
    ("file", "args", "fragment"),
    [
        ("thread = 3\n", [HELLO], "did you mean 'threads'?"),
        ("", ["tests.apps.no_such_module:app"], "tests.apps.no_such_module"),
        ("", [f"{HELLO}_missing"], "app_missing"),
        ('access_log_format = "%(nope)s"\n', [HELLO], "nope"),
        ("", [HELLO, "--workers", "2", "--reload"], "--reload"),
        ("", [], "no application"),
    ],
)
def test_check_config_fails_with_1_and_says_why(
    tmp_path: Path, file: str, args: list[str], fragment: str
) -> None:
    write(tmp_path / "aiowsgi.toml", file)
    result = run_cli(["--check-config", *args], cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "config OK" not in result.stdout
    assert "Traceback" not in result.stderr
    assert "aiowsgi: error: " in result.stderr
    assert fragment in result.stderr


# Children -----------------------------------------------------------------------------------------------


def test_workers_get_the_files_options(tmp_path: Path) -> None:
    write(tmp_path / "aiowsgi.toml", f'app = "{HELLO}"\nthreads = 3\nworkers = 2\n')
    with serving(QUICK, cwd=tmp_path) as server:
        wait_until(lambda: len(worker_threads(server.stderr)) >= 2, what="2 worker startup lines")
        assert worker_threads(server.stderr) == ["3", "3"]
        assert server.stop() == 0


WORKERS_AT_DEFAULT_THREADS = ["--workers", "2", "--threads", "8", *QUICK]


def test_workers_do_not_read_the_file_again_when_a_flag_sets_the_default(tmp_path: Path) -> None:
    """--threads 8 is the default, so it is not on the children's command line: were they to read
    aiowsgi.toml themselves, they would run 3 threads."""
    write(tmp_path / "aiowsgi.toml", f'app = "{HELLO}"\nthreads = 3\n')
    with serving(WORKERS_AT_DEFAULT_THREADS, cwd=tmp_path) as server:
        wait_until(lambda: len(worker_threads(server.stderr)) >= 2, what="2 worker startup lines")
        assert worker_threads(server.stderr) == ["8", "8"]
        assert server.stop() == 0


def test_workers_do_not_read_option_variables_when_a_flag_sets_the_default() -> None:
    with serving([HELLO, *WORKERS_AT_DEFAULT_THREADS], env={"AIOWSGI_THREADS": "3"}) as server:
        wait_until(lambda: len(worker_threads(server.stderr)) >= 2, what="2 worker startup lines")
        assert worker_threads(server.stderr) == ["8", "8"]
        assert server.stop() == 0
