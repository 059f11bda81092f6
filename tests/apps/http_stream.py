"""Streams its body from a generator with no Content-Length: ?n=<chunks> (default 3) of b"chunk-<i>;"."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
    count = int(parse_qs(environ["QUERY_STRING"]).get("n", ["3"])[0])
    start_response("200 OK", [("Content-Type", "text/plain")])
    for index in range(count):
        yield b"chunk-%d;" % index


def expected(count: int = 3) -> bytes:
    return b"".join(b"chunk-%d;" % index for index in range(count))
