"""The Server: binds, accepts, runs the pool, and shuts down gracefully. Plus serve() and run().

`Server` works on whatever loop is running (uvloop or asyncio) and never touches signals or logging
configuration; `run()` is the command line's blocking entry point and the only place that does both.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import random
import resource
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any

from .__about__ import __version__
from ._types import WSGIApp
from .accesslog import access_line_observer, compile_access_format
from .app_loader import load_app
from .bridge import WorkerPool
from .config import Config, config_from_kwargs
from .http.connection import RequestLimits
from .http.parser import HeadLimits, resolve_parser_name
from .logs import access_log_for_requests
from .loops import loop_factory, loop_name
from .metrics import (
    RequestStats,
    Snapshot,
    metrics_app,
    require_prometheus_client,
    snapshot_on_loop,
    take_snapshot,
)
from .protocol import HttpProtocol, ServerState, describe_job
from .sockets import bind_all, bind_socket, describe, unix_socket_paths
from .tls import server_ssl_context
from .wsgi.response import RequestObserver

error_log = logging.getLogger("aiowsgi.error")


class Server:
    """A WSGI server on the running event loop.

    Args:
        app: the WSGI application.
        config: a Config; keyword `options` (any Config field) are applied on top of it.
        sockets: already-bound listening sockets to serve instead of binding from the config.

    Use `await start()` / `await shutdown()`, `async with Server(...)`, or `await serve()`.

    Raises:
        ConfigError: an unknown option, a bad value, or an unknown atom in access_log_format.
    """

    def __init__(
        self,
        app: WSGIApp,
        config: Config | None = None,
        *,
        sockets: Sequence[socket.socket] | None = None,
        **options: Any,
    ) -> None:
        self.app = app
        self.config = config_from_kwargs(options, config) if options or config is None else config
        self._format_access_line = compile_access_format(self.config.access_log_format)
        self._given_sockets = list(sockets) if sockets is not None else None
        self._unix_paths: list[str] = []
        self._servers: list[asyncio.Server] = []
        self._sockets: list[socket.socket] = []
        self._state: ServerState | None = None
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()
        # Set once --max-requests requests have been taken; a supervised worker then asks to be replaced.
        self.max_requests_reached = asyncio.Event()
        self._shutdown_task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        # --metrics-bind: the counts, and the listener that serves them. A --workers worker (run() sets
        # this to False) keeps the counts but serves nothing: it reports them to its supervisor.
        self._metrics_listener = True
        # wsgi.multiprocess: true in a --workers worker (run() sets it), where other processes run the same
        # application at the same time.
        self._multiprocess = False
        self._stats: RequestStats | None = None
        self._metrics_server: Server | None = None
        # A --workers worker tells its supervisor it is serving here (run() sets it), before the
        # "listening" line: a worker killed once that line is out is then a crash, not a failed start.
        self._on_serving: Callable[[], None] | None = None

    @property
    def sockets(self) -> list[socket.socket]:
        """The listening sockets (so that port 0 can be read back); empty before start()."""
        return list(self._sockets)

    @property
    def metrics_sockets(self) -> list[socket.socket]:
        """The --metrics-bind listener's socket (to read back port 0); empty if off or before start()."""
        return self._metrics_server.sockets if self._metrics_server is not None else []

    @property
    def parser_name(self) -> str:
        return self._state.parser_name if self._state else resolve_parser_name(self.config.http)

    async def start(self) -> None:
        """Bind (unless sockets were given), start the worker threads, start accepting, then return.

        Raises:
            ConfigError, OSError, ImportError: the address cannot be bound or the parser is not installed.
        """
        if self._state is not None:
            raise RuntimeError("this Server has already been started")
        config = self.config
        loop = asyncio.get_running_loop()
        if config.metrics_bind and self._metrics_listener:
            require_prometheus_client()  # before anything is bound or started
        parser_name = resolve_parser_name(config.http)
        ssl_context = server_ssl_context(config)
        limits = request_limits(config)
        if self._given_sockets is not None:
            sockets = self._given_sockets
        else:
            sockets = bind_all(config)
            self._unix_paths = unix_socket_paths(config)
        stats = self._stats = RequestStats() if config.metrics_bind else None
        pool = WorkerPool(
            config.threads,
            loop,
            job_limit=_jittered(config.max_requests, config.max_requests_jitter),
            on_job_limit=self.max_requests_reached.set,
            watch=config.request_warn_timeout > 0,
            batch_scheduling=config.batch_scheduling,
        )
        observers = (
            [access_line_observer(access_log_for_requests(), self._format_access_line)]
            if config.access_log
            else []
        )
        if stats is not None:
            observers.append(stats.observe)
        scheme = "https" if ssl_context else "http"
        state = ServerState(
            app=self.app,
            config=config,
            pool=pool,
            loop=loop,
            parser_name=parser_name,
            limits=limits,
            url_scheme=scheme,
            multiprocess=self._multiprocess,
            observe=_one_observer(observers),
        )
        state.all_closed.set()
        pool.start()
        self._state = state
        self._sockets = list(sockets)
        try:
            for sock in sockets:
                server = await loop.create_server(
                    lambda: HttpProtocol(state),
                    sock=sock,
                    backlog=config.backlog,
                    ssl=ssl_context,
                    start_serving=False,
                )
                self._servers.append(server)
            for server in self._servers:
                await server.start_serving()
            if stats is not None and self._metrics_listener:
                metrics_socket = bind_socket(config.metrics_bind, config.backlog)
                self._metrics_server = MetricsServer(
                    metrics_app(snapshot_on_loop(loop, lambda: take_snapshot(state, stats))),
                    metrics_listener_config(config),
                    sockets=[metrics_socket],
                )
                await self._metrics_server.start()
        except BaseException:
            # Cancelled (or failed) half-way through: shutdown() closes the servers made so far and joins
            # the worker threads; the sockets no server owns yet are closed here. Nothing may leak.
            for sock in sockets[len(self._servers) :]:
                sock.close()
            await asyncio.shield(self.shutdown(0))
            raise
        if self._on_serving is not None:
            self._on_serving()
        self._announce(sockets, scheme, parser_name, loop)
        if config.request_warn_timeout:
            self._watch_requests(set())
        self.started.set()

    def _announce(
        self, sockets: Sequence[socket.socket], scheme: str, parser_name: str, loop: asyncio.AbstractEventLoop
    ) -> None:
        config = self.config
        error_log.info(
            "aiowsgi %s listening on %s (parser %s, loop %s, %d threads)",
            __version__,
            # A uwsgi listener speaks uwsgi (to nginx), whatever the HTTP parser would be.
            ", ".join(describe(sock, "uwsgi" if config.protocol == "uwsgi" else scheme) for sock in sockets),
            "uwsgi" if config.protocol == "uwsgi" else parser_name,
            loop_name(loop),
            config.threads,
        )

    def _metrics_snapshot(self) -> Snapshot | None:
        """--metrics-bind: what this server counts, now; None if off or not started. Loop thread only."""
        if self._state is None or self._stats is None:
            return None
        return take_snapshot(self._state, self._stats)

    def _watch_requests(self, warned: set[tuple[int, float]]) -> None:
        """--request-warn-timeout: one warning, with its stack, for each request running past the limit."""
        state = self._state
        if state is None or self.stopped.is_set():
            return
        limit = self.config.request_warn_timeout
        busy = state.pool.busy.copy()
        warned.intersection_update((ident, started) for ident, (started, _) in busy.items())
        now = time.monotonic()
        frames = None
        for ident, (started, job) in busy.items():
            if now - started < limit or (ident, started) in warned:
                continue
            warned.add((ident, started))
            frames = frames or sys._current_frames()
            frame = frames.get(ident)
            stack = "".join(traceback.format_stack(frame)) if frame is not None else "(not available)\n"
            thread = next((t.name for t in threading.enumerate() if t.ident == ident), str(ident))
            error_log.warning(
                "request running for %.1fs (--request-warn-timeout %g): %s, in thread %s, at:\n%s",
                now - started, limit, describe_job(job), thread, stack.rstrip("\n"),
            )  # fmt: skip
        self._watchdog = state.loop.call_later(min(limit / 2, 1.0), self._watch_requests, warned)

    def set_ready(self, ready: bool) -> None:
        """Whether --health-path answers 200 (ready) or 503; everything else is served either way."""
        if self._state is not None:
            self._state.ready = ready

    async def drain(self, delay: float | None = None) -> None:
        """Answer --health-path with 503 for `delay` seconds (default: the drain_delay option) while
        serving everything else as usual, so that a load balancer stops sending requests; then return.

        Call shutdown() afterwards. Cancelling the drain ends it early.
        """
        self.set_ready(False)
        await asyncio.sleep(self.config.drain_delay if delay is None else delay)

    async def serve(self) -> None:
        """Start, serve until cancelled (or until shutdown() is called), then shut down gracefully."""
        if self._state is None:
            await self.start()
        try:
            await self.stopped.wait()
        except asyncio.CancelledError:
            await asyncio.shield(self.shutdown())
            raise

    async def shutdown(self, timeout: float | None = None) -> None:
        """Stop accepting, let requests in flight finish for up to `timeout` seconds, then close.

        `timeout` defaults to the graceful_timeout option. Idle keep-alive connections close at once;
        connections still busy after the timeout are cut. The worker threads are joined.
        """
        if self._shutdown_task is None:
            self._shutdown_task = asyncio.ensure_future(self._shutdown(timeout))
        await asyncio.shield(self._shutdown_task)

    async def _shutdown(self, timeout: float | None) -> None:
        state = self._state
        if state is None:
            self.stopped.set()
            return
        if self._watchdog is not None:
            self._watchdog.cancel()
        grace = self.config.graceful_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        if self._metrics_server is not None:
            await self._metrics_server.shutdown(min(grace, 1.0))
        self._remove_unix_socket_files()  # while the sockets are open, to read their paths
        # Stop accepting, then let the connections accepted just before arrive before counting what is
        # open: both loops call connection_made soon after the accept, and asyncio's own loop sets the
        # connection up in a task of its own first, which fails (a reset) if the server is closed by then.
        # Each such client sent a request that another process on the same socket would have answered.
        if isinstance(loop, asyncio.BaseEventLoop):
            for server in self._servers:
                for sock in server.sockets:
                    loop.remove_reader(sock.fileno())
        else:
            for server in self._servers:
                server.close()
        for _ in range(2):
            await asyncio.sleep(0)
        for server in self._servers:
            server.close()
        state.draining = True
        for connection in list(state.connections):
            connection.shutdown()
        if state.connections:
            try:
                await asyncio.wait_for(state.all_closed.wait(), grace)
            except TimeoutError:
                error_log.warning(
                    "graceful timeout (%.1fs): cutting %d connection(s) still busy",
                    grace,
                    len(state.connections),
                )
                for connection in list(state.connections):
                    connection.force_close()
        busy = await state.pool.stop(max(0.5, deadline - loop.time()))
        if busy:
            error_log.warning("%d worker thread(s) still running the application at shutdown", busy)
        for server in self._servers:
            await server.wait_closed()
        self.stopped.set()

    def force_close(self) -> None:
        """Cut every connection now (a second Ctrl-C); shutdown() then completes at once."""
        if self._state is not None:
            self._state.draining = True
            for connection in list(self._state.connections):
                connection.force_close()

    def _remove_unix_socket_files(self) -> None:
        # Only the files this server bound: a socket inherited (fd://, sockets=) belongs to whoever
        # bound it, a supervisor that outlives this server, say.
        for path in self._unix_paths:
            try:
                os.unlink(path)
            except OSError:
                pass

    async def __aenter__(self) -> Server:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.shutdown()


