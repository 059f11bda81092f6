"""Replay every raw request of tests/requests on each parser, cut in many ways, and check the result.

Each case runs whole, line by line, byte by byte and in seeded-random pieces (gunicorn's tests/treq.py):
where the bytes are cut must never change what the connection makes of them.
"""

from __future__ import annotations

import pytest

from aiowsgi.http.connection import ReadState, ServerConnection
from aiowsgi.http.parser import available_parsers
from tests.requests.corpus import ERROR_STATUSES, LIMITS, Case, load_cases, replay, splits

# Where one parser cannot be brought to the common answer by connection.py (the information is gone by the
# time the adapter hands the head over), the case is an expected failure for that parser, with the reason.
_H11_TE = (
    "h11 refuses this Transfer-Encoding itself, always with 501; llhttp (and RFC 9112 section 6.3) say 400"
)
_H11_CL = (
    "h11 folds identical Content-Length values into one field before the adapter sees them (RFC 9110 "
    "section 8.6 allows that); llhttp refuses them, and connection.py cannot tell them apart any more"
)
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("h11", "valid/chunked_uppercase"): "h11 lower-cases the Transfer-Encoding value it hands over",
    ("httptools", "valid/extension_method_unknown"): "llhttp knows a fixed list of methods; others get 400",
    ("h11", "invalid/two_content_lengths_same"): _H11_CL,
    ("h11", "invalid/content_length_list"): _H11_CL,
    ("h11", "invalid/te_chunked_not_last"): _H11_TE,
    ("h11", "invalid/te_chunked_twice"): _H11_TE,
    ("h11", "invalid/te_two_fields"): _H11_TE,
    ("h11", "invalid/te_empty"): _H11_TE,
    ("h11", "invalid/chunk_size_overflow"): (
        "h11 accepts any chunk size and waits for the data; only the body limit (413) stops it"
    ),
    ("h11", "invalid/trailer_end_bare_lf"): (
        "h11 takes a bare LF as the end of the trailer section; the adapter cannot see the trailers"
    ),
    ("httptools", "invalid/double_space_request_line"): (
        "llhttp splits the request line on runs of spaces (RFC 9112 section 3 allows it); the adapter "
        "only gets the target"
    ),
}


def params(kind: str) -> list[object]:
    result: list[object] = []
    for case in load_cases(kind):
        for parser in ("httptools", "h11"):
            marks = []
            reason = KNOWN_DIFFERENCES.get((parser, case.key))
            if reason:
                marks.append(pytest.mark.xfail(strict=True, reason=reason))
            result.append(pytest.param(parser, case, id=f"{parser}-{case.name}", marks=marks))
    return result


def skip_missing(parser: str) -> None:
    if parser not in available_parsers():
        pytest.skip(f"{parser} is not installed")


def test_corpus_is_there() -> None:
    assert len(load_cases("valid")) >= 40
    assert len(load_cases("invalid")) >= 40
    keys = {case.key for case in load_cases("valid") + load_cases("invalid")}
    assert {key for _, key in KNOWN_DIFFERENCES} <= keys, "a known difference names a case that is gone"


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
    """Parity: both parsers give the same requests, the same unfinished head and the same status."""
    if len(available_parsers()) < 2:
        pytest.skip("needs both httptools and h11")
    if ("httptools", case.key) in KNOWN_DIFFERENCES or ("h11", case.key) in KNOWN_DIFFERENCES:
        pytest.skip("a known difference between the parsers, checked by test_valid/invalid_request")
    ours, theirs = replay("httptools", [case.data]), replay("h11", [case.data])
    assert ours.requests == theirs.requests
    assert ours.partial == theirs.partial
    assert ours.status == theirs.status, (ours.message, theirs.message)


def test_empty_read_is_nothing(parser_backend: str) -> None:
    """b"" carries no bytes: h11 would take it for EOF, llhttp would report an empty piece of body."""
    conn = ServerConnection(parser_backend, LIMITS)
    events, _ = conn.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab")
    assert len(events) == 2
    assert conn.receive_data(b"") == ([], None)
    events, error = conn.receive_data(b"cd")
    assert error is None
    assert [type(event).__name__ for event in events] == ["BodyChunk", "EndOfRequest"]
