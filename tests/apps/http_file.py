"""Serves one file through wsgi.file_wrapper, and records when the server closes it."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable
from typing import Any


class TrackedFile(io.BufferedReader):
    def __init__(self, path: str, on_close: threading.Event) -> None:
        super().__init__(io.FileIO(path, "rb"))
        self._on_close = on_close

    def close(self) -> None:
        super().close()
        self._on_close.set()


class FileApp:
    def __init__(self, path: str) -> None:
        self.path = path
        self.closed = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.closed.clear()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        wrapper: Iterable[bytes] = environ["wsgi.file_wrapper"](TrackedFile(self.path, self.closed))
        return wrapper
