"""Serves one file through wsgi.file_wrapper, and records when the server closes it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from tests.apps.wsgi_file import TrackedFile


class FileApp:
    def __init__(self, path: str) -> None:
        self.path = path
        self.closed = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.closed.clear()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        wrapper: Iterable[bytes] = environ["wsgi.file_wrapper"](TrackedFile(self.path, self.closed))
        return wrapper
