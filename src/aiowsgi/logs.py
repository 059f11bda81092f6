"""Logging: the command line's setup, and how each request's access line is written.

aiowsgi.error - startup, bad requests, application errors (with tracebacks).
aiowsgi.access - one line per request.

The access log is on by default, so its cost is part of every request's. Embedded servers configure
nothing: their access lines are LogRecords on aiowsgi.access, for whatever handlers the program set up.
The command line installs an AccessLogWriter there, and the server then skips the logging machinery
(a LogRecord, the handler lock, one write per line: 8 us a request) and hands the writer each line's
text directly; the writer gathers lines and writes them in batches. With --log-config the file's
handlers take the lines as LogRecords (unless it installs an AccessLogWriter as the only handler).

An access line is finished text (accesslog.py makes it): a LogRecord carries it as its message with no
arguments, so a "%" in a request's path is printed, not interpreted.
"""

from __future__ import annotations

import collections
import configparser
import json
import logging
import logging.config
import sys
import threading
import time
import tomllib
from pathlib import Path
from typing import Any, TextIO

from ._types import AccessLog
from .accesslog import DEFAULT_FORMAT
from .config import Config
from .errors import ConfigError

ERROR_FORMAT = "[%(asctime)s] [%(process)d] %(levelname)s: %(message)s"
ACCESS_FORMAT = "[%(asctime)s] %(message)s"
# Lines in any format but the default carry their own time (%(t)s, JSON's "time") or none at all.
PLAIN_ACCESS_FORMAT = "%(message)s"

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

    def __init__(self, stream: TextIO, timestamped: bool = True) -> None:
        super().__init__()
        self._stream = stream
        self._timestamped = timestamped
        self._clock = _Clock()
        self._pending: collections.deque[str] = collections.deque()
        self._closed = threading.Event()
        self._flusher = threading.Thread(target=self._flush_regularly, name="aiowsgi-access-log", daemon=True)
        self._flusher.start()

    def write_line(self, line: str) -> None:
        """The fast path (an AccessLog): the same text a LogRecord on aiowsgi.access would get.

        Prefixed with the time as ACCESS_FORMAT does when `timestamped`, else as it is (PLAIN_ACCESS_FORMAT).
        """
        if self._timestamped:
            self._add(f"[{self._clock.stamp(time.time())}] {line}\n")
        else:
            self._add(line + "\n")

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


def _log_record(line: str) -> None:
    if not access_logger.isEnabledFor(logging.INFO):
        return
    # makeRecord and handle are what info() calls, less its search of the stack for the caller's file and
    # line, which the access format does not show and which costs more than the rest of the record.
    # No arguments: getMessage() then returns the line untouched, "%" and all.
    logger = access_logger
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 0, line, (), None)
    logger.handle(record)


def configure_logging(config: Config) -> None:
    """The command line's logging: aiowsgi's handlers on stderr, or --log-config's file.

    With a file, the levels are set first (aiowsgi.error at --log-level, aiowsgi.access at INFO when the
    access log is on) and our handlers are not installed: the file says where lines go and may override the
    levels. Uvicorn also applies its file instead of its own setup; applying it on top of ours instead
    would leave our stderr handlers, and propagate=False, on whatever logger the file does not mention.

    Raises:
        ConfigError: --log-config cannot be read or applied (one line saying why).
    """
    error = logging.getLogger("aiowsgi.error")
    error.setLevel(config.log_level.upper())
    access_logger.setLevel(logging.INFO if config.access_log else logging.WARNING)
    if config.log_config:
        for logger in (error, access_logger):
            logger.handlers[:] = []
            logger.propagate = True
        apply_log_config(config.log_config)
        return

    error_handler = logging.StreamHandler(sys.stderr)
    error_handler.setFormatter(Formatter(ERROR_FORMAT))
    error.handlers[:] = [error_handler]
    error.propagate = False

    timestamped = config.access_log_format == DEFAULT_FORMAT
    access_handler: logging.Handler
    if config.access_log:
        access_handler = AccessLogWriter(sys.stderr, timestamped)
    else:
        access_handler = logging.StreamHandler(sys.stderr)
    access_handler.setFormatter(Formatter(ACCESS_FORMAT if timestamped else PLAIN_ACCESS_FORMAT))
    access_logger.handlers[:] = [access_handler]
    access_logger.propagate = False


DICT_CONFIG_SUFFIXES = (".json", ".toml")
FILE_CONFIG_SUFFIXES = (".ini", ".conf", ".cfg")


def apply_log_config(path: str) -> None:
    """Configure logging from `path`: dictConfig from JSON or TOML, fileConfig from INI (by its suffix).

    `disable_existing_loggers` is false unless the file says otherwise (Gunicorn passes false too), so that
    a file that configures only the root logger does not silence aiowsgi.error.

    Raises:
        ConfigError: "--log-config PATH: what went wrong", for a missing, unreadable, unparsable or
            rejected file.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in DICT_CONFIG_SUFFIXES + FILE_CONFIG_SUFFIXES:
        raise ConfigError(
            f"--log-config {path}: expected a .json or .toml file (dictConfig) or an .ini, .conf or .cfg "
            "file (fileConfig)"
        )
    try:
        if suffix in FILE_CONFIG_SUFFIXES:
            parser = configparser.ConfigParser()
            with open(path, encoding="utf-8") as file:
                parser.read_file(file)
            logging.config.fileConfig(parser, disable_existing_loggers=False)
            return
        with open(path, "rb") as binary:
            loaded: Any = json.load(binary) if suffix == ".json" else tomllib.load(binary)
        if not isinstance(loaded, dict):
            raise TypeError(f"expected a dictConfig mapping, got {type(loaded).__name__}")
        loaded.setdefault("disable_existing_loggers", False)
        logging.config.dictConfig(loaded)
    except OSError as exc:
        raise ConfigError(f"--log-config {path}: {exc.strerror or exc}") from None
    except (ValueError, TypeError, KeyError, AttributeError, ImportError, configparser.Error) as exc:
        # dictConfig says which handler, formatter or logger failed, and chains the reason; fileConfig raises
        # a bare KeyError for a section or option the file lacks.
        if isinstance(exc, KeyError):
            reason = f"no section or option {exc} where fileConfig needs one"
        elif exc.__cause__ is not None:
            reason = f"{exc}: {exc.__cause__}"
        else:
            reason = str(exc) or type(exc).__name__
        raise ConfigError(f"--log-config {path}: {' '.join(reason.split())}") from None
