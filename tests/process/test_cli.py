"""`python -m aiowsgi MODULE:ATTR` as a user runs it: a child process, its startup line, its errors."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from aiowsgi.__about__ import __version__
from aiowsgi.config import env_name, flags_of, option_fields
from aiowsgi.config_sources import COMMAND_LINE_OPTIONS
from tests.process._proc import (
    REPO_ROOT,
    STARTUP_LINE,
    http_get,
    run_cli,
    serving,
    skip_without_ipv6_loopback,
)
from tests.support import ResponseReader

HELLO = "tests.apps.hello:app"
MISC = "tests.process.apps.misc"
ACCESS_LINE = re.compile(
    r'(?P<client>127\.0\.0\.1:\d+) - "(?P<line>[A-Z]+ \S+ HTTP/1\.[01])" '
    r"(?P<status>\d{3}) (?P<bytes>\d+) (?P<ms>\d+\.\d)ms$"
)


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A directory with a short path: AF_UNIX paths are limited to about 100 bytes."""
    with tempfile.TemporaryDirectory(prefix="aiowsgi-", dir="/tmp") as directory:
        yield Path(directory)


def assert_load_error(args: list[str], *fragments: str, pass_fds: Sequence[int] = ()) -> str:
    """The command line exits 1 with one 'aiowsgi: error:' paragraph containing every fragment."""
    result = run_cli(args, pass_fds=pass_fds)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.startswith("aiowsgi: error: "), message
    assert "\n" not in message, f"not one paragraph: {message!r}"
    for fragment in fragments:
        assert fragment in message
    return message


def unix_get(path: Path, target: str = "/") -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(http_get(target, "Connection: close\r\n"))
        response = ResponseReader(sock).read_response()
    assert response.status == 200
    return response.body


# Serving -----------------------------------------------------------------------------------------


def test_hello_app_serves_and_prints_one_startup_line() -> None:
    with serving([HELLO]) as server:
        response = server.get("/")
        assert response.status == 200
        assert response.body == b"Hello, world!"
        assert server.startup["version"] == __version__
        assert server.addresses == [f"http://127.0.0.1:{server.port}"]
        assert server.startup["parser"] in ("httptools", "h11")
        assert server.startup["loop"] in ("uvloop", "asyncio")
        assert server.startup["threads"] == "8"
        assert server.stop() == 0
        assert len(STARTUP_LINE.findall(server.stderr)) == 1
        assert "Traceback" not in server.stderr


def test_version() -> None:
    result = run_cli(["--version"])
    assert result.returncode == 0
    assert result.stdout.strip() == f"aiowsgi {__version__}"


def test_help_lists_every_config_option() -> None:
    """The CLI is generated from Config: every field's flags and environment variable are in --help."""
    result = run_cli(["--help"])
    assert result.returncode == 0, result.stderr
    missing = []
    for f in option_fields():
        flags = list(flags_of(f))
        if isinstance(f.default, bool):
            flags += ["--no-" + flag[2:] for flag in flags]
        missing += [
            flag for flag in flags if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", result.stdout)
        ]
        if env_name(f) not in result.stdout:
            missing.append(env_name(f))
    missing += [option.flag for option in COMMAND_LINE_OPTIONS if option.flag not in result.stdout]
    assert not missing, f"--help does not mention {missing}"


def test_threads_from_the_environment() -> None:
    with serving([HELLO], env={"AIOWSGI_THREADS": "3"}) as server:
        assert server.startup["threads"] == "3"
        assert server.get("/").status == 200


def test_a_flag_wins_over_the_environment() -> None:
    with serving([HELLO, "--threads", "5"], env={"AIOWSGI_THREADS": "3"}) as server:
        assert server.startup["threads"] == "5"


