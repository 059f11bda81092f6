"""Prometheus metrics (--metrics-bind): what is counted, and how the numbers reach a scrape.

Theory of operation
-------------------
Nothing on the hot path calls prometheus_client, and with --metrics-bind off nothing here runs at all.

- Per request, `RequestStats.observe` (the server's RequestObserver, in the worker thread) counts the
  request by method and status class and puts its duration in a histogram bucket: a few adds, into
  counts of the thread's own, so without a lock (about 0.3 us).
- The loop keeps plain counts where it already is: bytes per connection (`HttpProtocol._bytes_in/_out`,
  folded into ServerState when a connection closes), timeouts by kind (ServerState.timeouts), overload
  refusals by kind (OverloadLog). Those cost an add whether metrics are on or not.
- Gauges are not tracked at all: threads busy, requests queued and connections by state are read from the
  live state (ServerState.connections, the pool's queue length) when a snapshot is taken.
- `take_snapshot` turns all of it into a `Snapshot`, a plain JSON-able dict, on the loop thread: the only
  thread that may read connection state, and the one that sees the connection totals and the folded
  totals agree (a connection closing between two reads could otherwise be counted twice or not at all,
  and a counter that goes down is a reset to Prometheus).
- `SnapshotCollector` renders a snapshot as metric families; prometheus_client writes the exposition.

One process: the metrics listener (a second listener on the same loop, with a thread of its own, see
server.py) asks the loop for a snapshot at each scrape (`snapshot_on_loop`).

--workers: each worker sends its snapshot to the supervisor with its heartbeat (every second or so; see
server.SupervisorLink), and once more after it has stopped serving. The supervisor keeps the latest one
of each live worker in `WorkerSnapshots`; when it reaps a worker it folds that worker's counters into a
total of the departed and drops its gauges. So counters survive a worker's replacement (HUP,
--max-requests, a crash), gauges of a dead worker vanish, and the supervisor's state stays the same size
however many workers have come and gone. We chose this over prometheus_client's multiprocess mode
(PROMETHEUS_MULTIPROC_DIR), which keeps one file per worker that ever lived and metric type, so that a
scrape reads more files with every recycled worker; which has no way to add a batch of observations to a
histogram short of its private attributes (so it would cost prometheus_client calls per request); and
which would switch the application's own prometheus_client metrics into multiprocess mode behind its
back. The price: a worker killed with SIGKILL loses the counts of its last second, and gauges lag by up to
a heartbeat.
"""

from __future__ import annotations

import bisect
import concurrent.futures
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ._types import Environ, WSGIApp
from .errors import ConfigError
from .http.events import RequestHead
from .protocol import Activity, ServerState, connection_activity, traffic
from .wsgi.response import Responder

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

# OpenTelemetry's default buckets for http.server.request.duration, in seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
# The method label takes these values and "other", so a client cannot make up new series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
TIMEOUT_KINDS = ("header", "body", "keep_alive", "send", "queue")
OVERLOAD_KINDS = ("connections", "queue_full", "queue_timeout")
RESTART_REASONS = ("crashed", "timeout", "start_failure", "max_requests", "reload")
MISSING_CLIENT = "--metrics-bind needs prometheus_client: pip install aiowsgi[metrics]"

# A snapshot of one process's (or, summed, a supervisor's workers') numbers:
#   counters: requests {"METHOD CLASS": n}, duration_buckets [n per bucket, +Inf last; not cumulative],
#     duration_sum, bytes_received, bytes_sent, overload {kind: n}, timeouts {kind: n};
#   gauges: threads, threads_busy, requests_queued, connections {state: n};
#   the supervisor's own: workers (a gauge), worker_restarts {reason: n} (a counter).
Snapshot = dict[str, Any]
COUNTERS = (
    "requests", "duration_buckets", "duration_sum", "bytes_received", "bytes_sent", "overload", "timeouts",
)  # fmt: skip
GAUGES = ("threads", "threads_busy", "requests_queued", "connections")


def require_prometheus_client() -> None:
    """Raise ConfigError, with what to install, if prometheus_client cannot be imported."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        raise ConfigError(MISSING_CLIENT) from None


class _Shard:
    """One worker thread's counts: only that thread writes them, so it needs no lock."""

    __slots__ = ("requests", "buckets", "duration_sum")

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = {}  # (method, status // 100) -> requests
        self.buckets = [0] * (len(DURATION_BUCKETS) + 1)
        self.duration_sum = 0.0


