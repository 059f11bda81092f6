"""`python -m aiowsgi APP --reload`: edit, break, fix, burst, crash, Ctrl-C, with watchfiles and with polling.

Each test writes its application to a temporary directory, watches only that directory, and waits for
what the logs say (a new child's startup line, the supervisor's "restarting" line) rather than sleeping.
The polling fallback is forced by putting a `watchfiles` module that cannot be imported first on the path.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from aiowsgi.config import Config
from aiowsgi.supervisor.reload import FileFilter, WatchfilesWatcher
from tests.process._proc import (
    REPO_ROOT,
    STARTUP_LINE,
    ServerProcess,
    http_get,
    refuses_connections,
    run_cli,
    serving,
    wait_until,
)
from tests.support import ResponseReader

APP_TEMPLATE = """\
import os
import time
from pathlib import Path
from urllib.parse import parse_qs

{prelude}


def app(environ, start_response):
    query = parse_qs(environ["QUERY_STRING"])
    if environ["PATH_INFO"] == "/crash":
        os._exit(3)
    if "marker" in query:
        Path(query["marker"][0]).write_text("started")
    time.sleep(float(query.get("seconds", ["0"])[0]))
    body = {text!r}.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""
CHILD_PID = re.compile(r"\[(\d+)\] INFO: aiowsgi \S+ listening on ")


def app_source(text: str, prelude: str = "") -> str:
    return APP_TEMPLATE.format(text=text, prelude=prelude)