class MetricsServer(Server):
    """The --metrics-bind listener: a small Server of its own (one thread, no access log, no metrics).

    Its connections, requests and thread are apart from the application's, so a scrape never waits for
    an application thread and is never counted in the application's metrics or logged as its request.
    """

    def _announce(
        self, sockets: Sequence[socket.socket], scheme: str, parser_name: str, loop: asyncio.AbstractEventLoop
    ) -> None:
        error_log.info("metrics on %s", ", ".join(describe(sock) for sock in sockets))


def metrics_listener_config(config: Config) -> Config:
    """The options of the metrics listener: plain HTTP, one thread, limits of their own."""
    return Config(
        threads=1,
        max_queued_requests=16,
        limit_concurrency=64,
        access_log=False,
        http=config.http,
        server_header=config.server_header,
        graceful_timeout=1.0,
    )


@contextlib.contextmanager
def metrics_in_thread(source: Callable[[], Snapshot], sock: socket.socket, config: Config) -> Iterator[None]:
    """Serve the metrics of `source` on `sock` from an event loop in a thread of its own, while the block
    runs: how a --workers supervisor, which has no event loop, serves its workers' sum.

    Raises:
        ConfigError: prometheus_client is not installed.
    """
    app = metrics_app(source)
    started = threading.Event()
    failure: list[BaseException] = []
    stop: list[Callable[[], object]] = []

    async def serve_until_stopped() -> None:
        server = MetricsServer(app, metrics_listener_config(config), sockets=[sock])
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        try:
            await server.start()
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread, which raises it
            failure.append(exc)
            return
        finally:
            stop.append(lambda: loop.call_soon_threadsafe(stopping.set))
            started.set()
        await stopping.wait()
        await server.shutdown(1.0)

    thread = threading.Thread(
        target=asyncio.run, args=(serve_until_stopped(),), name="aiowsgi-metrics", daemon=True
    )
    thread.start()
    started.wait()
    if failure:
        thread.join()
        raise failure[0]
    try:
        yield
    finally:
        stop[0]()
        thread.join(5.0)


