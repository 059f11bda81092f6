"""Records the environ of every request it answers (the test server runs in the test's own process)."""

from __future__ import annotations

import threading
from typing import Any


class EnvironRecorder:
    """Answers 200 "ok" and keeps a shallow copy of each request's environ, in arrival order."""

    def __init__(self) -> None:
        self.environs: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self._lock:
            self.environs.append(dict(environ))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    @property
    def last(self) -> dict[str, Any]:
        with self._lock:
            return self.environs[-1]