@pytest.fixture(params=["watchfiles", "polling"])
def watcher(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "watchfiles":
        pytest.importorskip("watchfiles")
    return name


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    (directory / "devapp.py").write_text(app_source("v1"))
    return directory


@pytest.fixture
def reloading(app_dir: Path, tmp_path: Path, watcher: str) -> Iterator[ServerProcess]:
    """The supervisor on a free port, serving devapp:app from `app_dir` and watching only that directory."""
    # Bytecode is written, as on a developer's machine, so that a stale .pyc would show (see test_an_edit).
    env = {"PYTHONDONTWRITEBYTECODE": ""}
    if watcher == "polling":
        shim = tmp_path / "no-watchfiles"
        shim.mkdir()
        (shim / "watchfiles.py").write_text('raise ImportError("hidden by the test")\n')
        env["PYTHONPATH"] = os.pathsep.join([str(shim), str(REPO_ROOT)])
    args = ["devapp:app", "--reload", "--app-dir", str(app_dir), "--reload-dir", str(app_dir)]
    with serving([*args, "--no-access-log"], env=env) as server:
        yield server


def startups(server: ServerProcess) -> int:
    return len(STARTUP_LINE.findall(server.stderr))


def wait_for_startups(server: ServerProcess, count: int) -> None:
    wait_until(lambda: startups(server) >= count, what=f"server child number {count} to start")


def child_pids(server: ServerProcess) -> list[int]:
    return [int(pid) for pid in CHILD_PID.findall(server.stderr)]


def is_running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (Linux: /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def start_slow_request(server: ServerProcess, marker: Path, seconds: float) -> socket.socket:
    sock = server.connect(timeout=seconds + 10)
    sock.sendall(http_get(f"/?seconds={seconds}&marker={quote(str(marker))}", "Connection: close\r\n"))
    wait_until(marker.exists, what="the application to start the request")
    return sock


# Edits -------------------------------------------------------------------------------------------------


def test_an_edit_is_served_by_a_new_child(reloading: ServerProcess, app_dir: Path, watcher: str) -> None:
    server = reloading
    assert server.get().body == b"v1"
    supervisor_line = server.wait_for_line(
        r"reloader on (\S+): restarting the server when files change in (.*)"
    )
    assert supervisor_line[1] == f"http://127.0.0.1:{server.port}"
    assert str(app_dir) in supervisor_line[2]
    assert supervisor_line[0].endswith(f"with {watcher}")
    if watcher == "polling":
        warning = server.wait_for_line("watchfiles is not installed")
        assert "pip install 'aiowsgi[standard]'" in warning.string
    else:
        assert "watchfiles is not installed" not in server.stderr

    # Same length, same second: the old bytecode in __pycache__ must not come back.
    (app_dir / "devapp.py").write_text(app_source("v2"))
    wait_for_startups(server, 2)
    assert server.get().body == b"v2"
    assert "devapp.py changed: restarting the server" in server.stderr
    assert server.proc.poll() is None


def test_a_request_during_the_restart_waits_for_the_new_child(
    reloading: ServerProcess, app_dir: Path
) -> None:
    """The port stays open: between two children the request waits in the listen backlog."""
    server = reloading
    first = child_pids(server)[0]
    # The new code takes a while to import, so the request below is sent while no child is accepting.
    (app_dir / "devapp.py").write_text(app_source("after the restart", prelude="time.sleep(0.5)"))
    server.wait_for_line(rf"\[{first}\] INFO: stopped")
    assert startups(server) == 1
    response = server.get()
    assert response.status == 200
    assert response.body == b"after the restart"


def test_an_ignored_file_does_not_restart(reloading: ServerProcess, app_dir: Path) -> None:
    server = reloading
    (app_dir / "notes.txt").write_text("not code")
    (app_dir / ".devapp.py.swp").write_text("an editor's swap file")
    (app_dir / "devapp.py").write_text(app_source("v2"))
    wait_for_startups(server, 2)
    assert server.get().body == b"v2"
    restarts = server.stderr.count("changed: restarting the server")
    assert restarts == 1, server.stderr
    assert "notes.txt" not in server.stderr


def test_a_burst_of_saves_is_one_restart(reloading: ServerProcess, app_dir: Path) -> None:
    server = reloading
    for n in range(2, 7):
        (app_dir / "devapp.py").write_text(app_source(f"v{n}"))
    wait_for_startups(server, 2)
    assert server.get().body == b"v6"
    # One more save, well after the burst: once its child is up, every event of the burst has been handled.
    (app_dir / "devapp.py").write_text(app_source("v7"))
    wait_for_startups(server, 3)
    assert server.get().body == b"v7"
    assert startups(server) == 3
    assert server.stderr.count("changed: restarting the server") == 2, server.stderr


# Broken code -------------------------------------------------------------------------------------------


BROKEN = {
    "syntax error": ("def broken(:\n", "SyntaxError"),
    "exception at import": ('raise RuntimeError("the database is not configured")\n', "RuntimeError"),
}


@pytest.mark.parametrize(
    ("watcher", "breakage"),
    [("watchfiles", "syntax error"), ("polling", "syntax error"), ("watchfiles", "exception at import")],
    indirect=["watcher"],
)
def test_broken_code_shows_the_error_and_a_fix_is_served(
    reloading: ServerProcess, app_dir: Path, breakage: str
) -> None:
    server = reloading
    code, error_name = BROKEN[breakage]
    (app_dir / "devapp.py").write_text(app_source("v1") + code)
    wait_for_startups(server, 2)

    for _ in range(2):
        response = server.get()
        assert response.status == 500
        assert response.header("content-type") == "text/plain; charset=utf-8"
        page = response.body.decode()
        assert "the application could not be loaded" in page
        assert error_name in page
        assert str(app_dir / "devapp.py") in page
        assert "importlib" not in page, "the import machinery's frames are noise"
    assert server.proc.poll() is None
    # The traceback is logged once, by the child that failed, not once per request.
    assert server.stderr.count("the application could not be loaded") == 1
    assert server.stderr.count(f"{error_name}: ") == 2  # the one-line message and the traceback's last line

    (app_dir / "devapp.py").write_text(app_source("fixed"))
    wait_for_startups(server, 3)
    response = server.get()
    assert response.status == 200
    assert response.body == b"fixed"


@pytest.mark.parametrize("watcher", ["watchfiles"], indirect=True)
def test_code_broken_from_the_start(app_dir: Path, watcher: str) -> None:
    (app_dir / "devapp.py").write_text("def broken(:\n")
    args = ["devapp:app", "--reload", "--app-dir", str(app_dir), "--reload-dir", str(app_dir)]
    with serving(args) as server:
        response = server.get()
        assert response.status == 500
        assert b"SyntaxError" in response.body
        (app_dir / "devapp.py").write_text(app_source("fixed"))
        wait_for_startups(server, 2)
        assert server.get().body == b"fixed"


def test_a_crashed_child_starts_again_on_the_next_change(reloading: ServerProcess, app_dir: Path) -> None:
    server = reloading
    with server.connect() as sock:
        sock.sendall(http_get("/crash"))
        assert ResponseReader(sock).at_eof()
    server.wait_for_line(r"the server process \(pid \d+\) exited with status 3; it starts again when a")
    assert server.proc.poll() is None

    (app_dir / "devapp.py").write_text(app_source("v2"))
    server.wait_for_line("devapp.py changed: starting the server")
    wait_for_startups(server, 2)
    assert server.get().body == b"v2"


# Stopping ----------------------------------------------------------------------------------------------


def test_ctrl_c_stops_everything_at_once(reloading: ServerProcess, tmp_path: Path) -> None:
    server = reloading
    (child,) = child_pids(server)
    assert is_running(child)
    with start_slow_request(server, tmp_path / "started", 30):
        started = time.monotonic()
        server.send(signal.SIGINT)
        assert server.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
    assert not is_running(child)
    assert refuses_connections(server.port)
    assert "Traceback" not in server.stderr


@pytest.mark.parametrize("watcher", ["watchfiles"], indirect=True)
def test_a_killed_supervisor_leaves_no_child(reloading: ServerProcess) -> None:
    """Even a SIGKILL, which the supervisor cannot handle: the child sees its lifeline close and stops."""
    server = reloading
    (child,) = child_pids(server)
    server.send(signal.SIGKILL)
    server.proc.wait(timeout=5)
    wait_until(lambda: not is_running(child), timeout=5, what="the orphaned child to stop")
    server.wait_for_line(rf"\[{child}\] WARNING: the --reload supervisor is gone: stopping")


@pytest.mark.parametrize("watcher", ["watchfiles"], indirect=True)
def test_sigterm_stops_the_child_gracefully(reloading: ServerProcess, tmp_path: Path) -> None:
    server = reloading
    (child,) = child_pids(server)
    with start_slow_request(server, tmp_path / "started", 1.0) as sock:
        server.send(signal.SIGTERM)
        response = ResponseReader(sock).read_response()
        assert response.status == 200
        assert response.body == b"v1"
    assert server.wait() == 0
    assert not is_running(child)
    assert f"[{child}] INFO: received SIGTERM: shutting down gracefully" in server.stderr
    assert refuses_connections(server.port)


def test_reload_refuses_several_workers() -> None:
    result = run_cli(["tests.apps.hello:app", "--reload", "--workers", "2"])
    assert result.returncode == 2
    assert "--reload runs one server process" in result.stderr


def test_a_reload_dir_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    result = run_cli(
        ["tests.apps.hello:app", "--reload", "--port", "0", "--reload-dir", str(tmp_path / "nope")]
    )
    assert result.returncode == 1
    assert "not a directory" in result.stderr


# Which files count (in-process) ------------------------------------------------------------------------


def test_the_default_filter(tmp_path: Path) -> None:
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    rules = FileFilter.from_config(Config(reload_dirs=(str(tmp_path),)))
    assert rules.roots == (str(tmp_path),)
    accepted = ["app.py", "pkg/views.py"]
    ignored = [
        "notes.txt",
        ".hidden.py",
        ".app.py.swp",
        "app.py~",
        "pkg/__pycache__/views.cpython-311.pyc",
        ".git/hooks/pre-commit.py",
        ".venv/lib/site.py",
        "venv/lib/site.py",
        "env/lib/site.py",  # not named like one, but a virtualenv all the same
        ".cache/thing.py",
    ]
    for relative in accepted:
        assert rules.accepts(str(tmp_path / relative)), relative
    for relative in ignored:
        assert not rules.accepts(str(tmp_path / relative)), relative


def test_given_patterns_add_to_the_defaults(tmp_path: Path) -> None:
    config = Config(
        reload_dirs=(str(tmp_path), str(tmp_path / "sub")),
        reload_include=("*.html", ".env"),
        reload_exclude=("generated_*.py",),
    )
    (tmp_path / "sub").mkdir()
    rules = FileFilter.from_config(config)
    assert rules.roots == (str(tmp_path),), "a directory inside another one is not watched twice"
    assert rules.accepts(str(tmp_path / "app.py"))
    assert rules.accepts(str(tmp_path / "templates" / "index.html"))
    assert rules.accepts(str(tmp_path / ".env")), "an include given on the command line beats the defaults"
    assert not rules.accepts(str(tmp_path / "generated_models.py"))
    assert not rules.accepts(str(tmp_path / ".git" / "index.html")), "excluded directories stay excluded"


def test_watchfiles_failing_falls_back_to_polling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    watchfiles = pytest.importorskip("watchfiles")

    def watch(*args: object, **kwargs: object) -> Iterator[set[tuple[object, str]]]:
        raise OSError(28, "OS file watch limit reached")
        yield set()  # a generator, like the real one

    monkeypatch.setattr(watchfiles, "watch", watch)
    reported: queue.SimpleQueue[frozenset[str]] = queue.SimpleQueue()
    watcher = WatchfilesWatcher(FileFilter.from_config(Config(reload_dirs=(str(tmp_path),))), reported.put)
    watcher.start()
    try:
        # Save until a change is reported: the fallback's first scan, which the change must follow, is not
        # something this test can see.
        for attempt in range(20):
            (tmp_path / "app.py").write_text(f"version {attempt}")
            with contextlib.suppress(queue.Empty):
                assert reported.get(timeout=0.5) == {str(tmp_path / "app.py")}
                break
        else:
            raise AssertionError("the polling fallback reported nothing")
    finally:
        watcher.stop()
