"""The metrics' pieces in memory: the --metrics-bind option, the missing-extra error, and how a supervisor
sums its workers' snapshots (counters outlive their worker, gauges do not)."""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import pytest

from aiowsgi import Config, Server
from aiowsgi.errors import ConfigError
from aiowsgi.http.events import RequestHead
from aiowsgi.metrics import (
    DURATION_BUCKETS,
    MISSING_CLIENT,
    RESTART_REASONS,
    RequestStats,
    SnapshotCollector,
    WorkerSnapshots,
    metrics_app,
)


@pytest.mark.parametrize(
    ("options", "metrics_bind"),
    [
        ({"port": 8000}, "127.0.0.1:8000"),
        ({"port": 8000}, "0.0.0.0:8000"),
        ({"host": "0.0.0.0", "port": 8000}, "127.0.0.1:8000"),
        ({"bind": ("unix:/tmp/a.sock", "[::1]:9000")}, "[::1]:9000"),
        ({"bind": ("[::]:9000",)}, "127.0.0.1:9000"),
    ],
)
def test_metrics_cannot_share_the_applications_port(options: dict[str, object], metrics_bind: str) -> None:
    with pytest.raises(ConfigError, match="metrics_bind.*the application's own address"):
        Config(**options, metrics_bind=metrics_bind)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "metrics_bind"),
    [
        ({"port": 8000}, "127.0.0.1:9100"),
        ({"port": 0}, "127.0.0.1:0"),  # port 0 picks a free port each time: they cannot collide
        ({"port": 8000}, "127.0.0.2:8000"),
        ({"bind": ("unix:/tmp/a.sock",)}, "127.0.0.1:8000"),
    ],
)
def test_metrics_on_a_port_of_their_own(options: dict[str, object], metrics_bind: str) -> None:
    assert Config(**options, metrics_bind=metrics_bind).metrics_bind == metrics_bind  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["9100", "unix:/tmp/m.sock", "host:port", "127.0.0.1:70000", ":"])
def test_metrics_bind_must_be_host_and_port(text: str) -> None:
    with pytest.raises(ConfigError, match="option metrics_bind"):
        Config(metrics_bind=text)


def test_metrics_are_off_by_default() -> None:
    assert Config().metrics_bind == ""


def test_without_prometheus_client_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import prometheus_client` raise ImportError, as if it were not installed.
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(ConfigError) as caught:
        metrics_app(dict)
    assert str(caught.value) == "--metrics-bind needs prometheus_client: pip install aiowsgi[metrics]"
    assert str(caught.value) == MISSING_CLIENT

    async def start() -> None:
        server = Server(lambda environ, start_response: [], port=0, metrics_bind="127.0.0.1:0")
        await server.start()

    with pytest.raises(ConfigError, match="pip install aiowsgi\\[metrics\\]"):
        asyncio.run(start())


def worker_snapshot(requests: int, threads: int, idle: int) -> dict[str, object]:
    buckets = [0] * (len(DURATION_BUCKETS) + 1)
    buckets[0] = requests
    return {
        "requests": {"GET 2xx": requests},
        "duration_buckets": buckets,
        "duration_sum": requests * 0.001,
        "bytes_received": 100 * requests,
        "bytes_sent": 200 * requests,
        "overload": {"queue_full": 1},
        "timeouts": {"header": 1},
        "threads": threads,
        "threads_busy": 1,
        "requests_queued": 0,
        "connections": {"idle": idle},
    }


def test_a_departed_workers_counters_stay_in_the_total_and_its_gauges_go() -> None:
    workers = WorkerSnapshots()
    workers.update(1, worker_snapshot(requests=5, threads=4, idle=2))
    workers.update(2, worker_snapshot(requests=3, threads=4, idle=1))
    total = workers.total()
    assert total["requests"] == {"GET 2xx": 8}
    assert total["threads"] == 8
    assert total["connections"] == {"idle": 3}
    assert total["workers"] == 2
    workers.update(1, worker_snapshot(requests=6, threads=4, idle=0))  # a later snapshot replaces one
    workers.remove(1)
    workers.count_restart("reload")
    workers.update(3, worker_snapshot(requests=0, threads=4, idle=0))
    total = workers.total()
    assert total["requests"] == {"GET 2xx": 9}
    assert total["duration_buckets"][0] == 9
    assert total["bytes_sent"] == 1800
    assert total["overload"] == {"queue_full": 3}
    assert total["threads"] == 8
    assert total["threads_busy"] == 2
    assert total["connections"] == {"idle": 1}
    assert total["workers"] == 2
    assert total["worker_restarts"] == dict.fromkeys(RESTART_REASONS, 0) | {"reload": 1}
    workers.remove(2)
    workers.remove(3)
    assert workers.total()["requests"] == {"GET 2xx": 9}
    assert "threads" not in workers.total()


def test_the_collector_renders_an_empty_snapshot_with_every_metric() -> None:
    names = {metric.name for metric in SnapshotCollector(dict).collect()}
    assert names == {
        "aiowsgi_requests",
        "aiowsgi_request_duration_seconds",
        "aiowsgi_timeouts",
        "aiowsgi_overload_rejections",
        "aiowsgi_bytes_received",
        "aiowsgi_bytes_sent",
        "aiowsgi_threads",
        "aiowsgi_threads_busy",
        "aiowsgi_requests_queued",
        "aiowsgi_connections",
    }
    supervisor = {metric.name for metric in SnapshotCollector(WorkerSnapshots().total).collect()}
    assert supervisor - names == {"aiowsgi_workers", "aiowsgi_worker_restarts"}


class FinishedResponse:
    def __init__(self, status: int) -> None:
        self.status = status
        self.body_bytes = 0


def test_request_stats_add_up_every_threads_counts() -> None:
    stats = RequestStats()
    get = RequestHead("GET", b"/", "1.1", (), None, False, True, False)
    brew = RequestHead("BREW", b"/", "1.1", (), None, False, True, False)

    def count(times: int) -> None:
        started = time.monotonic()
        for _ in range(times):
            stats.observe({}, get, FinishedResponse(200), started)  # type: ignore[arg-type]
        stats.observe({}, brew, FinishedResponse(0), started - 60)  # type: ignore[arg-type]

    threads = [threading.Thread(target=count, args=(1000,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = stats.counts()
    # An unknown method is "other"; a client that left before the answer has no status class.
    assert counts["requests"] == {"GET 2xx": 4000, "other none": 4}
    assert sum(counts["duration_buckets"]) == 4004
    assert counts["duration_buckets"][-1] == 4  # the minute-long ones: past the last bound, in +Inf
    assert counts["duration_sum"] >= 240
