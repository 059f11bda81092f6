"""Records when it starts, reads wsgi.input once with read(), and answers the body's SHA-256 and length."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from typing import Any


class BodyProbe:
    def __init__(self) -> None:
        self.started = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.started.set()
        stream = environ["wsgi.input"]
        body = stream.read()
        assert stream.read() == b"", "wsgi.input must be at its end after read()"
        digest = hashlib.sha256(body).hexdigest().encode("ascii")
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/plain"),
                ("Content-Length", str(len(digest))),
                ("X-Body-Length", str(len(body))),
                ("X-Content-Length", environ.get("CONTENT_LENGTH", "")),
                ("X-Input-Type", type(stream).__name__),
            ],
        )
        return [digest]
