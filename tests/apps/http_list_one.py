"""Returns a list of one bytes object and leaves Content-Length to the server."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b"one item, no declared length"


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [BODY]
