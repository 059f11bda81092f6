"""The bounded worker pool, and the ONLY channel between a worker thread and the event loop.

Theory of operation
-------------------
The loop hands a complete request to the pool with `WorkerPool.submit` (a `queue.SimpleQueue`, no Future per
request). The worker runs the application and gives the response back through that request's
`ResponseChannel`, which is the whole of the worker's reach into the loop:

- `send(*parts)` queues bytes for the loop: with `loop.call_soon_threadsafe` if the loop has taken
  everything sent before, else onto the batch still waiting for it, so that a worker that outruns the
  loop costs one callback and one writev per loop turn, not one per chunk. The loop writes them to the
  transport, or, while the client is slower than the application, to the connection's spill buffer
  (memory, then a temporary file). The worker blocks only when the bytes in flight pass the spill
  threshold (the loop is behind) or everything held for the client passes the high-water mark (the
  client is far behind); a client that has gone, or has read nothing for the send timeout (the loop
  judges that), makes it raise ClientDisconnected. So a slow reader costs bounded memory and, below the
  mark, no thread.
- `sendfile(fd, ...)` hands the loop a duplicate of the file descriptor; the worker does not wait for it.
- `finish(*parts, keep_alive)` queues the last bytes and the keep-alive decision; `abort()` asks the loop to
  close the connection. One of the two ends every response (`end_if_unfinished` makes sure of it).

The loop side (`HttpProtocol` in protocol.py) calls `set_buffered` whenever its spill buffer changes and
`disconnect` from connection_lost; those, and `_deliver`, are the only places the condition is notified.
Callbacks run in the order they were queued, so the bytes reach the client in the order the application
produced them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from .errors import ClientDisconnected

error_log = logging.getLogger("aiowsgi.error")

Job = Callable[[], None]


class WorkerPool:
    """A fixed set of threads fed by one SimpleQueue; owned by a Server, joined on its shutdown.

    Two optional extras cost nothing unless asked for, because each picks a different function up front
    rather than testing a flag per request: `job_limit` calls `on_job_limit` (on the loop thread, once)
    when that many jobs have been submitted (--max-requests); `watch` keeps `busy`, the job each thread is
    running and since when (--request-warn-timeout).
    """

    def __init__(
        self,
        size: int,
        loop: asyncio.AbstractEventLoop,
        name: str = "aiowsgi-worker",
        *,
        job_limit: int = 0,
        on_job_limit: Callable[[], None] | None = None,
        watch: bool = False,
        batch_scheduling: bool = False,
    ) -> None:
        self.size = size
        self._batch_scheduling = batch_scheduling
        self._loop = loop
        self._name = name
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._running = 0
        self._all_exited = asyncio.Event()
        # submit(job), called by the loop thread only.
        self.submit: Callable[[Job], None] = self._queue.put
        self._jobs_left = job_limit
        self._on_job_limit = on_job_limit
        if job_limit:
            self.submit = self._submit_counting
        # Thread ident -> (time.monotonic() when its job started, the job); written by the threads (one
        # key each), read by the loop with copy(), which the GIL makes atomic.
        self.busy: dict[int, tuple[float, Job]] = {}
        self._watch = watch

    def start(self) -> None:
        work = self._work_watched if self._watch else self._work
        target = functools.partial(_run_batch_scheduled, work) if self._batch_scheduling else work
        for index in range(self.size):
            thread = threading.Thread(target=target, name=f"{self._name}-{index}", daemon=True)
            self._threads.append(thread)
            self._running += 1
            thread.start()

    def _submit_counting(self, job: Job) -> None:
        self._queue.put(job)
        self._jobs_left -= 1
        if self._jobs_left == 0 and self._on_job_limit is not None:
            self._on_job_limit()

    @property
    def waiting(self) -> int:
        """Jobs submitted that no thread has taken yet."""
        return self._queue.qsize()

    def _work(self) -> None:
        get = self._queue.get
        while (job := get()) is not None:
            try:
                job()
            except BaseException:  # noqa: BLE001 - a job must never take its thread with it
                error_log.exception("a request job raised; the worker thread carries on")
        self._exit()

    def _work_watched(self) -> None:
        get, busy, ident = self._queue.get, self.busy, threading.get_ident()
        while (job := get()) is not None:
            busy[ident] = (time.monotonic(), job)
            try:
                job()
            except BaseException:  # noqa: BLE001 - a job must never take its thread with it
                error_log.exception("a request job raised; the worker thread carries on")
            finally:
                del busy[ident]
        self._exit()

    def _exit(self) -> None:
        try:
            self._loop.call_soon_threadsafe(self._thread_exited)
        except RuntimeError:
            pass  # the loop is already closed: nobody is waiting for us

    def _thread_exited(self) -> None:
        self._running -= 1
        if self._running == 0:
            self._all_exited.set()

    async def stop(self, timeout: float) -> int:
        """Let queued jobs run, stop every thread, and wait up to `timeout`; returns threads still busy."""
        for _ in self._threads:
            self._queue.put(None)
        if not self._threads:
            return 0
        try:
            await asyncio.wait_for(self._all_exited.wait(), timeout)
        except TimeoutError:
            return sum(thread.is_alive() for thread in self._threads)
        for thread in self._threads:
            thread.join()  # each has posted its exit and is returning; this cannot block for long
        return 0


def _run_batch_scheduled(work: Callable[[], None]) -> None:
    """Run `work` in this thread under SCHED_BATCH (--batch-scheduling), if the platform allows it.

    The loop hands a request over by waking a worker. Under the default policy the kernel lets the woken
    thread preempt the loop at once; it then needs the GIL, which the loop holds, and blocks again: two
    context switches for nothing, per request. A SCHED_BATCH thread is never woken into preempting: it
    runs when the loop blocks (in epoll, releasing the GIL), and takes the next requests without a switch.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))  # 0: this thread (Linux)
    except (AttributeError, OSError) as exc:  # not Linux, or refused (a seccomp profile, say)
        error_log.debug("worker thread left under its default scheduling policy: %s", exc)
    work()


