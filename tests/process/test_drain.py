"""--drain-delay with --health-path: on SIGTERM, keep serving with readiness withdrawn, then stop."""

from __future__ import annotations

import re
import signal

from tests.process._proc import ServerProcess, refuses_connections, serving, wait_until
from tests.process.test_workers import APP, wait_for_workers

DRAIN = ["--health-path", "/healthz", "--drain-delay", "60", "--graceful-timeout", "5", "--no-access-log"]


def health(server: ServerProcess) -> int:
    return server.get("/healthz").status


def test_sigterm_drains_then_a_second_sigterm_stops() -> None:
    with serving([APP, *DRAIN]) as server:
        assert health(server) == 200
        server.send(signal.SIGTERM)
        server.wait_for_line(r"received SIGTERM: draining for 60s")
        # Still accepting and serving; only the health check says the server is going.
        assert health(server) == 503
        assert server.get("/").status == 200
        assert server.proc.poll() is None
        server.send(signal.SIGTERM)  # the delay can be cut short
        assert server.wait() == 0
        assert refuses_connections(server.port)


def test_sigint_does_not_drain() -> None:
    with serving([APP, *DRAIN]) as server:
        server.send(signal.SIGINT)
        assert server.wait() == 0
    assert "draining" not in server.stderr


def test_workers_drain_together_and_a_reload_does_not_drain() -> None:
    with serving([APP, "--workers", "2", *DRAIN]) as server:
        wait_for_workers(server, 2)
        # A reload replaces both workers (each stopped with SIGTERM) without withdrawing readiness.
        server.send(signal.SIGHUP)
        wait_for_workers(server, 4)
        wait_until(
            lambda: len(re.findall(r"worker \d+ stopped", server.stderr)) >= 2, what="the old workers to stop"
        )
        assert "draining" not in server.stderr
        assert all(health(server) == 200 for _ in range(6))

        server.send(signal.SIGTERM)
        server.wait_for_line(r"received SIGTERM: draining for 60s")
        # Each worker hears of it over its link; wait for both to say so, then every answer is 503.
        wait_until(
            lambda: server.stderr.count("the supervisor is draining") >= 2, what="both workers to drain"
        )
        assert [health(server) for _ in range(6)] == [503] * 6
        assert server.get("/").status == 200
        server.send(signal.SIGTERM)
        server.wait_for_line(r"second SIGTERM during --drain-delay")
        assert server.wait() == 0
