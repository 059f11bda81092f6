"""A response iterable that records, with threading.Events, that it was started and closed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any


class ClosingApp:
    """Answers with a `Body` iterable; `mode` picks how the iteration goes.

    - "complete": three chunks, then the end.
    - "raise_first": raises before yielding anything.
    - "raise_later": yields one chunk, then raises.
    - "endless": yields 16 KiB chunks until closed (for a client that disconnects mid-stream).
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.started = threading.Event()
        self.closed = threading.Event()
        self.exhausted = False  # "endless" ran out of chunks: the server never noticed the client left

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Body:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body(self)


class Body:
    def __init__(self, app: ClosingApp) -> None:
        self._app = app

    def __iter__(self) -> Iterator[bytes]:
        app = self._app
        app.started.set()
        if app.mode == "complete":
            yield from (b"one,", b"two,", b"three")
        elif app.mode == "raise_first":
            raise ValueError("iteration failed before any output")
        elif app.mode == "raise_later":
            yield b"one"
            raise ValueError("iteration failed after output")
        elif app.mode == "endless":
            chunk = b"x" * 16384
            for _ in range(10_000):
                yield chunk
            app.exhausted = True

    def close(self) -> None:
        self._app.closed.set()
