"""Reads wsgi.input the way QUERY_STRING names and answers a JSON list of what each call returned.

Every mode reads to the end and then reads again, so the answer also shows that wsgi.input gives b""
(or []) past the end instead of waiting for more. Bytes travel as latin-1 text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def _read(stream: Any) -> list[Any]:
    return [stream.read(), stream.read(), stream.read(5)]


def _read_n(stream: Any) -> list[Any]:
    pieces = []
    while piece := stream.read(3):
        pieces.append(piece)
    return [*pieces, stream.read(3), stream.read(3)]


def _readline(stream: Any) -> list[Any]:
    lines = []
    while line := stream.readline():
        lines.append(line)
    return [*lines, stream.readline()]


def _readline_n(stream: Any) -> list[Any]:
    lines = []
    while line := stream.readline(4):
        lines.append(line)
    return [*lines, stream.readline(4)]


def _readlines(stream: Any) -> list[Any]:
    return [*stream.readlines(), stream.readlines(), stream.readline()]


def _iterate(stream: Any) -> list[Any]:
    return [*stream, list(stream), stream.read(1)]


MODES: dict[str, Callable[[Any], list[Any]]] = {
    "read": _read,
    "read_n": _read_n,
    "readline": _readline,
    "readline_n": _readline_n,
    "readlines": _readlines,
    "iter": _iterate,
}


def _jsonable(item: Any) -> Any:
    if isinstance(item, bytes):
        return item.decode("latin-1")
    return [_jsonable(part) for part in item]


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    results = MODES[environ["QUERY_STRING"]](environ["wsgi.input"])
    body = json.dumps([_jsonable(item) for item in results]).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
