"""Large responses whose invocations are tracked one by one: how many produced every byte, how many were
closed. GET /big/NAME streams `total` bytes (Content-Length set) in 256 KiB blocks; anything else gets b"ok".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

KiB = 1024
MiB = 1024 * KiB
BLOCK = 256 * KiB


class TrackedStreams:
    def __init__(self, total: int) -> None:
        self.total = total
        self._changed = threading.Condition()
        self.started: set[str] = set()
        self.finished: set[str] = set()  # handed the server every byte
        self.closed: set[str] = set()  # close() was called on the iterable

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ["PATH_INFO"]
        if not path.startswith("/big/"):
            start_response("200 OK", [("Content-Length", "2")])
            return [b"ok"]
        name = path.removeprefix("/big/")
        start_response(
            "200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(self.total))]
        )
        self._note(self.started, name)
        return Stream(self, name)

    def _note(self, names: set[str], name: str) -> None:
        with self._changed:
            names.add(name)
            self._changed.notify_all()

    def wait_for(self, names: set[str], count: int, timeout: float) -> bool:
        """Wait until `names` (one of the sets above) has `count` members."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(names) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True


class Stream:
    def __init__(self, app: TrackedStreams, name: str) -> None:
        self._app = app
        self._name = name

    def __iter__(self) -> Iterator[bytes]:
        block = b"b" * BLOCK
        for _ in range(self._app.total // BLOCK):
            yield block
        self._app._note(self._app.finished, self._name)

    def close(self) -> None:
        self._app._note(self._app.closed, self._name)
