"""Signals to `python -m aiowsgi`: SIGTERM/SIGINT drain gracefully, a second SIGINT cuts, the timeout cuts.

The slow app (`tests.process.apps.misc:slow`) writes a marker file as soon as it starts running, so a test
knows a request is in flight before it sends the signal, without sleeping.
"""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.process._proc import ServerProcess, http_get, refuses_connections, serving, wait_until
from tests.support import ResponseReader

SLOW = "tests.process.apps.misc:slow"


def start_slow_request(server: ServerProcess, marker: Path, seconds: float) -> socket.socket:
    """Send a keep-alive request that runs `seconds` in the app; return once the app has started it."""
    sock = server.connect(timeout=seconds + 10)
    sock.sendall(http_get(f"/?seconds={seconds}&marker={quote(str(marker))}"))
    wait_until(marker.exists, what="the application to start the request")
    return sock


def connection_is_cut(sock: socket.socket, timeout: float = 10.0) -> bool:
    """True when the server closes or resets the connection without sending a response."""
    sock.settimeout(timeout)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_graceful_shutdown_finishes_the_request_in_flight(tmp_path: Path, signum: int, loop: str) -> None:
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    marker = tmp_path / "started"
    with (
        serving([SLOW, "--loop", loop, "--no-access-log"]) as server,
        start_slow_request(server, marker, 1.0) as sock,
    ):
        server.send(signum)
        # The listening socket closes at once, while the request is still running.
        wait_until(lambda: refuses_connections(server.port), timeout=5, what="the port to stop accepting")
        reader = ResponseReader(sock)
        response = reader.read_response()
        assert response.status == 200
        assert response.body == b"finished"
        # It was a keep-alive request, but the server is draining: it says so, then closes.
        assert response.header("connection") == "close"
        assert reader.at_eof()
        assert server.wait() == 0
        name = signal.Signals(signum).name
        assert f"received {name}: shutting down gracefully" in server.stderr
        assert "Traceback" not in server.stderr
    assert refuses_connections(server.port)


def test_a_second_sigterm_does_not_cut_the_request(tmp_path: Path) -> None:
    """Only a second SIGINT (a person pressing Ctrl-C again) escalates; a repeated SIGTERM still drains."""
    marker = tmp_path / "started"
    with serving([SLOW]) as server, start_slow_request(server, marker, 1.0) as sock:
        server.send(signal.SIGTERM)
        server.wait_for_line("received SIGTERM")
        server.send(signal.SIGTERM)
        response = ResponseReader(sock).read_response()
        assert response.status == 200
        assert server.wait() == 0


def server_has_read(client: socket.socket) -> bool:
    """True when the server side of `client`'s TCP connection has nothing left unread (Linux only).

    The kernel's receive queue of the server's socket (/proc/net/tcp, rx_queue) drops to zero once the
    server has accepted the connection and read what the client sent: proof that a request reached the
    server, without sleeping and hoping.
    """
    server_port = client.getpeername()[1]
    client_port = client.getsockname()[1]
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        remote_port = int(fields[2].split(":")[1], 16)
        if (local_port, remote_port) == (server_port, client_port):
            return int(fields[4].split(":")[1], 16) == 0
    return False


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc/net/tcp (Linux)")
def test_graceful_shutdown_answers_requests_still_waiting_for_a_thread(tmp_path: Path) -> None:
    """Invariant 5: a request that was read is answered, even one queued behind a busy pool."""
    with serving([SLOW, "--threads", "1"]) as server:
        with start_slow_request(server, tmp_path / "first", 0.5) as first, server.connect() as queued:
            queued.sendall(http_get("/?seconds=0"))
            wait_until(lambda: server_has_read(queued), what="the server to read the queued request")
            server.send(signal.SIGTERM)
            assert ResponseReader(first).read_response().status == 200
            assert ResponseReader(queued).read_response().status == 200
        assert server.wait() == 0


def test_idle_keep_alive_connections_do_not_delay_shutdown() -> None:
    with serving(["tests.apps.hello:app", "--keep-alive-timeout", "30"]) as server:
        idle = []
        for _ in range(3):
            sock = server.connect()
            sock.sendall(http_get("/"))
            assert ResponseReader(sock).read_response().status == 200
            idle.append(sock)  # kept open: the server now waits up to 30 s for its next request
        started = time.monotonic()
        server.send(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
        assert time.monotonic() - started < 5, "shutdown waited on idle keep-alive connections"
        for sock in idle:
            assert connection_is_cut(sock)
            sock.close()


def test_second_sigint_exits_at_once(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    with (
        serving([SLOW, "--graceful-timeout", "30"]) as server,
        start_slow_request(server, marker, 30) as sock,
    ):
        server.send(signal.SIGINT)
        # Two SIGINTs in a row can be merged by the kernel; send the second once the first was handled.
        server.wait_for_line("received SIGINT: shutting down gracefully")
        started = time.monotonic()
        server.send(signal.SIGINT)
        assert server.wait(timeout=5) == 1
        assert time.monotonic() - started < 5
        assert connection_is_cut(sock)
        assert "second interrupt" in server.stderr
        assert "Traceback" not in server.stderr


def test_graceful_timeout_cuts_a_request_that_runs_too_long(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    with (
        serving([SLOW, "--graceful-timeout", "1"]) as server,
        start_slow_request(server, marker, 10) as sock,
    ):
        started = time.monotonic()
        server.send(signal.SIGTERM)
        assert connection_is_cut(sock)
        cut_after = time.monotonic() - started
        assert server.wait(timeout=8) == 0
        exited_after = time.monotonic() - started
        assert 0.9 <= cut_after < 4, cut_after
        assert exited_after < 5, exited_after
        assert "graceful timeout (1.0s): cutting 1 connection(s) still busy" in server.stderr
        assert "Traceback" not in server.stderr
