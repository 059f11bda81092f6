"""The uwsgi front end, in memory: packets built by hand, fed whole and a byte at a time."""

from __future__ import annotations

import io

import pytest

from aiowsgi.errors import ProtocolError
from aiowsgi.http.connection import ReadState, RequestLimits
from aiowsgi.http.events import END_OF_REQUEST, BodyChunk, Event, RequestHead
from aiowsgi.http.parser import HeadLimits
from aiowsgi.http.uwsgi import UwsgiConnection, encode_packet
from aiowsgi.trusted import TrustedProxies
from aiowsgi.wsgi.environ import request_environ, server_environ

LIMITS = RequestLimits(head=HeadLimits(request_line=8190, field_count=100, field_size=8190), body=1000)

# What nginx sends with the stock uwsgi_params for "POST /app/a%20b?x=1" with a body of 5 bytes.
NGINX_VARS = [
    (b"QUERY_STRING", b"x=1"),
    (b"REQUEST_METHOD", b"POST"),
    (b"CONTENT_TYPE", b"text/plain"),
    (b"CONTENT_LENGTH", b"5"),
    (b"REQUEST_URI", b"/app/a%20b?x=1"),
    (b"PATH_INFO", b"/app/a b"),
    (b"DOCUMENT_ROOT", b"/usr/share/nginx/html"),
    (b"SERVER_PROTOCOL", b"HTTP/1.1"),
    (b"REQUEST_SCHEME", b"http"),
    (b"REMOTE_ADDR", b"192.0.2.7"),
    (b"REMOTE_PORT", b"50123"),
    (b"SERVER_PORT", b"8080"),
    (b"SERVER_NAME", b"example.com"),
    (b"HTTP_HOST", b"example.com"),
    (b"HTTP_X_FORWARDED_FOR", b"203.0.113.9"),
    (b"HTTP_COOKIE", b"a=1"),
    (b"HTTP_COOKIE", b"b=2"),
    (b"HTTP_ACCEPT", b"text/html"),
    (b"HTTP_ACCEPT", b"text/plain"),
]


def feed(
    packet: bytes, one_byte_at_a_time: bool
) -> tuple[UwsgiConnection, list[Event], ProtocolError | None]:
    conn = UwsgiConnection(LIMITS)
    events: list[Event] = []
    pieces = [packet[i : i + 1] for i in range(len(packet))] if one_byte_at_a_time else [packet]
    for piece in pieces:
        got, error = conn.receive_data(piece)
        events += got
        if error is not None:
            return conn, events, error
    return conn, events, None


def body_of(events: list[Event]) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, BodyChunk))


@pytest.mark.parametrize("bytewise", [False, True])
def test_request_with_body(bytewise: bool) -> None:
    conn, events, error = feed(encode_packet(NGINX_VARS, b"hello"), bytewise)
    assert error is None
    head = events[0]
    assert isinstance(head, RequestHead)
    assert (head.method, head.target, head.http_version, head.keep_alive) == (
        "POST",
        b"/app/a%20b?x=1",
        "1.0",
        False,
    )
    assert head.content_length == 5
    assert not head.chunked
    assert not head.expect_continue
    assert (b"content-type", b"text/plain") in head.headers
    assert (
        b"x-forwarded-for",
        b"203.0.113.9",
    ) in head.headers
    assert head.params == tuple(NGINX_VARS)
    assert body_of(events) == b"hello"
    assert events[-1] is END_OF_REQUEST
    assert conn.state is ReadState.MUST_CLOSE
    assert conn.receive_data(b"more") == ([], None)  # no pipelining: ignored


def test_states_and_body_remaining() -> None:
    conn = UwsgiConnection(LIMITS)
    packet = encode_packet(NGINX_VARS, b"hello")
    assert conn.state is ReadState.IDLE
    assert conn.receive_data(packet[:3]) == ([], None)
    assert conn.state is ReadState.HEAD  # the header timeout runs from the first byte
    events, _ = conn.receive_data(packet[3:-3])
    assert conn.state is ReadState.BODY
    assert conn.body_remaining == 3
    assert body_of(events) == b"he"
    events, _ = conn.receive_data(packet[-3:] + b"junk")
    assert body_of(events) == b"llo"
    assert events[-1] is END_OF_REQUEST


def test_get_without_body_ends_with_the_vars() -> None:
    vars_ = [(b"REQUEST_METHOD", b"GET"), (b"REQUEST_URI", b"/"), (b"CONTENT_LENGTH", b"")]
    conn, events, error = feed(encode_packet(vars_), False)
    assert error is None
    assert len(events) == 2
    assert events[1] is END_OF_REQUEST
    assert isinstance(events[0], RequestHead)
    assert events[0].content_length is None


def test_target_from_path_info_when_no_request_uri() -> None:
    vars_ = [(b"REQUEST_METHOD", b"GET"), (b"PATH_INFO", b"/p"), (b"QUERY_STRING", b"q=1")]
    _, events, error = feed(encode_packet(vars_), False)
    assert error is None
    assert isinstance(events[0], RequestHead)
    assert events[0].target == b"/p?q=1"


def _raw(modifier1: int, data: bytes, modifier2: int = 0) -> bytes:
    return bytes((modifier1,)) + len(data).to_bytes(2, "little") + bytes((modifier2,)) + data


GOOD = [(b"REQUEST_METHOD", b"GET"), (b"REQUEST_URI", b"/")]
GOOD_DATA = encode_packet(GOOD)[4:]

