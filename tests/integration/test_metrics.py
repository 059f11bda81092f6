"""--metrics-bind on an embedded server: the exposition, read with prometheus_client's own parser, counts
exactly the requests, bytes, states, refusals and timeouts these tests cause, and nothing of the scrapes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest

from tests.apps import http_status
from tests.apps.wsgi_gate import GateApp
from tests.integration._http_helpers import small_rcvbuf_connection
from tests.support import (
    TIMEOUT,
    ResponseReader,
    RunningServer,
    Samples,
    get,
    metric,
    request,
    running_server,
    scrape_metrics,
)

pytest.importorskip("prometheus_client")

METRICS = {"metrics_bind": "127.0.0.1:0"}


def scrape(server: RunningServer) -> Samples:
    return scrape_metrics(server.server.metrics_sockets[0].getsockname()[1])


def scrape_until(server: RunningServer, holds: Callable[[Samples], bool]) -> Samples:
    """Scrape until `holds` is true of what the loop has seen (each scrape is a round trip through it)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        samples = scrape(server)
        if holds(samples):
            return samples
        if time.monotonic() > deadline:
            raise AssertionError(f"the metrics never showed it: {samples}")


def requests_counted(samples: Samples) -> float:
    return sum(n for (name, _), n in samples.items() if name == "aiowsgi_requests_total")


def connections(samples: Samples) -> dict[str, float]:
    return {state: metric(samples, "aiowsgi_connections", state=state) for state in STATES}


STATES = ("reading", "waiting", "running", "writing", "idle")


class CountingReader(ResponseReader):
    """A ResponseReader that counts the bytes it reads off the wire, framing and all."""

    received = 0

    def _fill(self) -> bool:
        before = len(self.buffer)
        filled = super()._fill()
        self.received += len(self.buffer) - before
        return filled


def test_requests_are_counted_by_method_and_status_class_with_their_bytes(loop_name: str) -> None:
    requests = [
        (get("/200"), "GET"),
        (get("/204"), "GET"),
        (get("/404"), "GET"),
        (b"POST /503 HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello", "POST"),
        (b"HEAD /200 HTTP/1.1\r\nHost: test\r\n\r\n", "HEAD"),
        (b"PROPFIND /200 HTTP/1.1\r\nHost: test\r\n\r\n", "PROPFIND"),
    ]
    with running_server(http_status.app, loop=loop_name, **METRICS) as server:
        sent = 0
        with server.connect() as sock:
            reader = CountingReader(sock)
            for raw, method in requests:
                sock.sendall(raw)
                sent += len(raw)
                reader.read_response(method)
            # A request is counted once its response is handed to the loop, so a client may have the
            # response a moment before the count has it.
            samples = scrape_until(server, lambda s: requests_counted(s) == len(requests))
            assert connections(samples) == {"reading": 0, "waiting": 0, "running": 0, "writing": 0, "idle": 1}
            assert metric(samples, "aiowsgi_bytes_received_total") == sent
            assert metric(samples, "aiowsgi_bytes_sent_total") == reader.received
        expected = {
            ("GET", "2xx"): 2,
            ("GET", "4xx"): 1,
            ("POST", "5xx"): 1,
            ("HEAD", "2xx"): 1,
            ("other", "2xx"): 1,
        }
        counted = {
            (dict(labels)["method"], dict(labels)["status"]): n
            for (name, labels), n in samples.items()
            if name == "aiowsgi_requests_total"
        }
        assert counted == expected
        assert metric(samples, "aiowsgi_request_duration_seconds_count") == len(requests)
        assert metric(samples, "aiowsgi_request_duration_seconds_bucket", le="+Inf") == len(requests)
        assert metric(samples, "aiowsgi_request_duration_seconds_bucket", le="10.0") == len(requests)
        assert 0 < metric(samples, "aiowsgi_request_duration_seconds_sum") < 10
        assert metric(samples, "aiowsgi_threads") == 8
        # The connection has closed since: its bytes move to the totals of closed connections, and the
        # counters neither drop nor double. The scrapes themselves are counted nowhere.
        later = scrape_until(server, lambda s: sum(connections(s).values()) == 0)
        for name in ("aiowsgi_bytes_received_total", "aiowsgi_bytes_sent_total", "aiowsgi_requests_total"):
            assert {k: v for k, v in later.items() if k[0] == name} == {
                k: v for k, v in samples.items() if k[0] == name
            }


