"""Listening sockets from the command line: unix socket modes, systemd socket activation, dual-stack IPv6."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aiowsgi.sockets import systemd_binds
from tests.process._proc import REPO_ROOT, child_env, serving, skip_without_ipv6_loopback

HELLO = "tests.apps.hello:app"


def http_get(family: int, address: object) -> bytes:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(address)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


@pytest.mark.parametrize(("umask", "mode"), [("007", 0o770), ("077", 0o700)])
def test_umask_sets_the_unix_socket_files_mode(tmp_path: Path, umask: str, mode: int) -> None:
    path = tmp_path / "app.sock"
    with serving([HELLO, "--bind", f"unix:{path}", "--umask", umask]) as server:
        assert stat.S_IMODE(path.stat().st_mode) == mode
        assert http_get(socket.AF_UNIX, str(path)).endswith(b"Hello, world!")
        assert server.stop() == 0


def test_bad_umask_is_refused() -> None:
    from aiowsgi import Config, ConfigError

    with pytest.raises(ConfigError, match="umask"):
        Config(umask="999")


def test_systemd_binds_are_for_this_process_only() -> None:
    assert systemd_binds({"LISTEN_PID": "1", "LISTEN_FDS": "2"}) == ()
    environ = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "2", "LISTEN_FDNAMES": "a:b"}
    assert systemd_binds(environ) == ("fd://3", "fd://4")
    assert environ == {}, "the variables are removed, as sd_listen_fds does"


# What systemd does: the socket as descriptor 3, LISTEN_PID the service's own PID, then exec the service.
SYSTEMD_LIKE = """
import os, sys
os.dup2(int(sys.argv[1]), 3)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.executable, [sys.executable, "-m", "aiowsgi", *sys.argv[2:]])
"""


def test_systemd_socket_activation() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", SYSTEMD_LIKE, str(listener.fileno()), HELLO, "--no-access-log"],
        env=child_env(),
        cwd=REPO_ROOT,
        pass_fds=[listener.fileno()],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 15
        line = ""
        while "listening on" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
        assert f"http://127.0.0.1:{port}" in line, line
        assert http_get(socket.AF_INET, ("127.0.0.1", port)).endswith(b"Hello, world!")
    finally:
        proc.terminate()
        status = proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()
        listener.close()
    assert status == 0


def test_dual_stack_bind_takes_ipv4_and_ipv6_clients() -> None:
    skip_without_ipv6_loopback()
    with serving([HELLO, "--bind", "[::]:0", "--no-access-log"]) as server:
        port = int(server.addresses[0].rpartition(":")[2])
        assert http_get(socket.AF_INET6, ("::1", port)).endswith(b"Hello, world!")
        assert http_get(socket.AF_INET, ("127.0.0.1", port)).endswith(b"Hello, world!")
        assert server.stop() == 0
