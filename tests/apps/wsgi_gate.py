"""An application whose /slow requests wait for the test to open a gate (threading.Events, no sleeps)."""

from __future__ import annotations

import threading
from typing import Any

from tests.support import TIMEOUT


class GateApp:
    """/slow sets `entered`, waits for `release`, then answers; every other path answers at once."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = b"fast"
        if environ["PATH_INFO"] == "/slow":
            self.entered.set()
            released = self.release.wait(TIMEOUT)
            body = b"slow" if released else b"never released"
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        self.finished.set()
        return [body]
