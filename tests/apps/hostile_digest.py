"""Answers with the length and SHA-256 of the request body, so a large upload needs no large response."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    digest = hashlib.sha256()
    length = 0
    stream = environ["wsgi.input"]
    while block := stream.read(1 << 20):
        digest.update(block)
        length += len(block)
    body = f"{length} {digest.hexdigest()}".encode("ascii")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