@pytest.mark.parametrize(
    ("variable", "value", "fragments"),
    [
        ("AIOWSGI_THREADS", "lots", ["AIOWSGI_THREADS", "threads", "'lots'"]),
        ("AIOWSGI_THREADS", "0", ["threads", "at least 1"]),
        ("AIOWSGI_ACCESS_LOG", "maybe", ["AIOWSGI_ACCESS_LOG", "access_log", "'maybe'"]),
        ("AIOWSGI_HTTP", "spdy", ["AIOWSGI_HTTP", "http", "'spdy'", "h11"]),
    ],
)
def test_bad_environment_value_exits_2(variable: str, value: str, fragments: list[str]) -> None:
    result = run_cli([HELLO, "--port", "0"], env={variable: value})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("aiowsgi: error: ")
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.mark.parametrize(("flag", "value"), [("--threads", "lots"), ("--threads", "0"), ("--http", "spdy")])
def test_bad_flag_value_exits_2(flag: str, value: str) -> None:
    result = run_cli([HELLO, flag, value])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert value in result.stderr.splitlines()[-1]
    assert flag[2:] in result.stderr.splitlines()[-1]


def test_boolean_from_the_environment_and_a_flag_over_it() -> None:
    with serving([HELLO], env={"AIOWSGI_ACCESS_LOG": "off", "AIOWSGI_SERVER_HEADER": "no"}) as server:
        response = server.get("/quiet")
        assert response.header("server") is None
        assert server.stop() == 0
        assert "/quiet" not in server.stderr
    with serving([HELLO, "--access-log"], env={"AIOWSGI_ACCESS_LOG": "off"}) as server:
        server.get("/loud")
        server.wait_for_line(r'"GET /loud HTTP/1\.1" 200')


# MODULE:ATTR errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["tests.apps.hello", ":app", "tests.apps.hello:"])
def test_not_module_colon_attr(spec: str) -> None:
    assert_load_error([spec], repr(spec), "MODULE:ATTR")


@pytest.mark.parametrize("module", ["no_such_module_here", "tests.apps.no_such_module_here"])
def test_module_not_found(module: str) -> None:
    assert_load_error([f"{module}:app"], f"there is no module {module!r}", "--app-dir")


def test_attribute_missing() -> None:
    assert_load_error(["tests.apps.hello:nope"], "'tests.apps.hello'", "hello.py", "no attribute 'nope'")


def test_attribute_not_callable() -> None:
    assert_load_error([f"{MISC}:not_callable"], f"{MISC}:not_callable", "is a str", "not a WSGI application")


def test_import_raises(tmp_path: Path) -> None:
    (tmp_path / "divides_by_zero.py").write_text("x = 1\ny = x / 0\n")
    assert_load_error(
        ["divides_by_zero:app", "--app-dir", str(tmp_path)],
        "ZeroDivisionError",
        f"{tmp_path / 'divides_by_zero.py'} line 2",
    )


def test_import_of_a_missing_dependency_names_the_dependency_not_the_app(tmp_path: Path) -> None:
    (tmp_path / "needs_a_dependency.py").write_text("import no_such_dependency_xyz\n")
    message = assert_load_error(
        ["needs_a_dependency:app", "--app-dir", str(tmp_path)],
        "ModuleNotFoundError",
        "no_such_dependency_xyz",
        "needs_a_dependency.py line 1",
    )
    assert "there is no module 'needs_a_dependency'" not in message


def test_syntax_error_in_the_module(tmp_path: Path) -> None:
    (tmp_path / "not_python.py").write_text("def app(environ, start_response):\n    return [b'x'\n\nz = (\n")
    assert_load_error(
        ["not_python:app", "--app-dir", str(tmp_path)], "SyntaxError", str(tmp_path / "not_python.py")
    )


def test_factory_that_raises() -> None:
    assert_load_error(
        [f"{MISC}:broken_factory", "--factory"],
        f"{MISC}:broken_factory",
        "RuntimeError: the factory could not find its settings",
        "misc.py line",
    )


def test_factory_that_is_not_callable() -> None:
    assert_load_error([f"{MISC}:not_callable", "--factory"], "--factory", "not callable")


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_load_error([HELLO, "--port", str(port)], f"127.0.0.1:{port}", "in use")


@pytest.mark.parametrize(
    ("address", "fragment"),
    [("nonsense", "HOST:PORT"), ("fd://abc", "fd://N"), ("fd://1000", "cannot listen on fd://1000")],
)
def test_bad_bind_address(address: str, fragment: str) -> None:
    assert_load_error([HELLO, "--bind", address], fragment)


def test_inherited_file_descriptor_that_is_not_a_socket(tmp_path: Path) -> None:
    with open(tmp_path / "plain-file", "wb") as plain:
        fd = plain.fileno()
        assert_load_error([HELLO, "--bind", f"fd://{fd}"], f"cannot listen on fd://{fd}", pass_fds=[fd])


