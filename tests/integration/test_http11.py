"""HTTP/1.1 semantics over real sockets, once per parser: keep-alive, pipelining, framing, 100-continue,
HEAD/204/304, request targets, half-close and the keep-alive and header timeouts."""

from __future__ import annotations

import socket
import threading
import time
from email.utils import parsedate_to_datetime

from tests.apps import http_echo, http_list_one, http_status, http_stream
from tests.integration._http_helpers import chunked, nothing_arrives, read_head
from tests.support import ResponseReader, exchange, get, request, running_server


def post(path: str, body: bytes, extra: str = "") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode("latin-1") + body


# Persistent connections ----------------------------------------------------------------------------


def test_several_requests_on_one_connection(parser_backend: str) -> None:
    with running_server(http_echo.app, http=parser_backend) as server, server.connect() as sock:
        reader = ResponseReader(sock)
        for index in range(5):
            sock.sendall(post(f"/r{index}", b"body %d" % index))
            response = reader.read_response()
            assert response.status == 200
            assert response.header("x-path") == f"/r{index}"
            assert response.body == b"body %d" % index
            assert response.header("connection") is None


def test_http10_without_keep_alive_is_closed_after_the_response(parser_backend: str) -> None:
    with running_server(http_echo.app, http=parser_backend) as server, server.connect() as sock:
        sock.sendall(b"GET /old HTTP/1.0\r\n\r\n")
        reader = ResponseReader(sock)
        response = reader.read_response()
        assert response.status == 200
        assert response.header("x-protocol") == "HTTP/1.0"
        assert response.header("connection") == "close"
        assert reader.at_eof()


def test_a_higher_minor_version_is_served_as_http11(parser_backend: str) -> None:
    # RFC 9110 section 2.5: HTTP/1.2 (or 1.9) is answered as the highest 1.x we implement, not with a 505.
    with running_server(http_echo.app, http=parser_backend) as server, server.connect() as sock:
        reader = ResponseReader(sock)
        for version in ("1.2", "1.9"):
            sock.sendall(get(f"/v{version}", version=version))
            response = reader.read_response()
            assert (response.status, response.version) == (200, "HTTP/1.1")
            assert response.header("x-protocol") == "HTTP/1.1"
            assert response.header("connection") is None  # kept alive, as for 1.1
        sock.sendall(get("/major", version="2.1"))
        assert reader.read_response().status == 505


def test_http10_with_keep_alive_stays_open(parser_backend: str) -> None:
    raw = get("/a", version="1.0", extra="Connection: keep-alive\r\n")
    with running_server(http_echo.app, http=parser_backend) as server, server.connect() as sock:
        reader = ResponseReader(sock)
        for _ in range(3):
            sock.sendall(raw)
            response = reader.read_response()
            assert response.status == 200
            assert response.header("connection") == "keep-alive"
        sock.sendall(get("/last", version="1.0"))
        assert reader.read_response().header("connection") == "close"
        assert reader.at_eof()


def test_connection_close_from_the_client_closes_after_the_response(parser_backend: str) -> None:
    with running_server(http_echo.app, http=parser_backend) as server, server.connect() as sock:
        sock.sendall(get("/", extra="Connection: close\r\n"))
        reader = ResponseReader(sock)
        assert reader.read_response().header("connection") == "close"
        assert reader.at_eof()


# Pipelining --------------------------------------------------------------------------------------


def test_pipelined_requests_with_bodies_are_answered_in_order(parser_backend: str) -> None:
    bodies = [b"first", b"", b"x" * 70_000, b"fourth\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n"]
    raw = b"".join(post(f"/p{i}", body) for i, body in enumerate(bodies)) + get("/p4")
    with running_server(http_echo.app, http=parser_backend) as server:
        responses = exchange(server, raw, count=5)
    assert [r.header("x-path") for r in responses] == ["/p0", "/p1", "/p2", "/p3", "/p4"]
    assert [r.body for r in responses] == [*bodies, b""]
    assert [r.header("x-method") for r in responses] == ["POST"] * 4 + ["GET"]


def test_many_pipelined_requests_are_all_answered_in_order(parser_backend: str) -> None:
    # More than the server reads ahead (it pauses reading, then resumes as the queue drains).
    count = 40
    raw = b"".join(post(f"/m{i}", b"%d" % i) for i in range(count))
    with running_server(http_echo.app, http=parser_backend) as server:
        responses = exchange(server, raw, count=count)
    assert [r.header("x-path") for r in responses] == [f"/m{i}" for i in range(count)]
    assert [r.body for r in responses] == [b"%d" % i for i in range(count)]


