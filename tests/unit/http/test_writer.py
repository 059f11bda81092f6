"""The response writer: start_response checks, head encoding, chunk framing, error pages and the Date line."""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime
from http import HTTPStatus

import pytest

from aiowsgi.errors import InvalidResponse
from aiowsgi.http import writer
from aiowsgi.http.connection import BodyFraming
from aiowsgi.http.writer import (
    CONTINUE_RESPONSE,
    LAST_CHUNK,
    SERVER_NAME,
    ResponseHead,
    check_response_head,
    chunk_parts,
    encode_head,
    error_response,
    http_date_line,
)

DATE_LINE = re.compile(rb"Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n")


def head_lines(raw: bytes) -> list[bytes]:
    """The header lines of an encoded head, without the Date line (it changes every second)."""
    assert raw.endswith(b"\r\n\r\n")
    return [line for line in raw[:-4].split(b"\r\n") if not line.startswith(b"Date: ")]


# check_response_head: what start_response accepts


def test_accepts_a_plain_response() -> None:
    head = check_response_head("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    assert head == ResponseHead(
        status="200 OK",
        status_code=200,
        header_block="Content-Type: text/plain\r\nContent-Length: 5\r\n",
        content_length=5,
        close_requested=False,
        has_server=False,
        has_date=False,
    )


@pytest.mark.parametrize(
    "status",
    ["200 OK", "404 Not Found", "599 Whatever", "200 ", "500 caf\xe9", "418 I'm a teapot", "200 a\tb"],
)
def test_good_status(status: str) -> None:
    assert check_response_head(status, []).status == status


@pytest.mark.parametrize(
    "status",
    [
        "200",  # PEP 3333: a code, a space and a reason phrase
        "OK",
        "20 OK",
        "2000 OK",
        "600 Too High",
        "100 Continue",  # interim responses are the server's business
        "101 Switching Protocols",
        "099 Low",
        " 200 OK",
        "200\tOK",
        "200 OK\r\nX-Injected: 1",
        "200 OK\n",
        "200 OK\x00",
        "200 \u2603",  # not latin-1
        "\uff12\uff10\uff10 OK",  # full-width digits
    ],
)
def test_bad_status(status: str) -> None:
    with pytest.raises(InvalidResponse):
        check_response_head(status, [])


@pytest.mark.parametrize("status", [b"200 OK", 200, None, ("200", "OK")])
def test_status_must_be_str(status: object) -> None:
    with pytest.raises(InvalidResponse, match="status must be a str"):
        check_response_head(status, [])


@pytest.mark.parametrize(
    "headers",
    [
        (("Content-Type", "text/plain"),),  # a tuple, not a list
        {"Content-Type": "text/plain"},
        None,
        [["Content-Type", "text/plain"]],  # a list, not a tuple
        [("Content-Type",)],
        [("Content-Type", "text/plain", "extra")],
        [(b"Content-Type", "text/plain")],
        [("Content-Type", b"text/plain")],
        [("X-Number", 5)],
    ],
)
def test_headers_must_be_a_list_of_str_tuples(headers: object) -> None:
    with pytest.raises(InvalidResponse):
        check_response_head("200 OK", headers)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-A", "a\r\nSet-Cookie: evil=1"),  # response splitting through a value
        ("X-A", "a\nb"),
        ("X-A", "a\rb"),
        ("X-A", "a\x00b"),
        ("X-A", "a\x7fb"),
        ("X-A", "a\x1bb"),
        ("X-A\r\nSet-Cookie", "evil=1"),  # ... through a name
        ("X A", "v"),
        ("X-A: b", "v"),  # a name that carries ": " into the line
        ("X-A:", "v"),
        ("", "v"),
        ("X-\xe9", "v"),
        ("X-A", "\u2603"),  # not latin-1
        ("X-\u2603", "v"),
    ],
)
def test_header_injection_and_bad_characters(name: str, value: str) -> None:
    with pytest.raises(InvalidResponse):
        check_response_head("200 OK", [("Content-Type", "text/plain"), (name, value)])


def test_a_refused_head_is_refused_every_time() -> None:
    headers = [("Content-Type", "text/plain"), ("X-A", "a\r\nSet-Cookie: evil=1")]
    for _ in range(2):
        with pytest.raises(InvalidResponse):
            check_response_head("200 OK", headers)


