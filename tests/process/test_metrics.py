"""--metrics-bind from the command line: one process, and a --workers supervisor that serves the sum of its
workers, keeps the counters of the workers it replaced and drops their gauges."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.process._proc import REPO_ROOT, ServerProcess, run_cli, serving, wait_until
from tests.process.test_workers import answer_pid, requests_on_both, wait_for_stopped, wait_for_workers
from tests.support import Samples, metric, scrape_metrics

pytest.importorskip("prometheus_client")

APP = "tests.process.apps.workers:pid"
# --timeout 2: the workers report every 0.5 s, so the supervisor's sums catch up quickly.
QUICK = ["--graceful-timeout", "5", "--no-access-log", "--threads", "2", "--timeout", "2"]
METRICS = ["--metrics-bind", "127.0.0.1:0"]


def metrics_port(server: ServerProcess) -> int:
    return int(server.wait_for_line(r"metrics on http://127\.0\.0\.1:(\d+)")[1])


def requests_counted(samples: Samples) -> float:
    return sum(v for (name, _), v in samples.items() if name == "aiowsgi_requests_total")


def scrape_when(port: int, requests: int, workers: int) -> Samples:
    """Scrape until the supervisor's sum has every request made and hears from `workers` workers."""
    found: list[Samples] = []

    def caught_up() -> bool:
        found[:] = [scrape_metrics(port)]
        return requests_counted(found[0]) == requests and metric(found[0], "aiowsgi_workers") == workers

    wait_until(caught_up, what=f"{requests} requests from {workers} workers in the metrics")
    return found[0]


def test_one_process_serves_its_metrics() -> None:
    with serving([APP, *QUICK, *METRICS]) as server:
        port = metrics_port(server)
        assert port != server.port
        for _ in range(3):
            answer_pid(server)
        # Counted once the response is handed to the loop: the client may have it a moment before.
        wait_until(lambda: requests_counted(scrape_metrics(port)) == 3, what="3 requests in the metrics")
        samples = scrape_metrics(port)
        assert metric(samples, "aiowsgi_requests_total", method="GET", status="2xx") == 3
        assert metric(samples, "aiowsgi_threads") == 2
        assert ("aiowsgi_workers", ()) not in samples
        assert server.stop() == 0


def test_workers_are_summed_and_a_reload_keeps_the_old_workers_counts() -> None:
    with serving([APP, "--workers", "2", *QUICK, *METRICS]) as server:
        port = metrics_port(server)
        old = wait_for_workers(server, 2)
        made = requests_on_both(server, set(old))
        samples = scrape_when(port, made, workers=2)
        assert metric(samples, "aiowsgi_threads") == 4  # two workers of two threads
        assert metric(samples, "aiowsgi_request_duration_seconds_count") == made
        assert metric(samples, "aiowsgi_bytes_received_total") > 0
        sent_before = metric(samples, "aiowsgi_bytes_sent_total")
        assert metric(samples, "aiowsgi_worker_restarts_total", reason="reload") == 0
        # Requests just before the reload, which the old workers count after their last heartbeat: the
        # snapshot each sends once it has stopped brings them to the supervisor.
        for _ in range(5):
            answer_pid(server)
        made += 5

        server.send(signal.SIGHUP)
        new = wait_for_workers(server, 4)[2:]
        wait_for_stopped(server, old)
        made += requests_on_both(server, set(new))
        samples = scrape_when(port, made, workers=2)
        assert metric(samples, "aiowsgi_threads") == 4  # the old workers' gauges are gone
        assert metric(samples, "aiowsgi_request_duration_seconds_count") == made
        assert metric(samples, "aiowsgi_bytes_sent_total") > sent_before
        assert metric(samples, "aiowsgi_worker_restarts_total", reason="reload") == 2
        assert metric(samples, "aiowsgi_worker_restarts_total", reason="crashed") == 0
        assert server.stop() == 0


def test_a_killed_worker_is_counted_as_crashed() -> None:
    with serving([APP, "--workers", "2", *QUICK, *METRICS]) as server:
        port = metrics_port(server)
        victim, _ = wait_for_workers(server, 2)
        os.kill(victim, signal.SIGKILL)
        server.wait_for_line(rf"worker {victim} was killed by SIGKILL; starting a replacement")
        wait_for_workers(server, 3)
        wait_until(
            lambda: metric(scrape_metrics(port), "aiowsgi_worker_restarts_total", reason="crashed") == 1,
            what="the crash in the metrics",
        )
        assert server.stop() == 0


def test_metrics_cannot_be_on_the_applications_port() -> None:
    result = run_cli([APP, "--port", "8123", "--metrics-bind", "127.0.0.1:8123"])
    assert result.returncode == 2
    assert "the application's own address" in result.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_without_prometheus_client_metrics_fail_at_start_with_what_to_install(
    tmp_path: Path, workers: str
) -> None:
    # A prometheus_client that cannot be imported, ahead of the real one on the path.
    fake = tmp_path / "prometheus_client"
    fake.mkdir()
    (fake / "__init__.py").write_text('raise ImportError("simulated: not installed")\n')
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)])}
    result = run_cli([APP, "--port", "0", "--workers", workers, *METRICS], env=env)
    assert result.returncode == 1
    assert (
        "aiowsgi: error: --metrics-bind needs prometheus_client: pip install aiowsgi[metrics]"
        in result.stderr
    )
    assert "listening on" not in result.stderr