def test_pipelined_requests_after_a_half_close_are_all_answered(parser_backend: str) -> None:
    raw = get("/h0") + post("/h1", b"one") + get("/h2")
    with running_server(http_echo.app, http=parser_backend) as server, server.connect() as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        reader = ResponseReader(sock)
        responses = [reader.read_response() for _ in range(3)]
        assert [r.header("x-path") for r in responses] == ["/h0", "/h1", "/h2"]
        assert responses[1].body == b"one"
        assert reader.at_eof()


# Request bodies ----------------------------------------------------------------------------------


def test_chunked_body_with_extensions_and_trailers_reaches_the_app_dechunked(parser_backend: str) -> None:
    body = chunked(b"hello", b" chunked", b" world", trailers=b"X-Checksum: abc\r\nX-Other: 1\r\n")
    body = body.replace(b"5\r\n", b"5;ext=1\r\n", 1).replace(b"8\r\n", b'8;name="quoted value"\r\n', 1)
    raw = b"POST /c HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    with running_server(http_echo.app, http=parser_backend) as server:
        first, second = exchange(server, raw + get("/after"), count=2)
    assert first.status == 200
    assert first.body == b"hello chunked world"
    assert first.header("x-content-length") == str(len(b"hello chunked world"))
    assert first.header("x-transfer-encoding") == ""
    assert second.header("x-path") == "/after"


# Response framing --------------------------------------------------------------------------------


def test_response_without_length_is_chunked_on_http11(parser_backend: str) -> None:
    with running_server(http_stream.app, http=parser_backend) as server, server.connect() as sock:
        sock.sendall(get("/?n=4"))
        reader = ResponseReader(sock)
        response = reader.read_response()
        assert response.header("transfer-encoding") == "chunked"
        assert response.header("content-length") is None
        assert response.body == http_stream.expected(4)
        sock.sendall(get("/?n=1"))  # still open after the last chunk
        assert reader.read_response().body == http_stream.expected(1)


def test_response_without_length_is_close_delimited_on_http10(parser_backend: str) -> None:
    with running_server(http_stream.app, http=parser_backend) as server, server.connect() as sock:
        sock.sendall(get("/?n=4", version="1.0", extra="Connection: keep-alive\r\n"))
        reader = ResponseReader(sock)
        response = reader.read_response()  # no length and no chunking: reads to EOF
        assert response.header("transfer-encoding") is None
        assert response.header("content-length") is None
        assert response.header("connection") == "close"
        assert response.body == http_stream.expected(4)


def test_list_of_one_bytes_gets_content_length(parser_backend: str) -> None:
    with running_server(http_list_one.app, http=parser_backend) as server:
        response = request(server, get("/"))
    assert response.header("content-length") == str(len(http_list_one.BODY))
    assert response.header("transfer-encoding") is None
    assert response.body == http_list_one.BODY


# HEAD, 204, 304 ----------------------------------------------------------------------------------


def test_head_gets_headers_and_no_body_and_the_connection_stays_usable(parser_backend: str) -> None:
    with running_server(http_list_one.app, http=parser_backend) as server, server.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(b"HEAD / HTTP/1.1\r\nHost: test\r\n\r\n")
        head = reader.read_response("HEAD")
        assert head.status == 200
        assert head.header("content-length") == str(len(http_list_one.BODY))
        sock.sendall(get("/"))
        # Had the HEAD response carried a body, this would read it as the next status line.
        assert reader.read_response().body == http_list_one.BODY


def test_head_of_a_streamed_response_sends_no_body(parser_backend: str) -> None:
    with running_server(http_stream.app, http=parser_backend) as server, server.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(b"HEAD /?n=5 HTTP/1.1\r\nHost: test\r\n\r\n" + get("/?n=2"))
        head = reader.read_response("HEAD")
        assert head.status == 200
        assert head.body == b""
        following = reader.read_response()
        assert following.body == http_stream.expected(2)
        sock.sendall(b"HEAD /?n=5 HTTP/1.1\r\nHost: test\r\n\r\n")
        reader.read_response("HEAD")
        assert reader.buffer == b""
        assert nothing_arrives(sock, 0.1)


def test_204_and_304_never_carry_a_body(parser_backend: str) -> None:
    raw = get("/204") + get("/304") + get("/200")
    with running_server(http_status.app, http=parser_backend) as server:
        no_content, not_modified, ok = exchange(server, raw, count=3)
    assert no_content.status == 204
    assert not_modified.status == 304
    for response in (no_content, not_modified):
        assert response.header("transfer-encoding") is None
        assert response.header("content-length") in (None, "0")
    assert ok.status == 200
    assert ok.body == http_status.BODY


# 100-continue ------------------------------------------------------------------------------------


def test_expect_100_continue_is_answered_before_the_body_is_sent(parser_backend: str) -> None:
    head = b"POST /up HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n"
    with running_server(http_echo.app, http=parser_backend) as server, server.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(head)
        assert read_head(reader) == b"HTTP/1.1 100 Continue"
        sock.sendall(b"hello world")
        response = reader.read_response()
        assert response.status == 200
        assert response.body == b"hello world"
        # And again on the same connection: each request gets its own 100.
        sock.sendall(head)
        assert read_head(reader) == b"HTTP/1.1 100 Continue"
        sock.sendall(b"second body")
        assert reader.read_response().body == b"second body"