def test_a_head_checked_before_comes_from_the_memo() -> None:
    first = check_response_head("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    again = check_response_head("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    assert again is first
    other = check_response_head("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    assert other.content_length == 3


def test_unhashable_headers_are_checked_not_memoized() -> None:
    with pytest.raises(InvalidResponse, match="tuple"):
        check_response_head("200 OK", [("Content-Type", "text/plain"), ["X-A", "b"]])


def test_the_memo_is_bounded() -> None:
    for number in range(writer._CHECKED_HEADS_LIMIT * 2):
        check_response_head("200 OK", [("X-Number", str(number))])
    assert 0 < len(writer._checked_heads) <= writer._CHECKED_HEADS_LIMIT


@pytest.mark.parametrize(
    "value", ["", "a b", "\tleading tab", "trailing space ", "caf\xe9", 'quoted "x", y=1; z', "a:b"]
)
def test_header_values_that_are_allowed(value: str) -> None:
    head = check_response_head("200 OK", [("X-A", value)])
    assert head.header_block == f"X-A: {value}\r\n"


@pytest.mark.parametrize(
    "name",
    [
        "Transfer-Encoding",
        "transfer-encoding",
        "Keep-Alive",
        "Upgrade",
        "TE",
        "Trailer",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Connection",
    ],
)
def test_hop_by_hop_headers_are_refused(name: str) -> None:
    with pytest.raises(InvalidResponse, match="hop-by-hop"):
        check_response_head("200 OK", [(name, "x")])


@pytest.mark.parametrize(
    ("value", "close"), [("close", True), ("Close", True), ("keep-alive, close", True), ("keep-alive", False)]
)
def test_connection_header_is_a_request_not_a_header(value: str, close: bool) -> None:
    head = check_response_head("200 OK", [("Connection", value), ("X-A", "1")])
    assert head.close_requested is close
    assert head.header_block == "X-A: 1\r\n"  # the server writes its own Connection header


@pytest.mark.parametrize("value", ["", "-1", "+5", "5 ", " 5", "0x10", "1e3", "\u0665", "\u00b2", "five"])
def test_bad_content_length(value: str) -> None:
    with pytest.raises(InvalidResponse, match="Content-Length"):
        check_response_head("200 OK", [("Content-Length", value)])


def test_two_different_content_lengths_are_refused() -> None:
    with pytest.raises(InvalidResponse, match="Content-Length"):
        check_response_head("200 OK", [("Content-Length", "5"), ("content-length", "6")])


def test_the_same_content_length_twice_is_sent_once() -> None:
    head = check_response_head("200 OK", [("Content-Length", "5"), ("content-length", "05")])
    assert head.content_length == 5
    assert head.header_block == "Content-Length: 5\r\n"


def test_204_drops_content_length() -> None:
    head = check_response_head("204 No Content", [("Content-Length", "0"), ("X-A", "1")])
    assert head.header_block == "X-A: 1\r\n"
    raw = encode_head(head, BodyFraming.NONE, True, "1.1", True, inferred_length=0)
    assert b"content-length" not in raw.lower()


def test_304_keeps_content_length() -> None:
    head = check_response_head("304 Not Modified", [("Content-Length", "100")])
    assert head.content_length == 100
    assert "Content-Length: 100\r\n" in head.header_block


@pytest.mark.parametrize(("name", "attribute"), [("Server", "has_server"), ("date", "has_date")])
def test_server_and_date_are_noticed(name: str, attribute: str) -> None:
    head = check_response_head("200 OK", [(name, "x")])
    assert getattr(head, attribute) is True
    assert head.header_block == f"{name}: x\r\n"


# encode_head: the bytes on the wire


def test_encode_head_length_keep_alive() -> None:
    head = check_response_head("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    raw = encode_head(head, BodyFraming.LENGTH, True, "1.1", True)
    assert raw.startswith(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n")
    assert head_lines(raw) == [
        b"HTTP/1.1 200 OK",
        b"Content-Type: text/plain",
        b"Content-Length: 5",
        b"Server: " + SERVER_NAME.encode(),
    ]
    assert len(DATE_LINE.findall(raw)) == 1


def test_encode_head_chunked() -> None:
    head = check_response_head("200 OK", [("Content-Type", "text/plain")])
    raw = encode_head(head, BodyFraming.CHUNKED, True, "1.1", False)
    assert head_lines(raw) == [b"HTTP/1.1 200 OK", b"Content-Type: text/plain", b"Transfer-Encoding: chunked"]


def test_encode_head_close() -> None:
    head = check_response_head("200 OK", [("Connection", "close"), ("Content-Length", "0")])
    raw = encode_head(head, BodyFraming.LENGTH, False, "1.1", False)
    assert head_lines(raw) == [b"HTTP/1.1 200 OK", b"Content-Length: 0", b"Connection: close"]


def test_encode_head_http10() -> None:
    head = check_response_head("200 OK", [("Content-Length", "2")])
    kept = encode_head(head, BodyFraming.LENGTH, True, "1.0", False)
    assert head_lines(kept) == [b"HTTP/1.1 200 OK", b"Content-Length: 2", b"Connection: keep-alive"]
    closed = encode_head(check_response_head("200 OK", []), BodyFraming.UNTIL_CLOSE, False, "1.0", False)
    assert head_lines(closed) == [b"HTTP/1.1 200 OK", b"Connection: close"]


def test_encode_head_inferred_length() -> None:
    head = check_response_head("200 OK", [])
    raw = encode_head(head, BodyFraming.LENGTH, True, "1.1", False, inferred_length=12)
    assert head_lines(raw) == [b"HTTP/1.1 200 OK", b"Content-Length: 12"]
    # The application's own Content-Length wins over the inferred one, and is not repeated.
    own = check_response_head("200 OK", [("Content-Length", "3")])
    raw = encode_head(own, BodyFraming.LENGTH, True, "1.1", False, inferred_length=12)
    assert head_lines(raw) == [b"HTTP/1.1 200 OK", b"Content-Length: 3"]


def test_encode_head_keeps_the_applications_date_and_server() -> None:
    head = check_response_head(
        "200 OK", [("Date", "Sun, 06 Nov 1994 08:49:37 GMT"), ("Server", "mine"), ("Content-Length", "0")]
    )
    raw = encode_head(head, BodyFraming.LENGTH, True, "1.1", True)
    assert raw.count(b"Date: ") == 1
    assert b"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n" in raw
    assert raw.count(b"Server: ") == 1
    assert b"Server: mine\r\n" in raw


def test_encode_head_latin1() -> None:
    head = check_response_head("200 Caf\xe9", [("X-A", "\xe9\xff")])
    raw = encode_head(head, BodyFraming.NONE, True, "1.1", False)
    assert raw.startswith(b"HTTP/1.1 200 Caf\xe9\r\nX-A: \xe9\xff\r\n")


def test_encode_head_refuses_non_latin1() -> None:
    """A head that skipped check_response_head still cannot put non-latin-1 text on the wire."""
    head = ResponseHead("200 \u2603", 200, "", None, False, False, False)
    with pytest.raises(InvalidResponse, match="latin-1"):
        encode_head(head, BodyFraming.NONE, True, "1.1", False)


# Chunks and fixed responses


@pytest.mark.parametrize(
    ("data", "wire"),
    [
        (b"a", b"1\r\na\r\n"),
        (b"hello", b"5\r\nhello\r\n"),
        (b"x" * 16, b"10\r\n" + b"x" * 16 + b"\r\n"),
        (b"\r\n0\r\n\r\n", b"7\r\n\r\n0\r\n\r\n\r\n"),
        (b"y" * 0x1234, b"1234\r\n" + b"y" * 0x1234 + b"\r\n"),
    ],
)
def test_chunk_parts(data: bytes, wire: bytes) -> None:
    assert b"".join(chunk_parts(data)) == wire


def test_fixed_responses() -> None:
    assert LAST_CHUNK == b"0\r\n\r\n"
    assert CONTINUE_RESPONSE == b"HTTP/1.1 100 Continue\r\n\r\n"


@pytest.mark.parametrize("status", [400, 408, 413, 414, 431, 500, 501, 503, 505])
def test_error_response(status: int) -> None:
    raw = error_response(status)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0].startswith(b"HTTP/1.1 %d " % status)
    fields = dict(line.split(b": ", 1) for line in lines[1:])
    assert fields[b"Content-Length"] == str(len(body)).encode()
    assert fields[b"Connection"] == b"close"
    assert fields[b"Content-Type"] == b"text/plain; charset=utf-8"
    assert fields[b"Server"] == SERVER_NAME.encode()
    assert DATE_LINE.fullmatch(b"Date: " + fields[b"Date"] + b"\r\n")
    assert (b"Retry-After" in fields) is (status == 503)
    assert body == f"{status} {HTTPStatus(status).phrase}\n".encode()


def test_error_response_without_server_header() -> None:
    assert b"Server:" not in error_response(400, server_header=False)


def test_http_date_line() -> None:
    before = time.time()
    line = http_date_line()
    after = time.time()
    assert DATE_LINE.fullmatch(line.encode("latin-1"))
    when = parsedate_to_datetime(line[len("Date: ") : -2]).timestamp()
    assert int(before) <= when <= after


def test_http_date_line_follows_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer.time, "time", lambda: 784111777.25)
    assert http_date_line() == "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    monkeypatch.setattr(writer.time, "time", lambda: 784111777.75)
    assert http_date_line() == "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    monkeypatch.setattr(writer.time, "time", lambda: 784111778.0)
    assert http_date_line() == "Date: Sun, 06 Nov 1994 08:49:38 GMT\r\n"
