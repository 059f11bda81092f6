"""One client connection on the event loop: transport I/O, timers, flow control, and hand-off to the pool.

Everything here runs on the loop thread. The life of a request:
  bytes -> ServerConnection (events) -> an Exchange gathers the head and body -> complete requests wait in
  `_pipeline` -> one at a time, the oldest is submitted to the pool -> its ResponseChannel calls
  output_write / output_finish / output_abort here -> the next request, or the keep-alive wait, or close.

A connection is always waiting on exactly one thing, and `_deadline` says until when: the next request
(keep-alive timeout), the rest of a head (header timeout, from its first byte), more of a body (body
timeout, from the last read), or the application (no timeout here; the worker owns that wait). A single
TimerHandle is re-armed only when a deadline moves earlier, so the hot path does not churn timers.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
import os
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any, cast

from ._types import Environ, WSGIApp
from .bridge import LogThrottle, OverloadLog, ResponseChannel, WorkerPool
from .buffers import SpillBuffer
from .config import Config
from .errors import ProtocolError
from .http.connection import ReadState, RequestLimits, ServerConnection
from .http.events import BodyChunk, EndOfRequest, RequestHead
from .http.proxy_protocol import NEED_MORE, parse_proxy_header, signature
from .http.uwsgi import UwsgiConnection
from .http.writer import CONTINUE_RESPONSE, error_response, health_response
from .trusted import TrustedProxies
from .wsgi.environ import request_environ, server_environ
from .wsgi.response import RequestObserver, file_wrapper, run_application

error_log = logging.getLogger("aiowsgi.error")

# A file_wrapper body is sent in blocks of this size, each within the send timeout: a client reading
# slower than this per send timeout is cut, as one that stops reading is on the ordinary path.
SENDFILE_BLOCK = 1024 * 1024
_LINGER_ZERO = struct.pack("ii", 1, 0)
# After an error answer, how much of the rest of the request is read and dropped, and for how long at most,
# before the connection closes (see _answer_and_linger): enough for a proxy that sends a whole buffered
# upload before it reads the answer (nginx does), bounded in time like nginx's lingering_time.
LINGER_BYTES = 64 * 1024 * 1024
LINGER_TIME = 5.0
# Reads longer than this are parsed a slice at a time, so that --max-pipelined-requests bounds the requests
# read ahead to within one slice's worth (a 1 KiB slice holds at most 56 of the smallest requests).
READ_AHEAD_SLICE = 1024
# Requests that usually carry a body; see data_received.
_BODY_METHODS = (b"POST ", b"PUT ", b"PATCH ")
# What the transport itself may hold before pause_writing; past it, output goes to the spill buffer.
TRANSPORT_HIGH_WATER = 256 * 1024
# How much spilled output is handed to the transport at a time when the client catches up.
DRAIN_BLOCK = 256 * 1024
# While the server drains, how long a new connection may take to send its first request.
FIRST_REQUEST_GRACE = 1.0


@dataclass(eq=False)
class ServerState:
    """What every connection of one server shares."""

    app: WSGIApp
    config: Config
    pool: WorkerPool
    loop: asyncio.AbstractEventLoop
    parser_name: str
    limits: RequestLimits
    url_scheme: str = "http"
    multiprocess: bool = False  # wsgi.multiprocess: a --workers worker, one of several processes
    connections: set[HttpProtocol] = field(default_factory=set)
    draining: bool = False
    ready: bool = True  # False during --drain-delay: --health-path answers 503
    health_target: bytes = b""  # --health-path, as a request target starts
    all_closed: asyncio.Event = field(default_factory=asyncio.Event)
    overload: OverloadLog = field(default_factory=OverloadLog)
    environ: Environ = field(default_factory=dict)  # what every request's environ starts from
    proxies: TrustedProxies = field(default_factory=lambda: TrustedProxies(()))
    observe: RequestObserver | None = None  # told of each request done: access log, metrics
    # Plain counts for the metrics, kept on the loop thread whether metrics are on or not (each is an add
    # where the loop already is): bytes of the connections closed so far (the open ones keep their own),
    # and the timeouts that ended a wait on a client, by kind.
    bytes_received: int = 0
    bytes_sent: int = 0
    timeouts: dict[str, int] = field(default_factory=dict)
    # The "answered 408" lines: a slowloris attack times out its connections by the thousand.
    timeout_log: LogThrottle = field(default_factory=LogThrottle)

    def __post_init__(self) -> None:
        self.environ = server_environ(self.url_scheme, self.config.root_path, file_wrapper, self.multiprocess)
        self.proxies = TrustedProxies(self.config.forwarded_allow_ips)
        self.health_target = self.config.health_path.encode("latin-1")


class Wait(enum.Enum):
    NEXT_REQUEST = "keep-alive"
    HEAD = "header"
    BODY = "body"


# Python 3.11 cannot cache a lookup such as `Wait.HEAD` (the Enum metaclass defines __getattr__):
# each costs about 900 instructions more than reading a module global (callgrind). Code that runs per
# request reads the members through these names.
_WAIT_NEXT_REQUEST = Wait.NEXT_REQUEST
_WAIT_HEAD = Wait.HEAD
_WAIT_BODY = Wait.BODY
_READ_IDLE = ReadState.IDLE
_READ_HEAD = ReadState.HEAD
_READ_BODY = ReadState.BODY
_READ_ERROR = ReadState.ERROR


@dataclass(eq=False, slots=True)
class Exchange:
    head: RequestHead
    body: SpillBuffer  # complete before the request runs, so wsgi.input never waits on the client
    continue_sent: bool = False


class HttpProtocol(asyncio.Protocol):
    # An idle keep-alive connection should cost a few KiB: slots, nothing kept between requests that a
    # request can make for itself, and the spill buffer only while a client is behind.
    __slots__ = (
        "_state", "_loop", "_config", "transport", "_conn", "_sockname", "_peername",
        "_receiving", "_pipeline", "_channel", "_reading", "_writable", "_eof", "_closed",
        "_spill", "_close_after_drain", "_file_task", "_after_file", "_wait", "_deadline", "_head_started",
        "_body_started", "_timer", "_timer_when", "_send_timer", "_bytes_in", "_bytes_out", "_send_mark",
        "_unparsed", "_preamble", "_lingering",
    )  # fmt: skip

    def __init__(self, state: ServerState) -> None:
        self._state = state
        self._loop = state.loop
        self._config = state.config
        self.transport: asyncio.Transport | None = None
        # uwsgi (--protocol) gives the same events, so everything past this point serves both.
        self._conn: ServerConnection | UwsgiConnection = (
            UwsgiConnection(state.limits)
            if self._config.protocol == "uwsgi"
            else ServerConnection(state.parser_name, state.limits)
        )
        self._sockname: Any = None
        self._peername: Any = None
        self._receiving: Exchange | None = None
        # A list, not a deque: it is short (--max-pipelined-requests) and usually empty, and an empty
        # deque costs 600 bytes.
        self._pipeline: list[Exchange | ProtocolError] = []
        self._channel: ResponseChannel | None = None  # the request running in a worker, if any
        self._reading = True
        self._writable = True
        self._eof = False
        self._closed = False
        self._spill: SpillBuffer | None = None  # response bytes the client has not taken yet
        self._close_after_drain = False
        self._file_task: asyncio.Task[None] | None = None  # a wsgi.file_wrapper body being sent
        self._after_file: list[tuple[tuple[bytes, ...], bool | None]] | None = None
        self._wait: Wait | None = None
        self._deadline = 0.0
        self._head_started: float | None = None
        self._body_started = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = 0.0
        self._send_timer: asyncio.TimerHandle | None = None
        self._bytes_in = 0  # bytes read from the client
        self._bytes_out = 0  # response bytes given to the transport
        self._send_mark = 0  # bytes the transport had sent on when the send timer was last armed
        self._unparsed = b""  # read but held back while the pipeline is full
        self._lingering = 0  # after an error answer: bytes of the request still to read and drop
        self._preamble: bytes | None = None  # --proxy-protocol: the start of the connection, until decided

    # asyncio callbacks ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but they have its methods.
        transport = self.transport = cast(asyncio.Transport, transport)
        self._state.connections.add(self)
        self._state.all_closed.clear()
        # Both loops set TCP_NODELAY on their TCP transports themselves.
        self._sockname = transport.get_extra_info("sockname")
        self._peername = transport.get_extra_info("peername")
        transport.set_write_buffer_limits(high=TRANSPORT_HIGH_WATER)
        limit = self._config.limit_concurrency
        if limit and len(self._state.connections) > limit:
            self._refuse_for_overload(f"{limit} connections open", self._state.pool.waiting, "connections")
            return
        self._await(_WAIT_NEXT_REQUEST, self._loop.time() + self._config.keep_alive_timeout)
        if self._config.proxy_protocol:
            self._expect_proxy_header()
        if self._state.draining:
            self.shutdown()

    def data_received(self, data: bytes) -> None:
        self._bytes_in += len(data)
        if self._lingering:
            self._lingering -= len(data)
            if self._lingering <= 0:
                self._close_now()
            return
        if self._preamble is not None:
            data = self._read_proxy_header(data)
            if not data:
                return
        if len(data) <= READ_AHEAD_SLICE:
            self._receive(data)
            return
        # A big read may hold thousands of tiny pipelined requests, each an object of a few hundred bytes:
        # parse it a slice at a time and stop at --max-pipelined-requests, keeping the rest unparsed.
        # A Content-Length body, whose end is known, goes in one piece; and the head of a request that
        # will likely have one (POST, PUT, PATCH) goes alone, so that its body arrives in one piece, not
        # split between two slices (which wsgi.input would join again).
        # Slices of a view, not copies: the parser copies what it keeps.
        conn, end, start, view = self._conn, len(data), 0, memoryview(data)
        while start < end and not self._closed:
            if len(self._pipeline) >= self._config.max_pipelined_requests:
                self._unparsed = data[start:]
                self._pause_reading()
                if self._channel is None and not self._closed:
                    self._refresh_wait()  # the slice before was parsed with more=True
                return
            step = conn.body_remaining
            if not step:
                step = READ_AHEAD_SLICE
                if conn.state is _READ_IDLE and data.startswith(_BODY_METHODS, start):
                    head_end = data.find(b"\r\n\r\n", start, start + READ_AHEAD_SLICE)
                    if head_end >= 0:
                        step = head_end + 4 - start
            start += step
            self._receive(view[start - step : start], more=start < end)

    def _receive(self, data: bytes | memoryview, more: bool = False) -> None:
        """Parse `data` and act on what it completed; `more`: another slice of the same read follows."""
        events, error = self._conn.receive_data(data)
        for event in events:
            if type(event) is RequestHead:
                self._head_started = None
                if event.chunked or event.content_length:
                    self._body_started = self._loop.time()  # for --body-min-rate
                self._receiving = Exchange(event, SpillBuffer(self._config.body_spill_threshold))
                if event.expect_continue and self._channel is None and not self._pipeline:
                    self._send_continue(self._receiving)
            elif type(event) is BodyChunk:
                assert self._receiving is not None
                self._receiving.body.append(event.data)
            else:
                assert type(event) is EndOfRequest
                assert self._receiving is not None
                self._pipeline.append(self._receiving)
                self._receiving = None
        if error is not None:
            self._drop_receiving()
            self._pipeline.append(error)
        if self._channel is None:
            self._run_next()
        if (
            self._reading
            and not self._lingering
            and (len(self._pipeline) >= self._config.max_pipelined_requests or error is not None)
        ):
            self._pause_reading()
        if self._head_started is None and self._conn.state is _READ_HEAD:
            self._head_started = self._loop.time()  # the header timeout runs from a head's first byte
        if self._channel is None and not self._closed and not more:
            self._refresh_wait()  # once per read: the deadline is the same for every slice of it

    def eof_received(self) -> bool:
        if self._lingering:
            self._close_now()  # the client has read the answer and sent everything: nothing to reset
            return True
        # The client may half-close after sending its requests; answer them, then close.
        self._eof = True
        if self._channel is not None:
            self._channel.client_eof = True
        if self._channel is None and not self._pipeline and not self._unparsed:
            self._close()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        state = self._state
        state.connections.discard(self)
        state.bytes_received += self._bytes_in
        state.bytes_sent += self._bytes_out
        if not self._state.connections:
            self._state.all_closed.set()
        if self._channel is not None:
            self._channel.disconnect()
        self._drop_receiving()
        for item in self._pipeline:
            if isinstance(item, Exchange):
                item.body.close()
        self._pipeline.clear()
        if self._timer is not None:
            self._timer.cancel()
        if self._send_timer is not None:
            self._send_timer.cancel()
        if self._file_task is not None:
            self._file_task.cancel()
        if self._spill is not None:
            self._spill.close()

    def pause_writing(self) -> None:
        self._writable = False
        if self._send_timer is None:
            self._send_mark = self._bytes_sent()
            self._send_timer = self._loop.call_later(self._config.send_timeout, self._on_send_timeout)

    def resume_writing(self) -> None:
        self._writable = True
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
        self._drain()

    @property
    def peer(self) -> str:
        """The client, for log lines."""
        client = self._peername
        return f"{client[0]}:{client[1]}" if isinstance(client, tuple) else "unix"

    # The PROXY protocol (--proxy-protocol) ---------------------------------------------------------

    def _expect_proxy_header(self) -> None:
        """Hold the connection's first bytes back from HTTP until it is clear whether a PROXY header leads.

        A trusted proxy must send one, and sends it as it connects: it gets the header timeout for it.
        Another peer's plain requests are served as usual, but one that sends a PROXY header is cut: the
        header cannot be believed, and ignoring it would hide a misconfiguration.
        """
        self._preamble = b""
        if self._state.proxies.trusts_peer(self._peername):
            self._head_started = self._loop.time()
            self._await(_WAIT_HEAD, self._head_started + self._config.header_timeout)

    def _read_proxy_header(self, data: bytes) -> bytes:
        """Take a trusted proxy's PROXY header off the start of the connection; return what follows it."""
        assert self._preamble is not None
        data = self._preamble + data
        if self._state.proxies.trusts_peer(self._peername):
            try:
                header = parse_proxy_header(data)
            except ProtocolError as exc:
                return self._refuse_proxy_header(f"expected a PROXY protocol header: {exc}")
            if header is NEED_MORE:
                self._preamble = data  # bounded: the parser raises past its largest header
                return b""
            if header.source is not None:  # else the proxy's own connection (a health check)
                self._peername = header.source
                self._sockname = header.destination
            rest = data[header.length :]
            self._head_started = None
        else:
            version = signature(data)
            if version is None:  # a few bytes that may yet become a signature
                self._preamble = data
                if self._head_started is None:
                    self._head_started = self._loop.time()
                    self._await(_WAIT_HEAD, self._head_started + self._config.header_timeout)
                return b""
            if version:
                return self._refuse_proxy_header(
                    f"a PROXY protocol v{version} header from a peer not in --forwarded-allow-ips"
                )
            rest = data
        self._preamble = None
        if not rest:
            self._refresh_wait()  # the first request, in its own time (keep-alive timeout)
        return rest

    def _refuse_proxy_header(self, reason: str) -> bytes:
        error_log.info("%s: %s; closing", self.peer, reason)
        self._close()
        return b""

    # Requests --------------------------------------------------------------------------------------

    def _run_next(self) -> None:
        """Start the oldest complete request, or answer the error that ended the pipeline."""
        if not self._pipeline or self._closed:
            return
        item = self._pipeline.pop(0)
        if isinstance(item, ProtocolError):
            self._reject(item)
            return
        if self._state.health_target and self._is_health_check(item.head):
            item.body.close()
            answer, keep_alive = health_response(item.head, self._state.ready, self._config.server_header)
            self.output_finish((answer,), keep_alive)
            return
        pool = self._state.pool
        if pool.waiting >= self._config.max_queued_requests:
            item.body.close()
            self._refuse_for_overload(
                "every worker thread is busy and the queue is full", pool.waiting, "queue_full"
            )
            return
        channel = ResponseChannel(
            self._loop,
            self,
            self._config.response_buffer_size,
            self._config.response_spill_threshold,
            self._config.send_timeout,
            can_sendfile=self._can_sendfile(),
            buffered=self._spill.size if self._spill is not None else 0,
        )
        # Not after a half-close: the client sends nothing more anyway, and whether its EOF came before or
        # after this request started must not change the response's bytes. It is closed after, all the same.
        channel.closing = self._state.draining
        channel.client_eof = self._eof
        self._channel = channel
        self._wait = None
        pool.submit(
            functools.partial(
                _serve, self._state, self._sockname, self._peername, item, channel, time.monotonic()
            )
        )
        if (
            not self._reading
            and len(self._pipeline) < self._config.max_pipelined_requests
            and not self._conn_failed()
        ):
            if self._unparsed:
                # Parse what was held back before reading more; soon, not here, which is inside a
                # callback that may itself come from data_received.
                self._loop.call_soon(self._parse_held_back)
            else:
                self._resume_reading()

    def _is_health_check(self, head: RequestHead) -> bool:
        """A GET or HEAD of --health-path (with any query), which the loop answers itself."""
        health, target = self._state.health_target, head.target
        return (
            (head.method == "GET" or head.method == "HEAD")
            and target.startswith(health)
            and (len(target) == len(health) or target[len(health)] == 0x3F)  # "?"
        )

    def _parse_held_back(self) -> None:
        data, self._unparsed = self._unparsed, b""
        if data and not self._closed:
            self.data_received(data)
        if not self._unparsed and len(self._pipeline) < self._config.max_pipelined_requests:
            self._resume_reading()

    def _send_continue(self, exchange: Exchange) -> None:
        exchange.continue_sent = True
        self._send(CONTINUE_RESPONSE)

    def _refuse_for_overload(self, reason: str, depth: int, kind: str) -> None:
        """503 with Retry-After, from the loop, and close: nothing of this connection runs."""
        self._state.overload.refused(reason, depth, kind)
        for item in self._pipeline:
            if isinstance(item, Exchange):
                item.body.close()
        self._pipeline.clear()
        self._write_and_close(error_response(503, self._config.server_header))

    def _reject(self, error: ProtocolError) -> None:
        error_log.info("%s: bad request, answered %d: %s", self.peer, error.status_hint, error)
        self._answer_and_linger(error_response(error.status_hint, self._config.server_header))

    def _drop_receiving(self) -> None:
        if self._receiving is not None:
            self._receiving.body.close()
            self._receiving = None

    def _conn_failed(self) -> bool:
        return self._conn.state is _READ_ERROR

    # Output: the loop side of ResponseChannel ------------------------------------------------------

    def output_write(self, parts: tuple[bytes, ...]) -> None:
        if self._closed:
            return
        if self._after_file is not None:
            self._after_file.append((parts, None))
            return
        self._send(*parts)

    def output_finish(self, parts: tuple[bytes, ...], keep_alive: bool) -> None:
        if self._closed:
            return
        if self._after_file is not None:
            self._after_file.append((parts, keep_alive))
            return
        if parts:
            self._send(*parts)
        self._channel = None
        if not keep_alive or self._eof and not self._pipeline or self._state.draining:
            self._close()
            return
        self._run_next()
        if self._channel is None:
            receiving = self._receiving
            if receiving is not None and receiving.head.expect_continue and not receiving.continue_sent:
                self._send_continue(receiving)
            self._refresh_wait()

    def output_abort(self, reason: str) -> None:
        error_log.debug("%s: closing: %s", self.peer, reason)
        self._channel = None
        if self.transport is not None:
            self.transport.abort()

    def output_sendfile(self, fd: int, offset: int, count: int) -> None:
        file = os.fdopen(fd, "rb")
        if self._closed:
            file.close()
            return
        self._after_file = []  # what the application sends after the file waits for it
        self._file_task = self._loop.create_task(self._send_file(file, offset, count))

    async def _send_file(self, file: Any, offset: int, count: int) -> None:
        """Send a file in blocks, each of which must go out within the send timeout."""
        transport = self.transport
        assert transport is not None
        end = offset + count
        try:
            while offset < end:
                block = min(end - offset, SENDFILE_BLOCK)
                await asyncio.wait_for(
                    self._loop.sendfile(transport, file, offset, block), self._config.send_timeout
                )
                offset += block
                self._bytes_out += block
        except TimeoutError:
            self._count_timeout("send")
            error_log.info(
                "%s: the client read too little for %gs; closing", self.peer, self._config.send_timeout
            )
            self._reset()
            return
        except (OSError, RuntimeError) as exc:
            error_log.debug("%s: sendfile failed: %s", self.peer, exc)
            transport.abort()
            return
        finally:
            file.close()
            self._file_task = None
        queued, self._after_file = self._after_file or [], None
        for parts, keep_alive in queued:
            if keep_alive is None:
                self.output_write(parts)
            else:
                self.output_finish(parts, keep_alive)

    def _send(self, *parts: bytes) -> None:
        """Response bytes, in order: to the transport while it keeps up, else into the spill buffer.

        Several parts go to the transport in one writelines, which uvloop sends with one writev, without
        joining them (asyncio's own loop joins them).
        """
        spill = self._spill
        if self._writable and (spill is None or not spill.size):
            transport = self.transport
            assert transport is not None
            if len(parts) == 1:
                data = parts[0]
                self._bytes_out += len(data)
                transport.write(data)
            else:
                self._bytes_out += sum(map(len, parts))
                transport.writelines(parts)
            return
        if spill is None:
            spill = self._spill = SpillBuffer(self._config.response_spill_threshold)
        for data in parts:
            spill.append(data)
        if self._channel is not None:
            self._channel.set_buffered(spill.size)

    def _drain(self) -> None:
        """The client caught up: move spilled bytes to the transport until it is full again."""
        spill = self._spill
        transport = self.transport
        if spill is None or transport is None:
            return
        while spill.size and self._writable and not self._closed:
            block = spill.read(DRAIN_BLOCK)
            self._bytes_out += len(block)
            transport.write(block)  # may call pause_writing
        if self._channel is not None:
            self._channel.set_buffered(spill.size)
        if not spill.size and self._close_after_drain:
            self._close()

    def _can_sendfile(self) -> bool:
        # uvloop has no loop.sendfile, and TLS transports cannot use os.sendfile.
        transport = self.transport
        return (
            isinstance(self._loop, asyncio.BaseEventLoop)
            and transport is not None
            and transport.get_extra_info("sslcontext") is None
        )

    # Waiting, timeouts and closing -------------------------------------------------------------------

    def _refresh_wait(self) -> None:
        """Set the deadline for whatever the connection now waits on from the client."""
        now = self._loop.time()
        state = self._conn.state
        if state is _READ_IDLE:
            self._await(_WAIT_NEXT_REQUEST, now + self._config.keep_alive_timeout)
        elif state is _READ_HEAD:
            started = now if self._head_started is None else self._head_started
            self._await(_WAIT_HEAD, started + self._config.header_timeout)
        elif state is _READ_BODY:
            deadline = now + self._config.body_timeout
            min_rate = self._config.body_min_rate
            if min_rate and self._receiving is not None:
                # After the grace of one body timeout, the upload must have averaged min_rate: the time
                # by which what it has sent so far would fall behind that.
                received = self._receiving.body.size
                behind = self._body_started + self._config.body_timeout + received / min_rate
                deadline = min(deadline, behind)
            self._await(_WAIT_BODY, deadline)
        else:
            self._wait = None

    def _await(self, wait: Wait, deadline: float) -> None:
        self._wait = wait
        self._deadline = deadline
        if self._timer is None or self._timer_when > deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop.call_at(deadline, self._on_timer)
            self._timer_when = deadline

    def _on_timer(self) -> None:
        self._timer = None
        wait = self._wait
        if wait is None or self._closed:
            return
        if self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(self._deadline, self._on_timer)
            self._timer_when = self._deadline
            return
        self._count_timeout(wait.value.replace("-", "_"))
        if wait is _WAIT_NEXT_REQUEST:
            self._close()
            return
        count = self._state.timeout_log.due()
        if count > 1:
            error_log.info(
                "%s: %s timeout, answered 408 (and %d more header or body timeouts since the last such "
                "line, not logged one by one)", self.peer, wait.value, count - 1,
            )  # fmt: skip
        elif count:
            error_log.info("%s: %s timeout, answered 408", self.peer, wait.value)
        else:
            error_log.debug("%s: %s timeout, answered 408", self.peer, wait.value)
        self._drop_receiving()
        self._answer_and_linger(error_response(408, self._config.server_header))

    def _bytes_sent(self) -> int:
        transport = self.transport
        return self._bytes_out - (transport.get_write_buffer_size() if transport is not None else 0)

    def _on_send_timeout(self) -> None:
        self._send_timer = None
        # The output can stay over its high-water mark for longer than the send timeout while the client
        # reads steadily but slowly; only a client that read nothing in the whole interval is cut.
        sent = self._bytes_sent()
        if sent > self._send_mark and not self._closed:
            self._send_mark = sent
            if self._channel is not None:
                self._channel.note_progress()
            self._send_timer = self._loop.call_later(self._config.send_timeout, self._on_send_timeout)
            return
        error_log.info("%s: the client read nothing for %gs; closing", self.peer, self._config.send_timeout)
        if self._channel is not None:
            self._channel.disconnect()
        self._count_timeout("send")
        self._reset()

    def _count_timeout(self, kind: str) -> None:
        timeouts = self._state.timeouts
        timeouts[kind] = timeouts.get(kind, 0) + 1

    def _on_closing_send_timeout(self) -> None:
        """Closed with output still buffered, which the client did not read within the send timeout."""
        self._send_timer = None
        self._count_timeout("send")
        self._reset()

    def _reset(self) -> None:
        """Cut a client that stopped reading with a reset, not a close.

        A plain close leaves what the kernel still holds for the client (megabytes, with large socket
        buffers) queued behind a FIN that the client, not reading, never gets to: minutes of kernel memory
        per client. Lingering for zero seconds discards it at once (nginx's reset_timedout_connection).
        """
        transport = self.transport
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
            except OSError:
                pass  # already gone
        transport.abort()

    def _answer_and_linger(self, data: bytes) -> None:
        """Send an error answer, then read and drop what the client still sends, for a while, and close.

        Closing a socket with unread bytes in it makes the kernel send a reset, and a reset can destroy the
        answer before the client has read it: a client uploading a body too large for us would see a
        broken connection instead of its 413 (nginx's lingering_close exists for the same reason). So the
        write side is shut first, and the rest of the request is read and dropped, up to LINGER_BYTES or
        LINGER_TIME, whichever ends first.
        """
        transport = self.transport
        if transport is None or self._closed or transport.is_closing():
            return
        self._send(data)
        if (self._spill is not None and self._spill.size) or not transport.can_write_eof():
            self._close()
            return
        transport.write_eof()
        self._wait = None
        self._lingering = LINGER_BYTES
        self._resume_reading()
        self._loop.call_later(LINGER_TIME, self._close_now)

    def _close_now(self) -> None:
        self._lingering = 0
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.close()

    def _write_and_close(self, data: bytes) -> None:
        if self.transport is not None and not self._closed:
            self._send(data)
        self._close()

    def _close(self) -> None:
        """Close after the buffered output is sent, but never wait longer than the send timeout for it."""
        self._wait = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self._spill is not None and self._spill.size:
            self._close_after_drain = True  # the send timer cuts a client that stops reading meanwhile
            return
        transport.close()
        if transport.get_write_buffer_size() and self._send_timer is None:
            self._send_timer = self._loop.call_later(self._config.send_timeout, self._on_closing_send_timeout)

    def _pause_reading(self) -> None:
        if self.transport is not None and self._reading:
            self._reading = False
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.transport is not None and not self._reading and not self.transport.is_closing():
            self._reading = True
            self.transport.resume_reading()

    def shutdown(self) -> None:
        """The server is draining: close now if idle, else after the response in progress.

        A connection that has been answered nothing yet is not idle: its client connected to send a
        request, which may be on its way, and closing now would fail it (a client retries a request on a
        reused keep-alive connection, not on a new one). It gets a short grace for that request, which is
        then answered with Connection: close; a half-received request gets its usual timeouts. Only the
        graceful timeout bounds either. This is what lets a worker retire under load without a failed
        request (--workers: HUP, --max-requests).
        """
        if self._lingering:
            self._close_now()  # an error answer went out; what the client still sends is of no use
            return
        if self._channel is not None:
            self._channel.closing = True
        elif self._pipeline or self._closed:
            return
        elif self._bytes_out == 0 or self._conn.state is not _READ_IDLE:
            if self._wait is _WAIT_NEXT_REQUEST:
                self._await(_WAIT_NEXT_REQUEST, min(self._deadline, self._loop.time() + FIRST_REQUEST_GRACE))
        else:
            self._close()

    def activity(self) -> Activity:
        """What this connection is doing; RUNNING means its request is in the pool (run or queued)."""
        if self._channel is not None:
            return Activity.RUNNING
        transport = self.transport
        if (
            self._lingering
            or self._file_task is not None
            or (self._spill is not None and self._spill.size)
            or (transport is not None and (transport.is_closing() or transport.get_write_buffer_size()))
        ):
            return Activity.WRITING
        if self._pipeline:
            return Activity.WAITING
        if self._receiving is not None or self._unparsed or self._conn.state is not _READ_IDLE:
            return Activity.READING
        return Activity.IDLE

    def force_close(self) -> None:
        if self._file_task is not None:
            self._file_task.cancel()
        if self._channel is not None:
            self._channel.disconnect()
        if self.transport is not None:
            self.transport.abort()