def test_connections_by_state_threads_busy_and_queued() -> None:
    gate = GateApp()
    with running_server(gate, threads=1, **METRICS) as server:
        idle = server.connect()
        reading = server.connect()
        running = server.connect()
        waiting = server.connect()
        try:
            idle.sendall(get("/fast"))
            assert ResponseReader(idle).read_response().body == b"fast"
            reading.sendall(b"GET /fast HTTP/1.1\r\nHost: te")
            running.sendall(get("/slow"))
            assert gate.entered.wait(TIMEOUT)
            waiting.sendall(get("/fast"))
            one_each = {"reading": 1, "waiting": 1, "running": 1, "writing": 0, "idle": 1}
            samples = scrape_until(server, lambda s: connections(s) == one_each)
            assert metric(samples, "aiowsgi_threads") == 1
            assert metric(samples, "aiowsgi_threads_busy") == 1
            assert metric(samples, "aiowsgi_requests_queued") == 1
            gate.release.set()
            assert ResponseReader(running).read_response().body == b"slow"
            assert ResponseReader(waiting).read_response().body == b"fast"
            samples = scrape_until(server, lambda s: connections(s)["idle"] == 3)
            assert connections(samples)["reading"] == 1
            assert metric(samples, "aiowsgi_threads_busy") == 0
            assert metric(samples, "aiowsgi_requests_queued") == 0
        finally:
            for sock in (idle, reading, running, waiting):
                sock.close()


def big_response(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
    body = b"x" * (8 * 1024 * 1024)
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


def test_a_response_the_client_has_not_read_shows_writing() -> None:
    with running_server(big_response, **METRICS) as server:
        with small_rcvbuf_connection(server.port) as sock:
            sock.sendall(get("/"))
            # The application is done at once; the bytes wait for the client in the spill buffer.
            samples = scrape_until(server, lambda s: connections(s)["writing"] == 1)
            assert metric(samples, "aiowsgi_threads_busy") == 0
            assert requests_counted(samples) == 1


def test_overload_rejections_by_reason() -> None:
    with running_server(http_status.app, max_queued_requests=0, **METRICS) as server:
        for _ in range(2):
            assert request(server, get("/200")).status == 503
        samples = scrape(server)
        assert metric(samples, "aiowsgi_overload_rejections_total", reason="queue_full") == 2
        assert metric(samples, "aiowsgi_overload_rejections_total", reason="connections") == 0
        assert not [key for key in samples if key[0] == "aiowsgi_requests_total"]
    with running_server(http_status.app, limit_concurrency=1, **METRICS) as server:
        with server.connect() as held:
            held.sendall(get("/200"))
            assert ResponseReader(held).read_response().status == 200
            # The scrapes' connections are the metrics listener's: they take nothing from the limit.
            assert request(server, get("/200")).status == 503
            samples = scrape(server)
        assert metric(samples, "aiowsgi_overload_rejections_total", reason="connections") == 1


def test_timeouts_by_kind() -> None:
    with running_server(http_status.app, header_timeout=0.2, keep_alive_timeout=0.2, **METRICS) as server:
        with server.connect() as slow:
            slow.sendall(b"GET /200 HTTP/1.1\r\nHost: te")
            assert ResponseReader(slow).read_response().status == 408
        with server.connect() as idle:
            idle.sendall(get("/200"))
            reader = ResponseReader(idle)
            assert reader.read_response().status == 200
            assert reader.at_eof()
        samples = scrape(server)
    assert metric(samples, "aiowsgi_timeouts_total", kind="header") == 1
    assert metric(samples, "aiowsgi_timeouts_total", kind="keep_alive") >= 1
    assert metric(samples, "aiowsgi_timeouts_total", kind="body") == 0
    assert metric(samples, "aiowsgi_timeouts_total", kind="send") == 0


def test_access_log_and_metrics_both_see_each_request_but_not_the_scrapes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="aiowsgi.access")
    with running_server(http_status.app, access_log=True, **METRICS) as server:
        assert request(server, get("/200")).status == 200
        scrape_until(server, lambda s: requests_counted(s) == 1)
        samples = scrape(server)
    assert metric(samples, "aiowsgi_requests_total", method="GET", status="2xx") == 1
    lines = [record.getMessage() for record in caplog.records if record.name == "aiowsgi.access"]
    assert len(lines) == 1
    assert '"GET /200 HTTP/1.1" 200' in lines[0]


def test_metrics_off_serve_no_listener() -> None:
    with running_server(http_status.app) as server:
        assert server.server.metrics_sockets == []
        assert request(server, get("/200")).status == 200