def test_expect_100_continue_waits_for_the_response_before_it(parser_backend: str) -> None:
    head = b"POST /up HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    with running_server(http_echo.app, http=parser_backend) as server, server.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(post("/first", b"1st") + head)
        first = reader.read_response()  # a 100 sent before this response would be lost in it
        assert first.header("x-path") == "/first"
        assert read_head(reader) == b"HTTP/1.1 100 Continue"
        sock.sendall(b"hello")
        assert reader.read_response().body == b"hello"


def test_expect_100_continue_is_not_sent_to_http10(parser_backend: str) -> None:
    head = b"POST /up HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    with running_server(http_echo.app, http=parser_backend) as server, server.connect() as sock:
        sock.sendall(head)
        assert nothing_arrives(sock, 0.2)
        sock.sendall(b"hello")
        sock.settimeout(10)
        reader = ResponseReader(sock)
        assert read_head(reader).startswith(b"HTTP/1.1 200 ")


# Standard headers and request targets ------------------------------------------------------------


def test_date_and_server_headers(parser_backend: str) -> None:
    with running_server(http_echo.app, http=parser_backend) as server:
        before = time.time()
        response = request(server, get("/"))
        after = time.time()
    assert response.header("server") == "aiowsgi"
    assert response.header_count("date") == 1
    date = parsedate_to_datetime(response.header("date") or "").timestamp()
    assert before - 1 <= date <= after + 1


def test_absolute_form_target(parser_backend: str) -> None:
    raw = b"GET http://example.com/p?q HTTP/1.1\r\nHost: other.example\r\n\r\n"
    with running_server(http_echo.app, http=parser_backend) as server:
        response = request(server, raw)
    assert response.status == 200
    assert response.header("x-path") == "/p"
    assert response.header("x-query") == "q"
    assert response.header("x-host") == "example.com"


def test_options_asterisk(parser_backend: str) -> None:
    with running_server(http_echo.app, http=parser_backend) as server:
        response = request(server, b"OPTIONS * HTTP/1.1\r\nHost: test\r\n\r\n")
    assert response.status == 200
    assert response.header("x-method") == "OPTIONS"


# Timeouts ----------------------------------------------------------------------------------------


def test_idle_keep_alive_connection_is_closed_after_the_timeout(parser_backend: str) -> None:
    with (
        running_server(http_echo.app, http=parser_backend, keep_alive_timeout=0.2) as server,
        server.connect() as sock,
    ):
        sock.sendall(get("/"))
        reader = ResponseReader(sock)
        assert reader.read_response().status == 200
        started = time.monotonic()
        assert reader.at_eof(timeout=5)
        assert 0.1 <= time.monotonic() - started < 4


def test_incomplete_head_gets_408_after_the_header_timeout(parser_backend: str) -> None:
    with (
        running_server(http_echo.app, http=parser_backend, header_timeout=0.2) as server,
        server.connect() as sock,
    ):
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: test\r\nX-Partial: ")
        reader = ResponseReader(sock)
        response = reader.read_response()
        assert response.status == 408
        assert response.header("connection") == "close"
        assert reader.at_eof()


def test_stalled_body_gets_408_after_the_body_timeout(parser_backend: str) -> None:
    with (
        running_server(http_echo.app, http=parser_backend, body_timeout=0.2) as server,
        server.connect() as sock,
    ):
        sock.sendall(b"POST /slow HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        reader = ResponseReader(sock)
        response = reader.read_response()
        assert response.status == 408
        assert response.header("connection") == "close"
        assert reader.at_eof()


def test_header_timeout_of_a_pipelined_head_runs_from_its_first_byte(parser_backend: str) -> None:
    """A head that starts arriving while the request before it runs gets no extra time for that."""
    release = threading.Event()

    def slow_then_fast(environ, start_response):  # type: ignore[no-untyped-def]
        if environ["PATH_INFO"] == "/slow":
            release.wait(5)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    with running_server(slow_then_fast, http=parser_backend, header_timeout=0.5) as server:
        with server.connect() as sock:
            sock.sendall(get("/slow") + b"GET /next HTTP/1.1\r\nHo")  # the second head never ends
            timer = threading.Timer(0.8, release.set)  # longer than the header timeout
            timer.start()
            try:
                reader = ResponseReader(sock)
                assert reader.read_response().status == 200
                started = time.monotonic()
                assert reader.read_response().status == 408
                # Its deadline passed while /slow ran, so the 408 comes at once, not 0.5 s later.
                assert time.monotonic() - started < 0.4
            finally:
                timer.cancel()
                release.set()