def _serve(
    state: ServerState,
    sockname: Any,
    peername: Any,
    exchange: Exchange,
    channel: ResponseChannel,
    queued: float,
) -> None:
    """The job a worker thread runs for one request."""
    body = exchange.body
    try:
        if channel.closed:
            channel.abort()  # the client left while the request waited for a thread: do not run it
            return
        timeout = state.config.queue_timeout
        if timeout and time.monotonic() - queued > timeout:
            state.overload.refused(
                f"a request waited over {timeout:g}s for a thread", state.pool.waiting, "queue_timeout"
            )
            channel.finish(error_response(503, state.config.server_header), keep_alive=False)
            return
        environ = request_environ(
            state.environ, sockname, peername, exchange.head, body.as_stream(), body.size, state.proxies
        )
        environ["aiowsgi.client_disconnected"] = channel.client_disconnected
        run_application(
            state.app,
            environ,
            exchange.head,
            channel,
            state.config.server_header,
            queued,
            state.observe,
        )
    finally:
        body.close()
        channel.end_if_unfinished()


def describe_job(job: object) -> str:
    """'METHOD target' of the request a pool job (made by HttpProtocol._run_next) runs, for log lines."""
    if isinstance(job, functools.partial) and job.func is _serve:
        head = job.args[3].head
        return f"{head.method} {head.target.decode('latin-1')}"
    return repr(job)


