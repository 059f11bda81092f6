"""Replay every raw request of tests/requests on each parser, cut in many ways, and check the result.

Each case runs whole, line by line, byte by byte and in seeded-random pieces (gunicorn's tests/treq.py):
where the bytes are cut must never change what the connection makes of them.
"""

from __future__ import annotations

import pytest

from aiowsgi.http.connection import ReadState, ServerConnection
from aiowsgi.http.parser import available_parsers
from tests.requests.corpus import ERROR_STATUSES, LIMITS, Case, load_cases, replay, splits


def params(kind: str) -> list[object]:
    """Every case on every parser: there are no known differences between them to excuse."""
    return [
        pytest.param(parser, case, id=f"{parser}-{case.name}")
        for case in load_cases(kind)
        for parser in ("httptools", "h11")
    ]


def skip_missing(parser: str) -> None:
    if parser not in available_parsers():
        pytest.skip(f"{parser} is not installed")


def test_corpus_is_there() -> None:
    assert len(load_cases("valid")) >= 40
    assert len(load_cases("invalid")) >= 40
    assert len(load_cases("valid")) + len(load_cases("invalid")) >= 80


@pytest.mark.parametrize(("parser", "case"), params("valid"))
def test_valid_request(parser: str, case: Case) -> None:
    skip_missing(parser)
    for how, pieces in splits(case.data):
        outcome = replay(parser, pieces)
        assert outcome.status is None, f"{how}: {outcome.status} {outcome.message}"
        assert outcome.partial is None, f"{how}: a request was left unfinished"
        assert outcome.requests == case.expected["requests"], how


@pytest.mark.parametrize(("parser", "case"), params("invalid"))
def test_invalid_request(parser: str, case: Case) -> None:
    skip_missing(parser)
    assert case.expected["status"] in ERROR_STATUSES
    for how, pieces in splits(case.data):
        outcome = replay(parser, pieces)
        assert outcome.status == case.expected["status"], f"{how}: {outcome.status} {outcome.message}"
        assert outcome.requests == case.expected["requests"], how


def test_error_is_final(parser_backend: str) -> None:
    """Rule 4: after a ProtocolError the connection reports nothing more, whatever arrives."""
    conn = ServerConnection(parser_backend, LIMITS)
    events, error = conn.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/9.9\r\n\r\n")
    assert len(events) == 2
    assert error is not None
    assert error.status_hint == 505
    assert conn.state is ReadState.ERROR
    assert conn.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n") == ([], None)


def test_must_close_is_final(parser_backend: str) -> None:
    """Rule 3: once a closing request is read, later bytes are ignored, in the same read or later ones."""
    conn = ServerConnection(parser_backend, LIMITS)
    events, error = conn.receive_data(
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /x HTTP/1.1\r\n"
    )
    assert error is None
    assert len(events) == 2
    assert conn.state is ReadState.MUST_CLOSE
    assert conn.receive_data(b"Host: a\r\n\r\n") == ([], None)
    assert conn.receive_data(b"\x00garbage\r\n\r\n") == ([], None)


def test_states_through_a_request(parser_backend: str) -> None:
    conn = ServerConnection(parser_backend, LIMITS)
    assert conn.state is ReadState.IDLE
    assert conn.parser_name == parser_backend
    conn.receive_data(b"POST / HTTP/1.1\r\n")
    assert conn.state is ReadState.HEAD
    conn.receive_data(b"Host: a\r\nContent-Length: 4\r\n\r\nab")
    assert conn.state is ReadState.BODY
    conn.receive_data(b"cd")
    assert conn.state is ReadState.IDLE


@pytest.mark.parametrize("case", load_cases("valid") + load_cases("invalid"), ids=lambda c: c.id)
def test_parsers_agree(case: Case) -> None:
    """Parity: cut the same way, both parsers give the same requests, unfinished head and status."""
    if len(available_parsers()) < 2:
        pytest.skip("needs both httptools and h11")
    for how, pieces in splits(case.data):
        ours, theirs = replay("httptools", pieces), replay("h11", pieces)
        assert ours.requests == theirs.requests, how
        assert ours.partial == theirs.partial, how
        assert ours.status == theirs.status, (how, ours.message, theirs.message)


def test_empty_read_is_nothing(parser_backend: str) -> None:
    """b"" carries no bytes: h11 would take it for EOF, llhttp would report an empty piece of body."""
    conn = ServerConnection(parser_backend, LIMITS)
    events, _ = conn.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab")
    assert len(events) == 2
    assert conn.receive_data(b"") == ([], None)
    events, error = conn.receive_data(b"cd")
    assert error is None
    assert [type(event).__name__ for event in events] == ["BodyChunk", "EndOfRequest"]