def test_inherited_file_descriptor_that_cannot_listen() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        fd = udp.fileno()
        assert_load_error([HELLO, "--bind", f"fd://{fd}"], f"cannot listen on fd://{fd}", pass_fds=[fd])


# Options that change what is served ----------------------------------------------------------------


def test_factory() -> None:
    with serving([f"{MISC}:create_app", "--factory"]) as server:
        response = server.get("/")
        assert response.status == 200
        assert response.body == b"made by a factory"


def test_dotted_attribute() -> None:
    with serving(["tests.process.apps.flask_app:app.wsgi_app"]) as server:
        assert server.get("/").body == b"hello from flask"


def test_app_dir(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.py").write_text("from tests.apps.hello import app as application\n")
    with serving(["elsewhere:application", "--app-dir", str(tmp_path)]) as server:
        assert server.get("/").body == b"Hello, world!"


def test_root_path_sets_script_name() -> None:
    with serving([f"{MISC}:echo_environ", "--root-path", "/prefix"]) as server:
        environ = json.loads(server.get("/prefix/hello?x=1").body)
        assert environ["SCRIPT_NAME"] == "/prefix"
        assert environ["PATH_INFO"] == "/hello"
        assert environ["QUERY_STRING"] == "x=1"


def test_access_log_one_line_per_request_on_stderr() -> None:
    with serving([HELLO]) as server:
        for index in range(3):
            assert server.get(f"/page?n={index}").status == 200
        assert server.stop() == 0
        lines = [line for line in server.stderr.splitlines() if '"GET ' in line]
    assert len(lines) == 3, lines
    for index, line in enumerate(lines):
        found = ACCESS_LINE.search(line)
        assert found, line
        assert found["line"] == f"GET /page?n={index} HTTP/1.1"
        assert found["status"] == "200"
        assert found["bytes"] == str(len(b"Hello, world!"))


def test_access_lines_appear_while_the_server_runs() -> None:
    # Lines are batched; the background flush must still write a lone line without waiting for more
    # traffic or for the exit.
    with serving([HELLO]) as server:
        assert server.get("/while-running").status == 200
        found = server.wait_for_line(r'"GET /while-running HTTP/1.1" 200 ')
        assert ACCESS_LINE.search(found.string)
        assert server.stop() == 0


def test_no_access_log() -> None:
    with serving([HELLO, "--no-access-log"]) as server:
        assert server.get("/one").status == 200
        assert server.get("/two").status == 200
        assert server.stop() == 0
        assert '"GET ' not in server.stderr
        assert "listening on" in server.stderr  # the error log is still there


def test_unix_socket_serves(short_tmp: Path) -> None:
    path = short_tmp / "aiowsgi.sock"
    with serving([HELLO, "--bind", f"unix:{path}"]) as server:
        assert server.addresses == [f"unix:{path}"]
        assert unix_get(path) == b"Hello, world!"
        server.wait_for_line(r'"GET / HTTP/1\.1" 200 13 ')
        assert server.stop() == 0


def test_unix_socket_file_is_removed_on_exit(short_tmp: Path) -> None:
    path = short_tmp / "removed.sock"
    with serving([HELLO, "--bind", f"unix:{path}"]) as server:
        assert unix_get(path) == b"Hello, world!"
        assert server.stop() == 0
    assert not path.exists()


def test_unix_socket_left_over_from_a_crash_is_replaced(short_tmp: Path) -> None:
    path = short_tmp / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stale:
        stale.bind(str(path))  # bound, never listening, then closed: what a killed server leaves behind
    assert path.exists()
    with serving([HELLO, "--bind", f"unix:{path}"]) as server:
        assert unix_get(path) == b"Hello, world!"
        assert server.stop() == 0


def test_unix_socket_someone_else_is_serving_is_not_taken(short_tmp: Path) -> None:
    path = short_tmp / "busy.sock"
    with serving([HELLO, "--bind", f"unix:{path}"]) as first:
        assert_load_error([HELLO, "--bind", f"unix:{path}"], f"unix:{path}")
        assert unix_get(path) == b"Hello, world!"
        assert first.stop() == 0


def test_inherited_file_descriptor() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        fd = listener.fileno()
        with serving([HELLO, "--bind", f"fd://{fd}"], pass_fds=[fd]) as server:
            assert server.port == port
            assert server.get("/").body == b"Hello, world!"
            assert server.stop() == 0


def test_two_binds_at_once(short_tmp: Path) -> None:
    path = short_tmp / "both.sock"
    with serving([HELLO, "--bind", "127.0.0.1:0", "--bind", f"unix:{path}"]) as server:
        assert len(server.addresses) == 2
        assert server.addresses[1] == f"unix:{path}"
        assert server.get("/").body == b"Hello, world!"
        assert unix_get(path) == b"Hello, world!"
        assert server.stop() == 0


def test_binds_from_the_environment_separated_by_spaces(short_tmp: Path) -> None:
    path = short_tmp / "env.sock"
    with serving([HELLO], env={"AIOWSGI_BIND": f"127.0.0.1:0 unix:{path}"}, port_zero=False) as server:
        assert server.addresses[1:] == [f"unix:{path}"]
        assert server.get("/").status == 200
        assert unix_get(path) == b"Hello, world!"


def test_ipv6_bind() -> None:
    skip_without_ipv6_loopback()
    with serving([HELLO, "--bind", "[::1]:0"]) as server:
        (address,) = server.addresses
        assert address.startswith("http://[::1]:")
        port = int(address.rpartition(":")[2])
        with socket.create_connection(("::1", port), timeout=10) as sock:
            sock.sendall(http_get("/", "Connection: close\r\n"))
            assert ResponseReader(sock).read_response().body == b"Hello, world!"


@pytest.mark.parametrize("http", ["httptools", "h11"])
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_parser_and_loop_choice_shows_in_the_startup_line(http: str, loop: str) -> None:
    pytest.importorskip(http)
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    with serving([HELLO, "--http", http, "--loop", loop]) as server:
        assert (server.startup["parser"], server.startup["loop"]) == (http, loop)
        assert server.get("/").body == b"Hello, world!"
        assert server.stop() == 0


@pytest.fixture
def without_accelerators(tmp_path: Path) -> dict[str, str]:
    """An environment in which `import httptools` and `import uvloop` fail, as when they are not installed."""
    for name in ("httptools", "uvloop"):
        package = tmp_path / "shadow" / name
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(f"raise ImportError('simulated: {name} is not installed')\n")
    return {"PYTHONPATH": os.pathsep.join([str(tmp_path / "shadow"), str(REPO_ROOT)])}


def test_auto_falls_back_to_h11_and_asyncio(without_accelerators: dict[str, str]) -> None:
    with serving([HELLO], env=without_accelerators) as server:
        assert (server.startup["parser"], server.startup["loop"]) == ("h11", "asyncio")
        assert server.get("/").body == b"Hello, world!"


@pytest.mark.parametrize(
    ("flag", "fragment"),
    [("--http=httptools", "pip install httptools"), ("--loop=uvloop", "pip install uvloop")],
)
def test_asking_for_a_missing_accelerator(
    without_accelerators: dict[str, str], flag: str, fragment: str
) -> None:
    result = run_cli([HELLO, "--port", "0", flag], env=without_accelerators)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("aiowsgi: error: ")
    assert fragment in result.stderr


def test_flask_app() -> None:
    pytest.importorskip("flask")
    with serving(["tests.process.apps.flask_app:app", "--root-path", "/mounted"]) as server:
        client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            client.request("GET", "/mounted/")
            index = client.getresponse()
            assert (index.status, index.read()) == (200, b"hello from flask")
            # The same keep-alive connection carries the next requests.
            body = json.dumps({"a": [1, 2]})
            client.request("POST", "/mounted/echo", body, {"Content-Type": "application/json"})
            echo = client.getresponse()
            assert echo.status == 200
            assert json.loads(echo.read()) == {
                "json": {"a": [1, 2]},
                "script_root": "/mounted",
                "path": "/echo",
            }
            client.request("GET", "/mounted/nowhere")
            missing = client.getresponse()
            missing.read()
            assert missing.status == 404
        finally:
            client.close()
        assert server.stop(signal.SIGINT) == 0
        assert "Traceback" not in server.stderr