# Read by the metrics (aiowsgi.metrics), on the loop thread only, like everything else in this module.


class Activity(enum.Enum):
    """What a connection is doing, as the metrics count connections."""

    READING = "reading"  # a request is arriving (head or body)
    WAITING = "waiting"  # a complete request waits for a worker thread
    RUNNING = "running"  # the application runs the request in a worker thread
    WRITING = "writing"  # the response is done but the client has not taken all of it yet; or closing
    IDLE = "idle"  # waiting for the next request (keep-alive), or for the first


def connection_activity(state: ServerState) -> dict[Activity, int]:
    """How many of the server's connections are doing what; loop thread only.

    A connection whose request is in the pool is running unless its job still waits in the queue; the
    queue is first in, first out, so its length says how many of them wait, and nothing needs recording
    per request to tell them apart. A job a thread has just finished counts as running until the loop
    has taken its response (microseconds).
    """
    counts = dict.fromkeys(Activity, 0)
    for connection in state.connections:
        counts[connection.activity()] += 1
    queued = min(state.pool.waiting, counts[Activity.RUNNING])
    counts[Activity.RUNNING] -= queued
    counts[Activity.WAITING] += queued
    return counts


def traffic(state: ServerState) -> tuple[int, int]:
    """Bytes received from clients and bytes given to the transports for them, since the start."""
    received, sent = state.bytes_received, state.bytes_sent
    for connection in state.connections:
        received += connection._bytes_in
        sent += connection._bytes_out
    return received, sent
