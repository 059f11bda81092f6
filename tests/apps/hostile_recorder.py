"""Answers every request with its own path, records which requests ran and which were closed.

Paths under /block wait for `release` (a threading.Event, no sleeps) after setting `entered`, so a test can
hold every worker thread. The response body is the path, so each response names the request it answers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from tests.support import TIMEOUT


class Recorder:
    def __init__(self) -> None:
        self.entered = threading.Event()  # a /block request is running
        self.release = threading.Event()  # lets every /block request answer
        self._lock = threading.Lock()
        self._ran: list[str] = []  # paths, in the order the application was called
        self._closed: list[str] = []  # paths whose iterable's close() ran

    @property
    def ran(self) -> list[str]:
        with self._lock:
            return list(self._ran)

    @property
    def closed(self) -> list[str]:
        with self._lock:
            return list(self._closed)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Body:
        path = environ["PATH_INFO"]
        with self._lock:
            self._ran.append(path)
        if path.startswith("/block"):
            self.entered.set()
            self.release.wait(TIMEOUT)
        body = path.encode("latin-1")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return Body(self, path, body)

    def _note_closed(self, path: str) -> None:
        with self._lock:
            self._closed.append(path)


class Body:
    def __init__(self, app: Recorder, path: str, body: bytes) -> None:
        self._app = app
        self._path = path
        self._body = body

    def __iter__(self) -> Iterator[bytes]:
        yield self._body

    def close(self) -> None:
        self._app._note_closed(self._path)