def _one_observer(observers: list[RequestObserver]) -> RequestObserver | None:
    """One RequestObserver that tells each of `observers` (chosen here, once, not per request)."""
    if len(observers) <= 1:
        return observers[0] if observers else None
    chosen = tuple(observers)

    def tell_each(environ: Any, request: Any, responder: Any, started: float) -> None:
        for observer in chosen:
            observer(environ, request, responder, started)

    return tell_each


def request_limits(config: Config) -> RequestLimits:
    """The limits on what a client may send, from the options."""
    return RequestLimits(
        head=HeadLimits(
            request_line=config.limit_request_line,
            field_count=config.limit_request_fields,
            field_size=config.limit_request_field_size,
        ),
        body=config.limit_request_body,
        chunked_framing=config.limit_chunked_framing,
    )


async def serve(app: WSGIApp, *, sockets: Sequence[socket.socket] | None = None, **options: Any) -> None:
    """Serve `app` on the running loop until cancelled; cancellation is a graceful shutdown.

    Args:
        app: the WSGI application.
        sockets: already-bound listening sockets to serve instead of binding from the options.
        **options: any Config field, e.g. host, port, threads (see docs/options.md).

    Raises:
        ConfigError: an unknown option or a bad value.
        OSError: an address cannot be bound.
    """
    await Server(app, sockets=sockets, **options).serve()


