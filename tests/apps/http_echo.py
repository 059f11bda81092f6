"""Echoes the request body, with what the application saw of the request in X- headers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = environ["wsgi.input"].read()
    headers = [
        ("Content-Type", "application/octet-stream"),
        ("Content-Length", str(len(body))),
        ("X-Method", environ["REQUEST_METHOD"]),
        ("X-Path", environ["PATH_INFO"]),
        ("X-Query", environ["QUERY_STRING"]),
        ("X-Host", environ.get("HTTP_HOST", "")),
        ("X-Content-Length", environ.get("CONTENT_LENGTH", "")),
        ("X-Transfer-Encoding", environ.get("HTTP_TRANSFER_ENCODING", "")),
        ("X-Protocol", environ["SERVER_PROTOCOL"]),
    ]
    start_response("200 OK", headers)
    return [body]
