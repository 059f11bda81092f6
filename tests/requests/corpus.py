"""Load the raw-request corpus and replay it through `ServerConnection`.

Each case is `valid/NNN_name.http` or `invalid/NNN_name.http` (the exact bytes a client sends) with a sidecar
`NNN_name.json` (what the connection must make of them):

    valid:   {"requests": [REQUEST, ...]}
    invalid: {"status": 400, "requests": [REQUEST, ...]}   # requests completed before the error

REQUEST is {"method", "target", "http_version", "headers": [[name, value], ...], "body", "keep_alive",
"chunked", "content_length", "expect_continue"}; bytes (target, header names and values, body) are
latin-1 strings, header names lower-cased. The files are written by `make_corpus.py`; edit that, not them.

The corpus is replayed with `LIMITS`, which the limit cases are built to exceed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiowsgi.http.connection import RequestLimits, ServerConnection
from aiowsgi.http.events import BodyChunk, EndOfRequest, RequestHead
from aiowsgi.http.parser import HeadLimits

CORPUS_DIR = Path(__file__).parent
LIMITS = RequestLimits(HeadLimits(request_line=8190, field_count=100, field_size=8190), body=64 * 1024)
ERROR_STATUSES = frozenset({400, 408, 413, 414, 431, 501, 505})


@dataclass(frozen=True)
class Case:
    kind: str  # "valid" or "invalid"
    name: str  # e.g. "001_get_simple"
    data: bytes
    expected: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def key(self) -> str:
        """The id without the number, which moves when cases are added: "invalid/obs_fold"."""
        return f"{self.kind}/{self.name.partition('_')[2]}"


def load_cases(kind: str) -> list[Case]:
    cases = []
    for path in sorted((CORPUS_DIR / kind).glob("*.http")):
        expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        cases.append(Case(kind, path.stem, path.read_bytes(), expected))
    return cases


def all_cases() -> list[Case]:
    return load_cases("valid") + load_cases("invalid")


def head_to_json(head: RequestHead) -> dict[str, Any]:
    return {
        "method": head.method,
        "target": head.target.decode("latin-1"),
        "http_version": head.http_version,
        "headers": [[name.decode("latin-1"), value.decode("latin-1")] for name, value in head.headers],
        "keep_alive": head.keep_alive,
        "chunked": head.chunked,
        "content_length": head.content_length,
        "expect_continue": head.expect_continue,
    }


@dataclass
class Outcome:
    """What a connection made of some bytes: complete requests, the one in progress, and the error status."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    partial: dict[str, Any] | None = None  # head of a request whose body was still arriving
    status: int | None = None
    message: str = ""


def replay(parser_name: str, pieces: Iterator[bytes] | list[bytes]) -> Outcome:
    """Feed `pieces` to a new connection in order, stopping at the first error."""
    conn = ServerConnection(parser_name, LIMITS)
    outcome = Outcome()
    current: dict[str, Any] | None = None
    body: list[bytes] = []
    for piece in pieces:
        events, error = conn.receive_data(piece)
        for event in events:
            if isinstance(event, RequestHead):
                assert current is None, "a head before the previous request ended"
                current, body = head_to_json(event), []
            elif isinstance(event, BodyChunk):
                assert current is not None, "body without a head"
                assert event.data, "empty BodyChunk"
                body.append(event.data)
            else:
                assert isinstance(event, EndOfRequest)
                assert current is not None, "end without a head"
                current["body"] = b"".join(body).decode("latin-1")
                outcome.requests.append(current)
                current = None
        if error is not None:
            outcome.status, outcome.message = error.status_hint, str(error)
            break
    outcome.partial = current
    return outcome


def splits(data: bytes, seeds: range = range(5)) -> Iterator[tuple[str, list[bytes]]]:
    """The same bytes cut in different places: whole, by line, by byte, and at seeded-random points."""
    yield "whole", [data]
    yield "lines", data.splitlines(keepends=True)
    yield "bytes", [data[i : i + 1] for i in range(len(data))]
    for seed in seeds:
        yield f"random{seed}", random_split(data, random.Random(seed))


def random_split(data: bytes, rng: random.Random) -> list[bytes]:
    pieces, start = [], 0
    while start < len(data):
        size = rng.choice((1, 2, 3, 5, 8, 13, 64, 512, 4096))
        pieces.append(data[start : start + size])
        start += size
    return pieces
