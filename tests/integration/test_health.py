"""--health-path: answered on the loop, 200 while ready and 503 once readiness is withdrawn (drain)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from aiowsgi import Config, ConfigError
from tests.apps import hello
from tests.apps.wsgi_gate import GateApp
from tests.support import ResponseReader, get, request, running_server


def test_health_path_is_answered_by_the_server(parser_backend: str) -> None:
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        seen.append(f"{environ['REQUEST_METHOD']} {environ['REQUEST_URI']}")
        return hello.app(environ, start_response)

    with running_server(app, http=parser_backend, health_path="/healthz") as server:
        with server.connect() as sock:
            # Keep-alive holds across health answers, and the requests around them reach the application.
            sock.sendall(
                get("/healthz")
                + get("/")
                + get("/healthz?probe=1")
                + b"HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
            )
            reader = ResponseReader(sock)
            health = reader.read_response()
            assert (health.status, health.body) == (200, b"ok\n")
            assert health.header("cache-control") == "no-store"
            assert reader.read_response().status == 200
            assert reader.read_response().body == b"ok\n"
            head = reader.read_response("HEAD")
            assert (head.status, head.body, head.header("content-length")) == (200, b"", "3")
        for other in ("/healthz/x", "/healthzz", "/"):
            assert request(server, get(other)).status == 200
        assert (
            request(server, b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n").status == 200
        )
    assert seen == ["GET /", "GET /healthz/x", "GET /healthzz", "GET /", "POST /healthz"]


def test_health_is_answered_while_every_thread_is_busy() -> None:
    app = GateApp()
    with running_server(app, threads=1, health_path="/healthz") as server, server.connect() as busy:
        busy.sendall(get("/slow"))
        assert app.entered.wait(10)
        try:
            assert request(server, get("/healthz")).status == 200
        finally:
            app.release.set()
        assert ResponseReader(busy).read_response().body == b"slow"


def test_not_ready_answers_503_and_serves_everything_else() -> None:
    with running_server(hello.app, health_path="/healthz") as server:
        server.server.set_ready(False)
        response = request(server, get("/healthz"))
        assert (response.status, response.body) == (503, b"draining\n")
        assert request(server, get("/")).status == 200
        server.server.set_ready(True)
        assert request(server, get("/healthz")).status == 200


def test_drain_withdraws_readiness_for_its_delay() -> None:
    with running_server(hello.app, health_path="/healthz", drain_delay=30) as server:
        drained = threading.Event()

        async def drain() -> None:
            await server.server.drain(0.05)
            drained.set()

        server.call(drain())
        assert drained.is_set()
        assert request(server, get("/healthz")).status == 503


@pytest.mark.parametrize("bad", ["healthz", "x/"])
def test_health_path_must_be_a_path(bad: str) -> None:
    with pytest.raises(ConfigError, match="health_path"):
        Config(health_path=bad)