MALFORMED = {
    "modifier1 not WSGI": (_raw(5, GOOD_DATA), 400),
    "modifier2 not 0": (_raw(0, GOOD_DATA, 1), 400),
    "truncated key size": (_raw(0, GOOD_DATA + b"\x05"), 400),
    "key overruns": (_raw(0, GOOD_DATA + b"\x09\x00ABC"), 400),
    "value size missing": (_raw(0, GOOD_DATA + b"\x01\x00A"), 400),
    "value overruns": (_raw(0, GOOD_DATA + b"\x01\x00A\x09\x00xy"), 400),
    "empty key": (_raw(0, GOOD_DATA + b"\x00\x00\x00\x00"), 400),
    "no method": (encode_packet([(b"REQUEST_URI", b"/")]), 400),
    "unknown method": (encode_packet([(b"REQUEST_METHOD", b"BREW"), (b"REQUEST_URI", b"/")]), 400),
    "CONNECT": (encode_packet([(b"REQUEST_METHOD", b"CONNECT"), (b"REQUEST_URI", b"/")]), 501),
    "no target": (encode_packet([(b"REQUEST_METHOD", b"GET")]), 400),
    "bad length": (encode_packet([*GOOD, (b"CONTENT_LENGTH", b"-1")]), 400),
    "long length": (encode_packet([*GOOD, (b"CONTENT_LENGTH", b"9" * 30)]), 400),
    "control in header": (encode_packet([*GOOD, (b"HTTP_X", b"a\nb")]), 400),
    "body over the limit": (encode_packet([*GOOD, (b"CONTENT_LENGTH", b"1001")]), 413),
    "var too large": (encode_packet([*GOOD, (b"HTTP_X", b"a" * 9000)]), 431),
    "too many vars": (encode_packet(GOOD + [(b"HTTP_X%d" % i, b"1") for i in range(200)]), 431),
}


@pytest.mark.parametrize("bytewise", [False, True])
@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed(name: str, bytewise: bool) -> None:
    packet, status = MALFORMED[name]
    conn, events, error = feed(packet, bytewise)
    assert error is not None
    assert error.status_hint == status
    assert not events
    assert conn.state is ReadState.ERROR
    assert conn.receive_data(b"x") == ([], None)


def test_body_at_the_limit_is_accepted() -> None:
    _, events, error = feed(encode_packet([*GOOD, (b"CONTENT_LENGTH", b"1000")], b"x" * 1000), False)
    assert error is None
    assert body_of(events) == b"x" * 1000


def environ_for(vars_: list[tuple[bytes, bytes]], root_path: str = "") -> dict[str, object]:
    _, events, error = feed(
        encode_packet(vars_, b"hello" if (b"CONTENT_LENGTH", b"5") in vars_ else b""), False
    )
    assert error is None
    assert isinstance(events[0], RequestHead)
    base = server_environ("http", root_path, object)
    # The peer is a trusted proxy, and still its X-Forwarded-For is not believed: the vars speak for it.
    return request_environ(
        base, ("127.0.0.1", 9000), ("127.0.0.1", 40000), events[0], io.BytesIO(), 5, TrustedProxies(["*"])
    )


def test_environ_from_nginx_vars() -> None:
    environ = environ_for(NGINX_VARS)
    expected = {
        "REQUEST_METHOD": "POST",
        "REQUEST_URI": "/app/a%20b?x=1",
        "PATH_INFO": "/app/a b",
        "QUERY_STRING": "x=1",
        "CONTENT_TYPE": "text/plain",
        "CONTENT_LENGTH": "5",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.7",
        "REMOTE_PORT": "50123",
        "SERVER_NAME": "example.com",
        "SERVER_PORT": "8080",
        "SCRIPT_NAME": "",
        "HTTP_HOST": "example.com",
        "HTTP_X_FORWARDED_FOR": "203.0.113.9",
        "HTTP_COOKIE": "a=1; b=2",
        "HTTP_ACCEPT": "text/html, text/plain",
        "wsgi.url_scheme": "http",
    }
    assert {k: environ[k] for k in expected} == expected
    assert "wsgi.input" in environ
    assert environ["wsgi.version"] == (1, 0)


def test_environ_https_root_path_and_non_cgi_keys() -> None:
    vars_ = [*GOOD[:1], (b"REQUEST_URI", b"/app/x"), (b"PATH_INFO", b"/app/x"), (b"HTTPS", b"on")]
    vars_ += [(b"wsgi.url_scheme", b"ftp"), (b"CONTENT_TYPE", b""), (b"CONTENT_LENGTH", b"")]
    environ = environ_for(vars_, root_path="/app")
    assert environ["wsgi.url_scheme"] == "https"
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app", "/x")
    assert "CONTENT_TYPE" not in environ
    assert "CONTENT_LENGTH" not in environ
    # What the front end leaves out comes from the target and the socket.
    assert (environ["QUERY_STRING"], environ["REMOTE_ADDR"], environ["SERVER_PORT"]) == (
        "",
        "127.0.0.1",
        "9000",
    )


def test_environ_script_name_from_the_front_end_wins() -> None:
    vars_ = [*GOOD[:1], (b"REQUEST_URI", b"/app/x"), (b"SCRIPT_NAME", b"/app"), (b"PATH_INFO", b"/x")]
    environ = environ_for(vars_, root_path="/other")
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app", "/x")
