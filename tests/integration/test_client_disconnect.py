"""environ["aiowsgi.client_disconnected"]: a running request learns that its client closed or reset."""

from __future__ import annotations

import socket
import struct

import pytest

from tests.apps import hello
from tests.apps.wsgi_disconnect import DisconnectWatcher
from tests.support import TIMEOUT, get, request, running_server


@pytest.mark.parametrize("how", ["close", "reset"])
def test_a_client_that_goes_mid_request_is_seen_gone(loop_name: str, how: str) -> None:
    app = DisconnectWatcher()
    with running_server(app, loop=loop_name, threads=1) as server:
        sock = server.connect()
        sock.sendall(get("/work"))
        assert app.started.wait(TIMEOUT)
        assert app.before_start is False
        if how == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        assert app.done.wait(TIMEOUT)
        assert app.saw_disconnect is True
        assert app.closed.wait(TIMEOUT)  # the iterable is still closed, though nobody reads it


def test_a_client_still_waiting_is_not_gone() -> None:
    app = DisconnectWatcher(patience=0.3)
    with running_server(app, threads=1) as server:
        sock = server.connect()
        sock.sendall(get("/work"))
        assert app.started.wait(TIMEOUT)
        # The app polls for a while; the client meanwhile does nothing but wait for its answer.
        sock.settimeout(TIMEOUT)
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200 OK")
        assert app.saw_disconnect is False
        sock.close()


def test_every_request_has_the_signal() -> None:
    seen = []

    def app(environ: dict, start_response: object) -> list[bytes]:
        seen.append(environ["aiowsgi.client_disconnected"]())
        return hello.app(environ, start_response)  # type: ignore[arg-type]

    with running_server(app) as server:
        assert request(server, get("/")).status == 200
    assert seen == [False]
