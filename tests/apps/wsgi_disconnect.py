"""An application that works until environ["aiowsgi.client_disconnected"]() says its client has gone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from tests.support import TIMEOUT


class DisconnectWatcher:
    """Sets `started`, then polls the disconnect signal (waiting on an Event, not sleeping) until it turns
    True or `patience` seconds pass; `saw_disconnect` records which, `closed` that close() ran."""

    def __init__(self, patience: float = TIMEOUT) -> None:
        self.patience = patience
        self.started = threading.Event()
        self.done = threading.Event()
        self.closed = threading.Event()
        self.saw_disconnect: bool | None = None
        self.before_start: bool | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        client_disconnected = environ["aiowsgi.client_disconnected"]
        self.before_start = client_disconnected()
        self.started.set()
        ticker = threading.Event()
        for _ in range(int(self.patience / 0.01)):
            if client_disconnected():
                self.saw_disconnect = True
                break
            ticker.wait(0.01)
        else:
            self.saw_disconnect = False
        self.done.set()
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            yield b"finished"
        finally:
            self.closed.set()
