"""The examples run as documented: examples/embedded.py as its own process, stopped with SIGINT."""

from __future__ import annotations

import http.client
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

EMBEDDED = Path(__file__).resolve().parents[2] / "examples" / "embedded.py"
READY = re.compile(r"^ready http=(?P<host>[^ ]+):(?P<http>\d+) echo=[^ ]+:(?P<echo>\d+)$")
TIMEOUT = 15.0


@pytest.fixture(params=["asyncio", "auto"])
def embedded(request: pytest.FixtureRequest) -> Iterator[tuple[subprocess.Popen[str], int, int]]:
    """examples/embedded.py on free ports; yields the process and its HTTP and echo ports once both accept."""
    proc = subprocess.Popen(
        [sys.executable, str(EMBEDDED), "--http-port", "0", "--echo-port", "0", "--loop", request.param],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        # The example prints this line only after both servers are accepting: no sleeps, no port races.
        line = proc.stdout.readline().strip()
        match = READY.match(line)
        if match is None:
            proc.kill()
            _, stderr = proc.communicate(timeout=TIMEOUT)
            pytest.fail(f"no ready line, got {line!r}; stderr:\n{stderr}")
        yield proc, int(match["http"]), int(match["echo"])
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=TIMEOUT)


def test_embedded_serves_wsgi_and_echo_then_stops_on_sigint(
    embedded: tuple[subprocess.Popen[str], int, int],
) -> None:
    proc, http_port, echo_port = embedded

    connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=TIMEOUT)
    try:
        connection.request("GET", "/hello")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 200
    assert body == b"Hello from aiowsgi, next to an echo server (/hello)\n"

    with socket.create_connection(("127.0.0.1", echo_port), timeout=TIMEOUT) as echo:
        echo.sendall(b"ping\n")
        received = b""
        while len(received) < 5:
            chunk = echo.recv(64)
            assert chunk, "the echo server closed the connection"
            received += chunk
        assert received == b"ping\n"

        # Stop while an echo client is still connected: the program must not wait for it.
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=TIMEOUT)

    assert proc.returncode == 0, stderr
    assert "stopped" in stderr
    assert "Traceback" not in stderr
