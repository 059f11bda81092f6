"""Logging: the command line's setup, and how each request's access line is written.

aiowsgi.error - startup, bad requests, application errors (with tracebacks).
aiowsgi.access - one line per request.

The access log is on by default, so its cost is part of every request's. Embedded servers configure
nothing: their access lines are LogRecords on aiowsgi.access, for whatever handlers the program set up.
The command line installs an AccessLogWriter there, and the server then skips the logging machinery
(a LogRecord, the handler lock, one write per line: 8 us a request) and hands the writer each line's
text directly; the writer gathers lines and writes them in batches.
"""

from __future__ import annotations

import collections
import logging
import sys
import threading
import time
from typing import TextIO

from ._types import AccessLog

ERROR_FORMAT = "[%(asctime)s] [%(process)d] %(levelname)s: %(message)s"
ACCESS_FORMAT = "[%(asctime)s] %(message)s"

access_logger = logging.getLogger("aiowsgi.access")


class _Clock:
    """The default asctime ("2026-11-21 22:10:04,512"), with the date and time rendered once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._rendered = ""

    def stamp(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            # Two threads may both render the same second; both get the same text.
            self._rendered = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._second = second
        return f"{self._rendered},{int((created - second) * 1000):03d}"


class Formatter(logging.Formatter):
    """logging.Formatter with the default asctime, rendered once a second."""

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self._clock = _Clock()

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return self._clock.stamp(record.created)


class AccessLogWriter(logging.Handler):
    """A handler that writes access lines in batches: every FLUSH_LINES lines, or FLUSH_INTERVAL after one.

    One write per line costs a system call in the worker thread that has a response to finish, and lets
    the other threads at the GIL in between. Lines gather in a deque instead (append and popleft are atomic,
    so no lock on the way in); the thread whose line fills a batch writes it, and a background thread
    writes whatever is left every FLUSH_INTERVAL, so a line appears at most that much later. A stream that
    blocks holds up only the thread writing a batch, and the others stop at the next full batch: the
    memory held is bounded by a batch per thread. Whatever is pending at exit is written by
    logging.shutdown, which closes every handler.
    """

    FLUSH_LINES = 256
    FLUSH_INTERVAL = 0.1

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self._clock = _Clock()
        self._pending: collections.deque[str] = collections.deque()
        self._closed = threading.Event()
        self._flusher = threading.Thread(target=self._flush_regularly, name="aiowsgi-access-log", daemon=True)
        self._flusher.start()

    def write_line(self, message_format: str, args: tuple[object, ...]) -> None:
        """The fast path (an AccessLog): the same text a LogRecord on aiowsgi.access would get."""
        self._add(f"[{self._clock.stamp(time.time())}] {message_format % args}\n")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
        except Exception:  # noqa: BLE001 - logging's own convention: report and carry on
            self.handleError(record)
            return
        self._add(line)

    def _add(self, line: str) -> None:
        pending = self._pending
        pending.append(line)
        if len(pending) >= self.FLUSH_LINES:
            self.flush()

    def flush(self) -> None:
        pending = self._pending
        with self.lock:  # type: ignore[union-attr]  # created by Handler.__init__
            lines = [pending.popleft() for _ in range(len(pending))]
            if not lines:
                return
            try:
                self._stream.write("".join(lines))
                self._stream.flush()
            except (OSError, ValueError):  # the stream is gone (a closed pipe): nothing else to do
                pass

    def close(self) -> None:
        self._closed.set()
        self.flush()
        super().close()

    def _flush_regularly(self) -> None:
        while not self._closed.wait(self.FLUSH_INTERVAL):
            if self._pending:
                self.flush()


def access_log_for_requests() -> AccessLog:
    """How the server logs each request: straight to the command line's writer when that is the access
    logger's only handler and nothing filters it, else as a LogRecord through logging."""
    handlers = access_logger.handlers
    if (
        len(handlers) == 1
        and type(handlers[0]) is AccessLogWriter
        and not handlers[0].filters
        and not access_logger.filters
        and not access_logger.propagate
        and access_logger.isEnabledFor(logging.INFO)
    ):
        return handlers[0].write_line
    return _log_record


def _log_record(message_format: str, args: tuple[object, ...]) -> None:
    if not access_logger.isEnabledFor(logging.INFO):
        return
    # makeRecord and handle are what info() calls, less its search of the stack for the caller's file and
    # line, which the access format does not show and which costs more than the rest of the record.
    logger = access_logger
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 0, message_format, args, None)
    logger.handle(record)


def configure_logging(level: str, access_log: bool) -> None:
    error_handler = logging.StreamHandler(sys.stderr)
    error_handler.setFormatter(Formatter(ERROR_FORMAT))
    error = logging.getLogger("aiowsgi.error")
    error.handlers[:] = [error_handler]
    error.setLevel(level.upper())
    error.propagate = False

    access_handler = AccessLogWriter(sys.stderr) if access_log else logging.StreamHandler(sys.stderr)
    access_handler.setFormatter(Formatter(ACCESS_FORMAT))
    access_logger.handlers[:] = [access_handler]
    access_logger.setLevel(logging.INFO if access_log else logging.WARNING)
    access_logger.propagate = False
