"""Logging setup for the command line. Embedded servers log through the same loggers and configure nothing.

aiowsgi.error - startup, bad requests, application errors (with tracebacks).
aiowsgi.access - one line per request.

The access log is on by default, so its cost is part of every request's: the formatter renders the
timestamp once a second, not once a line.
"""

from __future__ import annotations

import logging
import sys
import time

ERROR_FORMAT = "[%(asctime)s] [%(process)d] %(levelname)s: %(message)s"
ACCESS_FORMAT = "[%(asctime)s] %(message)s"


class Formatter(logging.Formatter):
    """logging.Formatter with the default asctime ("2026-11-21 22:10:04,512"), rendered once a second."""

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self._second = -1
        self._rendered = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        second = int(record.created)
        if second != self._second:
            # Two threads may both render the same second; both get the same text.
            self._rendered = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(second))
            self._second = second
        return f"{self._rendered},{int(record.msecs):03d}"


def configure_logging(level: str, access_log: bool) -> None:
    error_handler = logging.StreamHandler(sys.stderr)
    error_handler.setFormatter(Formatter(ERROR_FORMAT))
    error = logging.getLogger("aiowsgi.error")
    error.handlers[:] = [error_handler]
    error.setLevel(level.upper())
    error.propagate = False

    access_handler = logging.StreamHandler(sys.stderr)
    access_handler.setFormatter(Formatter(ACCESS_FORMAT))
    access = logging.getLogger("aiowsgi.access")
    access.handlers[:] = [access_handler]
    access.setLevel(logging.INFO if access_log else logging.WARNING)
    access.propagate = False