def run(app: WSGIApp | str, config: Config | None = None, **options: Any) -> int:
    """Serve in this thread until SIGINT or SIGTERM, on the loop the config names; return an exit code.

    `app` may be a WSGI callable or a "module:attr" string (loaded with the config's factory/app_dir).
    The first SIGINT/SIGTERM shuts down gracefully; a second SIGINT cuts all connections at once.
    """
    config = config_from_kwargs(options, config) if options or config is None else config
    if isinstance(app, str):
        app = load_app(app, config.factory, config.app_dir)
    # Set by a --workers supervisor for the processes it starts; not for the application's own children.
    link_fd = os.environ.pop(SUPERVISOR_FD_ENV, None)
    _fit_open_file_limit(config.limit_concurrency)
    server = Server(app, config)
    server._metrics_listener = link_fd is None
    server._multiprocess = link_fd is not None
    with pid_file(config.pid), asyncio.Runner(loop_factory=loop_factory(config.loop)) as runner:
        return runner.run(_run_until_signalled(server, link_fd))


@contextlib.contextmanager
def pid_file(path: str) -> Iterator[None]:
    """Write this process's ID to `path` (--pid) for as long as the block runs; "" writes nothing."""
    if not path:
        yield
        return
    pid = str(os.getpid())
    with open(path, "w") as file:
        file.write(pid + "\n")
    try:
        yield
    finally:
        # Leave a file another server has written since (a new deployment's) alone.
        with contextlib.suppress(OSError):
            with open(path) as file:
                mine = file.read().strip() == pid
            if mine:
                os.unlink(path)