class LogThrottle:
    """For a log line whose event can come thousands of times a second (an overload, a slowloris attack's
    timeouts): the first event is logged at once, then at most one line per interval, for all since.

    Not thread-safe by itself: a caller on several threads holds its own lock around `due`.
    """

    def __init__(self, interval: float = 10.0) -> None:
        self._interval = interval
        self._next_line = 0.0
        self._unlogged = 0

    def due(self) -> int:
        """Count one event; 0 if no line is due now, else how many events the line is for (this one too)."""
        self._unlogged += 1
        now = time.monotonic()
        if now < self._next_line:
            return 0
        count, self._unlogged = self._unlogged, 0
        self._next_line = now + self._interval
        return count


class OverloadLog:
    """Logs refusals for overload at most once per interval, with how many there were, from any thread.

    It also keeps the count of every refusal since the start by `kind` (the metrics read `totals`): kinds
    are "connections" (--limit-concurrency), "queue_full" (--max-queued-requests) and "queue_timeout".
    """

    def __init__(self, interval: float = 10.0) -> None:
        self._lock = threading.Lock()
        self._throttle = LogThrottle(interval)
        self._totals: dict[str, int] = {}

    @property
    def totals(self) -> dict[str, int]:
        """Refusals since the start, by kind (a copy)."""
        with self._lock:
            return dict(self._totals)

    def refused(self, reason: str, depth: int, kind: str) -> None:
        with self._lock:
            self._totals[kind] = self._totals.get(kind, 0) + 1
            count = self._throttle.due()
        if count:
            error_log.warning(
                "overloaded (%s): answered 503 to %d request(s) since the last report; %d waiting for a "
                "thread", reason, count, depth,
            )  # fmt: skip


class ChannelOwner(Protocol):
    """The loop-side end of a channel (HttpProtocol); its methods run on the loop thread only."""

    def output_write(self, parts: tuple[bytes, ...]) -> None: ...

    def output_sendfile(self, fd: int, offset: int, count: int) -> None: ...

    def output_finish(self, parts: tuple[bytes, ...], keep_alive: bool) -> None: ...

    def output_abort(self, reason: str) -> None: ...