class RequestStats:
    """Counts of the requests the application ran, kept by the worker threads (the RequestObserver).

    Each thread counts into a shard of its own, and `counts` adds the shards up: a lock per request would
    cost more than the counting itself. Another thread's shard is read with dict() and list() copies,
    which the GIL makes atomic, so a reader sees each count either before or after an add, never torn.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._shards: list[_Shard] = []
        self._shards_lock = threading.Lock()

    def observe(self, environ: Environ, request: RequestHead, responder: Responder, started: float) -> None:
        """A RequestObserver: count one request; its duration runs from when it was complete."""
        elapsed = time.monotonic() - started
        try:
            shard: _Shard = self._local.shard
        except AttributeError:
            shard = self._new_shard()
        method = request.method
        key = (method if method in METHODS else "other", responder.status // 100)
        requests = shard.requests
        requests[key] = requests.get(key, 0) + 1
        shard.buckets[bisect.bisect_left(DURATION_BUCKETS, elapsed)] += 1
        shard.duration_sum += elapsed

    def _new_shard(self) -> _Shard:
        shard = self._local.shard = _Shard()
        with self._shards_lock:
            self._shards.append(shard)
        return shard

    def counts(self) -> Snapshot:
        """The requests by "METHOD CLASS", the duration buckets and their sum, over every thread."""
        with self._shards_lock:
            shards = list(self._shards)
        requests: dict[str, int] = {}
        buckets = [0] * (len(DURATION_BUCKETS) + 1)
        duration_sum = 0.0
        for shard in shards:
            for (method, status_class), n in dict(shard.requests).items():
                # Status 0: the client left before the application answered (nginx logs that as 499).
                key = f"{method} {status_class}xx" if 1 <= status_class <= 5 else f"{method} none"
                requests[key] = requests.get(key, 0) + n
            buckets = [a + b for a, b in zip(buckets, list(shard.buckets), strict=True)]
            duration_sum += shard.duration_sum
        return {"requests": requests, "duration_buckets": buckets, "duration_sum": duration_sum}


def take_snapshot(state: ServerState, stats: RequestStats) -> Snapshot:
    """Everything one server process counts, now; on the loop thread only (see the module docstring)."""
    received, sent = traffic(state)
    overload = dict.fromkeys(OVERLOAD_KINDS, 0) | state.overload.totals
    timeouts = dict.fromkeys(TIMEOUT_KINDS, 0) | state.timeouts
    timeouts["queue"] = overload["queue_timeout"]
    pool = state.pool
    connections = connection_activity(state)
    return {
        **stats.counts(),
        "bytes_received": received,
        "bytes_sent": sent,
        "overload": overload,
        "timeouts": timeouts,
        "threads": pool.size,
        "threads_busy": connections[Activity.RUNNING],
        "requests_queued": connections[Activity.WAITING],
        "connections": {activity.value: n for activity, n in connections.items()},
    }


def snapshot_on_loop(loop: Any, take: Callable[[], Snapshot], timeout: float = 5.0) -> Callable[[], Snapshot]:
    """A function for another thread (the scrape's) that runs `take` on `loop` and waits for its result."""

    def from_loop() -> Snapshot:
        future: concurrent.futures.Future[Snapshot] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(take())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread, which raises it
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return future.result(timeout)

    return from_loop


def add_snapshots(total: Snapshot, more: Snapshot, keys: Iterable[str]) -> None:
    """Add the `keys` of `more` into `total`: numbers, {label: n} dicts and bucket lists alike."""
    for key in keys:
        value = more.get(key)
        if value is None:
            continue
        have = total.get(key)
        if isinstance(value, dict):
            merged = dict(have or {})
            for label, n in value.items():
                merged[label] = merged.get(label, 0) + n
            total[key] = merged
        elif isinstance(value, list):
            total[key] = [a + b for a, b in zip(have, value, strict=True)] if have else list(value)
        else:
            total[key] = (have or 0) + value


class WorkerSnapshots:
    """The supervisor's sum of its workers' snapshots (see the module docstring); thread-safe.

    The supervisor's loop calls `update`, `remove` and `count_restart`; the metrics listener's thread
    calls `total`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[int, Snapshot] = {}
        self._departed: Snapshot = {}  # the counters of every worker that has exited
        self._restarts = dict.fromkeys(RESTART_REASONS, 0)

    def update(self, pid: int, snapshot: Snapshot) -> None:
        with self._lock:
            self._live[pid] = snapshot

    def remove(self, pid: int) -> None:
        """The worker has exited: keep its counters, drop its gauges."""
        with self._lock:
            last = self._live.pop(pid, None)
            if last is not None:
                add_snapshots(self._departed, last, COUNTERS)

    def count_restart(self, reason: str) -> None:
        with self._lock:
            self._restarts[reason] += 1

    def total(self) -> Snapshot:
        with self._lock:
            total: Snapshot = {}
            add_snapshots(total, self._departed, COUNTERS)
            for snapshot in self._live.values():
                add_snapshots(total, snapshot, (*COUNTERS, *GAUGES))
            total["workers"] = len(self._live)
            total["worker_restarts"] = dict(self._restarts)
            return total


class SnapshotCollector:
    """A prometheus_client collector that renders the snapshot `source()` returns, at each scrape."""

    def __init__(self, source: Callable[[], Snapshot]) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        snap = self._source()
        requests = CounterMetricFamily(
            "aiowsgi_requests",
            "Requests the application ran, by method and status class.",
            labels=("method", "status"),
        )
        for key, n in sorted(snap.get("requests", {}).items()):
            requests.add_metric(key.split(" "), n)
        yield requests
        buckets = snap.get("duration_buckets") or [0] * (len(DURATION_BUCKETS) + 1)
        cumulative, running = [], 0
        for bound, n in zip((*DURATION_BUCKETS, float("inf")), buckets, strict=True):
            running += n
            cumulative.append((_bound_text(bound), running))
        yield HistogramMetricFamily(
            "aiowsgi_request_duration_seconds",
            "Seconds from a request being complete (read, queued) to its response being handed to the loop.",
            buckets=cumulative,
            sum_value=snap.get("duration_sum", 0.0),
        )
        yield _labelled(
            CounterMetricFamily,
            "aiowsgi_timeouts",
            "Waits on a client that timed out, by kind (keep_alive: an idle connection closed, as usual).",
            "kind",
            snap.get("timeouts", {}),
        )
        yield _labelled(
            CounterMetricFamily,
            "aiowsgi_overload_rejections",
            "Requests or connections answered 503 for overload, by reason.",
            "reason",
            snap.get("overload", {}),
        )
        yield CounterMetricFamily(
            "aiowsgi_bytes_received", "Bytes read from clients.", value=snap.get("bytes_received", 0)
        )
        yield CounterMetricFamily(
            "aiowsgi_bytes_sent",
            "Bytes of responses handed to client connections.",
            value=snap.get("bytes_sent", 0),
        )
        yield GaugeMetricFamily("aiowsgi_threads", "Worker threads.", value=snap.get("threads", 0))
        yield GaugeMetricFamily(
            "aiowsgi_threads_busy",
            "Worker threads running a request.",
            value=snap.get("threads_busy", 0),
        )
        yield GaugeMetricFamily(
            "aiowsgi_requests_queued",
            "Complete requests waiting for a worker thread.",
            value=snap.get("requests_queued", 0),
        )
        connections = dict.fromkeys((activity.value for activity in Activity), 0)
        yield _labelled(
            GaugeMetricFamily,
            "aiowsgi_connections",
            "Open client connections, by what they are doing.",
            "state",
            connections | snap.get("connections", {}),
        )
        if "worker_restarts" in snap:
            yield GaugeMetricFamily("aiowsgi_workers", "Worker processes reporting.", value=snap["workers"])
            yield _labelled(
                CounterMetricFamily,
                "aiowsgi_worker_restarts",
                "Worker processes replaced, by reason.",
                "reason",
                snap["worker_restarts"],
            )


def _labelled(family: Any, name: str, documentation: str, label: str, values: dict[str, int]) -> Metric:
    metric = family(name, documentation, labels=(label,))
    for value, n in sorted(values.items()):
        metric.add_metric((value,), n)
    result: Metric = metric
    return result


def _bound_text(bound: float) -> str:
    """A bucket's `le` as prometheus_client writes it ("0.005", "1.0", "+Inf")."""
    return "+Inf" if bound == float("inf") else repr(float(bound))


def metrics_app(source: Callable[[], Snapshot]) -> WSGIApp:
    """The WSGI application that serves the exposition of `source()`'s snapshots (any path).

    Raises:
        ConfigError: prometheus_client is not installed.
    """
    require_prometheus_client()
    from prometheus_client import CollectorRegistry, make_wsgi_app

    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(source))
    app: WSGIApp = make_wsgi_app(registry)
    return app