def _jittered(max_requests: int, jitter: int) -> int:
    return max_requests + random.randint(0, jitter) if max_requests else 0


SUPERVISOR_FD_ENV = "AIOWSGI_SUPERVISOR_FD"


class SupervisorLink:
    """A worker's end of its channel to a --workers supervisor (see supervisor/multiprocess.py).

    The worker sends newline-ended messages: `ready` once it is serving, `beat` every `interval` seconds
    from a loop timer (so a blocked loop falls silent, which is what the supervisor's --timeout watches),
    and `retire` once it has taken --max-requests requests. With --metrics-bind, each beat is followed by
    `metrics <JSON snapshot>` (aiowsgi.metrics), and one last snapshot is sent after the server has
    stopped. The supervisor writes one word, `drain`, when it starts its --drain-delay (`on_drain`); end
    of file means it has gone, and an orphaned worker stops
    gracefully (`on_lost`).
    """

    READY, BEAT, RETIRE, DRAIN = b"ready\n", b"beat\n", b"retire\n", b"drain\n"

    def __init__(
        self,
        fd: int,
        loop: asyncio.AbstractEventLoop,
        interval: float,
        on_lost: Callable[[], None],
        on_drain: Callable[[], None],
        report: Callable[[], Snapshot | None] | None = None,
    ) -> None:
        self._sock = socket.socket(fileno=fd)
        self._sock.setblocking(False)
        self._loop = loop
        self._interval = interval
        self._on_lost = on_lost
        self._on_drain = on_drain
        self._report = report
        self._timer: asyncio.TimerHandle | None = None
        self._lost = False
        self._unsent = b""  # the rest of a message the socket took only part of
        loop.add_reader(self._sock.fileno(), self._on_readable)

    def send(self, message: bytes, droppable: bool = False) -> None:
        """Send one message whole, never part of one. While the supervisor is behind, a `droppable`
        message (a heartbeat, a snapshot: the next one will do) is dropped; others wait their turn."""
        if self._lost:
            return
        if not (droppable and self._unsent):
            self._unsent += message
        try:
            sent = self._sock.send(self._unsent)
        except BlockingIOError:
            return
        except OSError:
            self._gone()
            return
        self._unsent = self._unsent[sent:]

    def send_report(self) -> None:
        snapshot = self._report() if self._report is not None else None
        if snapshot is not None:
            self.send(b"metrics " + json.dumps(snapshot, separators=(",", ":")).encode() + b"\n", True)

    def start_beating(self) -> None:
        self.send(self.BEAT, droppable=True)
        self.send_report()
        self._timer = self._loop.call_later(self._interval, self.start_beating)

    def _on_readable(self) -> None:
        try:
            data = self._sock.recv(64)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._gone()
        elif self.DRAIN in data:  # the only word the supervisor sends, and it sends it once
            self._on_drain()

    def _gone(self) -> None:
        if not self._lost:
            self._lost = True
            self._loop.remove_reader(self._sock.fileno())
            self._on_lost()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if not self._lost:
            self._loop.remove_reader(self._sock.fileno())
            if self._unsent:  # the last snapshot, say: worth a short wait for a supervisor that is behind
                with contextlib.suppress(OSError):
                    self._sock.settimeout(1.0)
                    self._sock.sendall(self._unsent)
        self._sock.close()


def _fit_open_file_limit(connections: int) -> None:
    """Raise the soft open-file limit so that --limit-concurrency, not EMFILE, is what refuses clients.

    Only run() does this: an embedding program owns its process's limits.
    """
    # Listening sockets, spill files, the loop's own descriptors and the application's.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + 1024 if connections else hard
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and (wanted == resource.RLIM_INFINITY or soft < wanted):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    if connections and soft != resource.RLIM_INFINITY and soft < connections + 64:
        error_log.warning(
            "the open-file limit (%d) is below --limit-concurrency (%d): clients past it will be refused "
            "by the kernel, not answered 503; raise it (ulimit -n, LimitNOFILE=) or lower the limit",
            soft, connections,
        )  # fmt: skip


