"""Logging setup for the command line. Embedded servers log through the same loggers and configure nothing.

aiowsgi.error - startup, bad requests, application errors (with tracebacks).
aiowsgi.access - one line per request.
"""

from __future__ import annotations

import logging
import sys

ERROR_FORMAT = "[%(asctime)s] [%(process)d] %(levelname)s: %(message)s"
ACCESS_FORMAT = "[%(asctime)s] %(message)s"


def configure_logging(level: str, access_log: bool) -> None:
    error_handler = logging.StreamHandler(sys.stderr)
    error_handler.setFormatter(logging.Formatter(ERROR_FORMAT))
    error = logging.getLogger("aiowsgi.error")
    error.handlers[:] = [error_handler]
    error.setLevel(level.upper())
    error.propagate = False

    access_handler = logging.StreamHandler(sys.stderr)
    access_handler.setFormatter(logging.Formatter(ACCESS_FORMAT))
    access = logging.getLogger("aiowsgi.access")
    access.handlers[:] = [access_handler]
    access.setLevel(logging.INFO if access_log else logging.WARNING)
    access.propagate = False
