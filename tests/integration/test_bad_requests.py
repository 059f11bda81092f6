"""Bad input over real sockets, once per parser: a clear status, Connection: close, the connection closed,
and one line on the aiowsgi.error logger that names the problem."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.apps import http_echo
from tests.integration._http_helpers import chunked, error_lines, read_all, read_head
from tests.support import ResponseReader, get, running_server


@dataclass(frozen=True)
class Case:
    raw: bytes
    status: int
    words: str  # a word the log line must contain (case-insensitive)
    options: dict[str, Any] = field(default_factory=dict)


CASES = {
    "garbage": Case(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 400, "malformed"),
    "missing-host": Case(b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, "host"),
    "two-hosts": Case(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "host"),
    "content-length-and-chunked": Case(
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked(b"hello"),
        400,
        "transfer-encoding",
    ),
    "bad-chunk-size": Case(
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        400,
        "malformed",
    ),
    "chunk-without-crlf": Case(
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        400,
        "malformed",
    ),
    "bad-content-length": Case(
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5x\r\n\r\nhello", 400, "content"
    ),
    "request-line-too-long": Case(get("/" + "a" * 200), 414, "too long", {"limit_request_line": 64}),
    "too-many-fields": Case(
        get("/", extra="".join(f"X-Field-{i}: {i}\r\n" for i in range(10))),
        431,
        "too many",
        {"limit_request_fields": 5},
    ),
    "field-too-large": Case(
        get("/", extra=f"X-Big: {'b' * 200}\r\n"), 431, "large", {"limit_request_field_size": 64}
    ),
    "chunked-body-over-the-limit": Case(
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(b"a" * 60, b"b" * 60),
        413,
        "limit",
        {"limit_request_body": 100},
    ),
    "http-2-request-line": Case(b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505, "not supported"),
    "gzip-transfer-coding": Case(
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "transfer"
    ),
    "gzip-then-chunked": Case(
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + chunked(b"x"),
        501,
        "transfer",
    ),
    "connect": Case(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501, "connect"),
}


@pytest.fixture
def error_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="aiowsgi.error")
    return caplog


def check_rejected(reader: ResponseReader, case: Case, caplog: pytest.LogCaptureFixture) -> None:
    response = reader.read_response()
    assert response.status == case.status, response.body
    assert response.header("connection") == "close"
    assert response.header("content-length") == str(len(response.body))
    assert reader.at_eof(), "the connection must be closed after an error response"
    lines = error_lines(caplog)
    assert len(lines) == 1, lines
    assert str(case.status) in lines[0]
    assert case.words in lines[0].lower(), lines[0]


@pytest.mark.parametrize("name", list(CASES))
def test_bad_request_is_answered_and_closed(
    name: str, parser_backend: str, error_log: pytest.LogCaptureFixture
) -> None:
    case = CASES[name]
    with (
        running_server(http_echo.app, http=parser_backend, **case.options) as server,
        server.connect() as sock,
    ):
        sock.sendall(case.raw)
        check_rejected(ResponseReader(sock), case, error_log)


@pytest.mark.parametrize(
    "name", ["garbage", "missing-host", "bad-chunk-size", "http-2-request-line", "connect"]
)
def test_good_request_pipelined_before_a_bad_one_is_answered_first(
    name: str, parser_backend: str, error_log: pytest.LogCaptureFixture
) -> None:
    case = CASES[name]
    good = b"POST /good HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody"
    with (
        running_server(http_echo.app, http=parser_backend, **case.options) as server,
        server.connect() as sock,
    ):
        sock.sendall(good + case.raw)
        reader = ResponseReader(sock)
        first = reader.read_response()
        assert first.status == 200
        assert first.header("x-path") == "/good"
        assert first.body == b"body"
        check_rejected(reader, case, error_log)


def test_declared_body_over_the_limit_is_refused_before_it_is_sent(
    parser_backend: str, error_log: pytest.LogCaptureFixture
) -> None:
    case = Case(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n", 413, "limit")
    with running_server(http_echo.app, http=parser_backend, limit_request_body=100) as server:
        with server.connect() as sock:
            sock.sendall(case.raw)  # the head only: the answer must not wait for the body
            check_rejected(ResponseReader(sock), case, error_log)
        # A body at the limit is still accepted.
        with server.connect() as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n" + b"x" * 100)
            assert ResponseReader(sock).read_response().body == b"x" * 100


def test_declared_body_over_the_limit_with_expect_continue_gets_413_not_100(
    parser_backend: str, error_log: pytest.LogCaptureFixture
) -> None:
    raw = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n"
    with running_server(http_echo.app, http=parser_backend, limit_request_body=100) as server:
        with server.connect() as sock:
            sock.sendall(raw)
            reader = ResponseReader(sock)
            assert read_head(reader).startswith(b"HTTP/1.1 413 ")
            read_all(sock)  # the rest of the 413 (if not read yet), then EOF; a hang would time out