class ResponseChannel:
    """One response's way from a worker thread to the loop (see the module docstring)."""

    __slots__ = (
        "_call", "_lock", "_cond", "_owner", "_high_water", "_in_flight_limit", "_send_timeout", "_queued",
        "_batch", "_buffered", "_ended", "_progress", "closed", "closing", "can_sendfile", "client_eof",
    )  # fmt: skip

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        owner: ChannelOwner,
        high_water: int,
        in_flight_limit: int,
        send_timeout: float,
        can_sendfile: bool,
        buffered: int,
    ) -> None:
        self._call = loop.call_soon_threadsafe
        self._owner = owner
        self._lock = threading.Lock()
        # Built only when a worker has to wait: a Condition costs microseconds and a KiB, and most
        # responses never wait.
        self._cond: threading.Condition | None = None
        self._high_water = high_water
        self._in_flight_limit = in_flight_limit
        self._send_timeout = send_timeout
        self._queued = 0  # bytes queued to the loop, not yet taken by it (in memory): those in _batch
        self._batch: list[bytes] | None = None  # sent, and a _deliver posted that has not run yet
        self._buffered = buffered  # bytes the loop holds for the client (memory, then a temporary file)
        self._ended = False
        self._progress = 0  # bumped by the loop each time a slow client is seen reading
        self.closed = False  # the connection is gone
        self.client_eof = False  # the client has sent its end of stream (it closed, or half-closed)
        self.closing = False  # the server is draining: the response should close the connection
        self.can_sendfile = can_sendfile

    # Worker-thread side ---------------------------------------------------------------------------

    def send(self, *parts: bytes) -> None:
        size = len(parts[0]) if len(parts) == 1 else sum(map(len, parts))
        with self._lock:
            if not self._has_room() or self.closed:
                self._wait_for_room()
            self._queued += size
            batch = self._batch
            if batch is not None:
                batch += parts  # the loop has not run _deliver yet: it will take these too
                return
            self._batch = list(parts)
        self._post(self._deliver)

    def _wait_for_room(self) -> None:
        # The loop judges the send timeout (HttpProtocol._on_send_timeout): it disconnects a client that
        # read nothing for that long, which wakes us, and calls note_progress for one that is reading
        # slowly. Our own deadline, twice as long, is only a backstop should the loop not get to it.
        cond = self._cond
        if cond is None:
            cond = self._cond = threading.Condition(self._lock)
        backstop = 2 * self._send_timeout
        deadline = time.monotonic() + backstop
        progress = self._progress
        while not self.closed and not self._has_room():
            remaining = deadline - time.monotonic()
            if remaining <= 0 and self._progress != progress:
                progress = self._progress
                deadline = time.monotonic() + backstop
                continue
            if remaining <= 0:
                self._ended = True
                self._post(self._owner.output_abort, "the client stopped reading (send timeout)")
                raise ClientDisconnected("the client stopped reading its response")
            cond.wait(remaining)
        if self.closed:
            raise ClientDisconnected("the client closed the connection")

    def client_disconnected(self) -> bool:
        """environ["aiowsgi.client_disconnected"]: whether the loop has seen the client go, by EOF or reset.

        Two plain attributes written by the loop thread: reading them is safe from any thread, and cheap
        enough for an application to call in a loop.
        """
        return self.closed or self.client_eof

    def _has_room(self) -> bool:
        queued = self._queued
        return queued < self._in_flight_limit and queued + self._buffered < self._high_water

    def sendfile(self, fd: int, offset: int, count: int) -> None:
        if self.closed:
            raise ClientDisconnected("the client closed the connection")
        self._post(self._owner.output_sendfile, os.dup(fd), offset, count)

    def finish(self, *parts: bytes, keep_alive: bool) -> None:
        self._ended = True
        self._post(self._owner.output_finish, parts, keep_alive)

    def abort(self) -> None:
        if not self._ended:
            self._ended = True
            self._post(self._owner.output_abort, "the response could not be completed")

    def end_if_unfinished(self) -> None:
        """Called after every job, so that no response is left neither finished nor aborted."""
        if not self._ended:
            error_log.error("a request ended without a complete response; closing its connection")
            self.abort()

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        try:
            self._call(callback, *args)
        except RuntimeError:
            self.closed = True  # the loop has been closed under us; nothing can reach the client now
            raise ClientDisconnected("the server's event loop is closed") from None

    # Loop-thread side ----------------------------------------------------------------------------

    def _deliver(self) -> None:
        with self._lock:
            batch, self._batch = self._batch, None
            self._queued = 0
            if self._cond is not None:
                self._cond.notify()
        if batch and not self.closed:
            self._owner.output_write(tuple(batch))

    def set_buffered(self, buffered: int) -> None:
        with self._lock:
            if buffered < self._buffered and self._cond is not None:
                self._cond.notify()
            self._buffered = buffered

    def note_progress(self) -> None:
        """The client read some of its response while the output was over its high-water mark."""
        with self._lock:
            self._progress += 1

    def disconnect(self) -> None:
        with self._lock:
            self.closed = True
            if self._cond is not None:
                self._cond.notify_all()
