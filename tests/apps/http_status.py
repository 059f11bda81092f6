"""Answers with the status named by the path (/204, /304, ...) and tries to send a body with it anyway."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

BODY = b"this body must not be sent with a 204 or 304"


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
    code = int(environ["PATH_INFO"].strip("/") or "200")
    start_response(f"{code} {HTTPStatus(code).phrase}", [("Content-Type", "text/plain")])
    yield BODY