async def _run_until_signalled(server: Server, link_fd: str | None = None) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    forced = asyncio.Event()

    draining = asyncio.Event()  # SIGTERM with --drain-delay: serving on, with readiness withdrawn
    hurry = asyncio.Event()  # a second signal: end the drain delay now

    def on_signal(signum: int) -> None:
        if stop.is_set():
            hurry.set()
            if signum == signal.SIGINT:
                error_log.warning("second interrupt: closing every connection now")
                server.force_close()
                forced.set()
            return
        delay = server.config.drain_delay
        if signum == signal.SIGTERM and delay:
            error_log.info(
                "received SIGTERM: draining for %gs (--drain-delay; --health-path answers 503), then "
                "shutting down gracefully", delay,
            )  # fmt: skip
            server.set_ready(False)  # now, before the line above can be read and a probe sent
            draining.set()
        else:
            error_log.info("received %s: shutting down gracefully", signal.Signals(signum).name)
        stop.set()

    def on_supervisor_drain() -> None:
        error_log.info("the supervisor is draining: --health-path answers 503")
        server.set_ready(False)

    def on_supervisor_lost() -> None:
        if not stop.is_set():
            error_log.warning("the supervisor has gone: shutting down gracefully")
            stop.set()

    installed = []
    ignored: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, on_signal, signum)
            installed.append(signum)
        if link_fd is not None:
            # The supervisor's signals: a worker that gets one too (a signal to the process group) ignores it.
            for signum in (signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU):
                ignored[signum] = signal.signal(signum, signal.SIG_IGN)
    link = None
    retire: asyncio.Task[None] | None = None
    if link_fd is not None:
        report = server._metrics_snapshot if server.config.metrics_bind else None
        link = SupervisorLink(
            int(link_fd),
            loop,
            min(1.0, server.config.timeout / 4),
            on_supervisor_lost,
            on_supervisor_drain,
            report,
        )
    else:
        for flag, value in (
            ("--max-requests", server.config.max_requests),
            ("--preload", server.config.preload),
        ):
            if value:
                error_log.warning("%s is acted on with --workers 2 or more only; ignoring it", flag)
    try:
        if link is not None:
            link.start_beating()  # from the start, so that a slow start-up is not taken for a hang
            server._on_serving = functools.partial(link.send, link.READY)
        await server.start()
        if link is not None:
            retire = asyncio.ensure_future(_retire_when_done(server, link))
        await stop.wait()
        if draining.is_set() and not hurry.is_set():
            drain = asyncio.ensure_future(server.drain())
            cut_short = asyncio.ensure_future(hurry.wait())
            await asyncio.wait([drain, cut_short], return_when=asyncio.FIRST_COMPLETED)
            drain.cancel()
            cut_short.cancel()
        # A second SIGINT must not wait for threads still inside the application: they are daemon
        # threads, so the process can exit without them.
        graceful = asyncio.ensure_future(server.shutdown())
        cut_short = asyncio.ensure_future(forced.wait())
        await asyncio.wait([graceful, cut_short], return_when=asyncio.FIRST_COMPLETED)
        cut_short.cancel()
        if link is not None:
            link.send_report()  # the requests since the last heartbeat, so that the totals lose none
    finally:
        if retire is not None:
            retire.cancel()
        if link is not None:
            link.close()
        for signum in installed:
            loop.remove_signal_handler(signum)
        for ignored_signum, handler in ignored.items():
            signal.signal(ignored_signum, handler)
    error_log.info("stopped")
    return 1 if forced.is_set() else 0


async def _retire_when_done(server: Server, link: SupervisorLink) -> None:
    await server.max_requests_reached.wait()
    error_log.info(
        "served --max-requests (%d or more) requests: asking the supervisor for a replacement",
        server.config.max_requests,
    )
    link.send(link.RETIRE)
