"""Fuzz the sans-I/O HTTP layer: whatever bytes arrive, in whatever pieces, the connection either reports
events or a ProtocolError with a status we answer. Any other exception is a bug (h11's fuzz/afl-server.py
states the same invariant).

Inputs are random bytes and mutations of the valid corpus requests, on both parsers, with tiny limits (so
the limit paths run) and with the corpus limits (where the cut points must not change the outcome).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiowsgi.http.connection import ReadState, RequestLimits, ServerConnection
from aiowsgi.http.events import BodyChunk, EndOfRequest, Event, RequestHead
from aiowsgi.http.parser import HeadLimits
from tests.requests.corpus import ERROR_STATUSES, LIMITS, load_cases, replay

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TINY_LIMITS = RequestLimits(HeadLimits(request_line=40, field_count=4, field_size=40), body=64)
SEEDS = [case.data for case in load_cases("valid") if len(case.data) < 4096]
# Bytes that matter to HTTP framing, to splice into requests more often than chance would.
TOKENS = [
    b"\r\n", b"\n", b"\r", b" ", b"\t", b":", b";", b",", b"\x00", b"\x7f", b"\xff", b"0", b"9", b"f",
    b"\r\n\r\n", b"\r\n ", b"chunked", b"Content-Length: ", b"Transfer-Encoding: chunked\r\n",
    b"Connection: close\r\n", b"Expect: 100-continue\r\n", b"HTTP/1.0", b"HTTP/1.1", b"0\r\n\r\n",
    b"Host: x\r\n", b"Upgrade: websocket\r\nConnection: upgrade\r\n",
]  # fmt: skip


@st.composite
def mutated_requests(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "duplicate", "token"]))
        if op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif op == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(1, 64))]
        else:
            data[at:at] = draw(st.sampled_from(TOKENS))
    return bytes(data)


@st.composite
def cut(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """`data` in pieces at drawn points (possibly none: the whole)."""
    points = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def check_stream(parser: str, pieces: list[bytes], limits: RequestLimits) -> None:
    """Feed the pieces; only events in a sane order or one ProtocolError may come out."""
    conn = ServerConnection(parser, limits)
    in_request = False
    for piece in pieces:
        events, error = conn.receive_data(piece)  # anything raised here is a bug
        for event in events:
            in_request = check_order(event, in_request)
        if error is not None:
            assert error.status_hint in ERROR_STATUSES, error
            assert conn.state is ReadState.ERROR
            assert conn.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == ([], None)
            return
    assert conn.state is not ReadState.ERROR


def check_order(event: Event, in_request: bool) -> bool:
    if isinstance(event, RequestHead):
        assert not in_request
        assert not (event.chunked and event.content_length is not None)
        return True
    assert in_request
    if isinstance(event, BodyChunk):
        assert event.data
        return True
    assert isinstance(event, EndOfRequest)
    return False


@pytest.fixture(params=["tiny", "corpus"])
def limits(request: pytest.FixtureRequest) -> RequestLimits:
    return TINY_LIMITS if request.param == "tiny" else LIMITS


@FUZZ
@given(data=st.data(), raw=st.binary(max_size=512))
def test_random_bytes(parser_backend: str, limits: RequestLimits, data: st.DataObject, raw: bytes) -> None:
    check_stream(parser_backend, data.draw(cut(raw)), limits)


@FUZZ
@given(data=st.data(), raw=st.binary(max_size=256))
def test_random_bytes_after_a_request_head(parser_backend: str, data: st.DataObject, raw: bytes) -> None:
    """Garbage where a body, a chunk or the next request is expected."""
    prefix = data.draw(
        st.sampled_from([
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
        ])
    )  # fmt: skip
    check_stream(parser_backend, data.draw(cut(prefix + raw)), TINY_LIMITS)


@FUZZ
@given(data=st.data(), raw=mutated_requests())
def test_mutated_requests(
    parser_backend: str, limits: RequestLimits, data: st.DataObject, raw: bytes
) -> None:
    check_stream(parser_backend, data.draw(cut(raw)), limits)


@FUZZ
@given(data=st.data(), raw=mutated_requests())
def test_cut_points_do_not_matter(parser_backend: str, data: st.DataObject, raw: bytes) -> None:
    """The same bytes give the same requests and the same status, however they are cut."""
    whole = replay(parser_backend, [raw])
    pieces = replay(parser_backend, data.draw(cut(raw)))
    assert pieces.requests == whole.requests
    assert pieces.status == whole.status, (whole.message, pieces.message)
