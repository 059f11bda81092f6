"""PEP 3333, one rule per test, against a real server on 127.0.0.1 (design.md invariant 6, style habit 7).

Where the request bytes matter the test runs once per parser. The applications live in tests/apps/wsgi_*.py;
the server runs in this process, so an application can hand what it saw straight back to the test.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import wsgiref.validate
from pathlib import Path
from typing import Any

import pytest

from tests.apps import wsgi_input, wsgi_responses
from tests.apps.wsgi_close import ClosingApp
from tests.apps.wsgi_environ import EnvironRecorder
from tests.apps.wsgi_file import FileApp
from tests.apps.wsgi_invalid import respond_with, with_length
from tests.support import TIMEOUT, Response, ResponseReader, exchange, get, request, running_server

ERROR_LOGGER = "aiowsgi.error"


def environ_for(raw: bytes, parser_backend: str, **options: Any) -> dict[str, Any]:
    """Send one raw request to an EnvironRecorder and return the environ it was called with."""
    recorder = EnvironRecorder()
    with running_server(recorder, http=parser_backend, **options) as server:
        response = request(server, raw)
    assert response.status == 200, response
    return recorder.last


def post(path: str, body: bytes, headers: str = "") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
    return head.encode("latin-1") + body


def read_to_eof(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as the end)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def error_records(caplog: pytest.LogCaptureFixture, level: int = logging.ERROR) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == ERROR_LOGGER and r.levelno >= level]


# environ ------------------------------------------------------------------------------------------------

REQUIRED_KEYS = (
    "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME", "SERVER_PORT",
    "SERVER_PROTOCOL", "wsgi.version", "wsgi.url_scheme", "wsgi.input", "wsgi.errors",
    "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once",
)  # fmt: skip


def test_required_keys_have_the_right_types(parser_backend: str) -> None:
    recorder = EnvironRecorder()
    with running_server(recorder, http=parser_backend) as server:
        assert request(server, get("/path?x=1", extra="X-Custom: value\r\n")).status == 200
        port = server.port
    environ = recorder.last
    for key in REQUIRED_KEYS:
        assert key in environ, key
    for key, value in environ.items():
        if "." not in key:  # CGI keys; the wsgi.* and server extension (aiowsgi.*) keys are not strings
            assert type(value) is str, f"{key} is {type(value).__name__}, not a native str"
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["SERVER_NAME"] == "127.0.0.1"
    assert environ["SERVER_PORT"] == str(port)
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["HTTP_HOST"] == "test"
    assert environ["HTTP_X_CUSTOM"] == "value"
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["wsgi.version"] == (1, 0)
    assert type(environ["wsgi.version"]) is tuple
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["wsgi.multithread"] is True
    assert environ["wsgi.multiprocess"] is False
    assert environ["wsgi.run_once"] is False
    assert environ["wsgi.input_terminated"] is True
    errors = environ["wsgi.errors"]
    for method in ("write", "writelines", "flush"):
        assert callable(getattr(errors, method)), method
    errors.write("")
    errors.writelines([])
    errors.flush()
    assert callable(environ["wsgi.file_wrapper"])


def test_http10_request_protocol(parser_backend: str) -> None:
    environ = environ_for(get("/", version="1.0"), parser_backend)
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.0"


@pytest.mark.parametrize(
    ("target", "path_info", "query_string"),
    [
        ("/plain", "/plain", ""),
        ("/caf%C3%A9", "/caf\xc3\xa9", ""),  # UTF-8 bytes carried as latin-1 "bytes as str"
        ("/caf%c3%a9/%FF", "/caf\xc3\xa9/\xff", ""),
        ("/a%2Fb/c", "/a/b/c", ""),  # %2F is decoded like any other escape (the CGI rule)
        ("/sp%20ace/a+b", "/sp ace/a+b", ""),  # "+" is not a space in a path
        ("/100%", "/100%", ""),  # a stray "%" stays as it is
        ("/p?x=%20y&z=%2F&w=caf%C3%A9", "/p", "x=%20y&z=%2F&w=caf%C3%A9"),  # the query stays raw
        ("/p?a=1?b=2", "/p", "a=1?b=2"),
        ("/p?", "/p", ""),
    ],
)
def test_path_info_is_decoded_and_query_string_is_raw(
    parser_backend: str, target: str, path_info: str, query_string: str
) -> None:
    environ = environ_for(get(target), parser_backend)
    assert environ["PATH_INFO"] == path_info
    assert environ["QUERY_STRING"] == query_string
    assert environ["REQUEST_URI"] == target


def test_absolute_form_target(parser_backend: str) -> None:
    environ = environ_for(get("http://example.com:8080/a%20b?q=%41"), parser_backend)
    assert environ["PATH_INFO"] == "/a b"
    assert environ["QUERY_STRING"] == "q=%41"
    assert environ["HTTP_HOST"] == "example.com:8080"
    assert environ["REQUEST_URI"] == "http://example.com:8080/a%20b?q=%41"


def test_content_type_and_length_have_no_http_prefix(parser_backend: str) -> None:
    environ = environ_for(
        post("/", b"a=1", "Content-Type: application/x-www-form-urlencoded\r\n"), parser_backend
    )
    assert environ["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    assert environ["CONTENT_LENGTH"] == "3"
    assert "HTTP_CONTENT_TYPE" not in environ
    assert "HTTP_CONTENT_LENGTH" not in environ


def test_content_type_and_length_absent_when_not_sent(parser_backend: str) -> None:
    environ = environ_for(get("/"), parser_backend)
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
        assert key not in environ, key


def test_chunked_body_is_presented_with_its_length(parser_backend: str) -> None:
    raw = (
        b"POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    environ = environ_for(raw, parser_backend)
    assert environ["CONTENT_LENGTH"] == "5"
    assert "HTTP_TRANSFER_ENCODING" not in environ


def test_repeated_headers_are_joined(parser_backend: str) -> None:
    extra = "X-Multi: a\r\nAccept: text/html\r\nX-Multi: b, c\r\nCookie: one=1\r\nCookie: two=2\r\n"
    environ = environ_for(get("/", extra=extra), parser_backend)
    assert environ["HTTP_X_MULTI"] == "a, b, c"
    assert environ["HTTP_ACCEPT"] == "text/html"
    assert environ["HTTP_COOKIE"] == "one=1; two=2"  # cookie values may hold commas (RFC 6265 5.4)


def test_header_names_with_underscores_are_dropped(parser_backend: str) -> None:
    # X_Forwarded_For must not pose as X-Forwarded-For: both would be HTTP_X_FORWARDED_FOR.
    extra = "X_Forwarded_For: 6.6.6.6\r\nX-Forwarded-For: 10.0.0.1\r\nX_Only_Underscore: evil\r\n"
    environ = environ_for(get("/", extra=extra), parser_backend)
    assert environ["HTTP_X_FORWARDED_FOR"] == "10.0.0.1"
    assert not any("ONLY" in key for key in environ)


def test_header_values_are_latin1_strings(parser_backend: str) -> None:
    raw = b"GET / HTTP/1.1\r\nHost: test\r\nX-Bytes: caf\xc3\xa9\r\n\r\n"
    environ = environ_for(raw, parser_backend)
    assert environ["HTTP_X_BYTES"] == "caf\xc3\xa9"


@pytest.mark.parametrize(
    ("target", "script_name", "path_info"),
    [
        ("/app/x/y?q=1", "/app", "/x/y"),
        ("/app", "/app", ""),
        ("/app/", "/app", "/"),
        ("/ap%70/x", "/app", "/x"),  # the prefix is matched after decoding
        ("/applesauce", "/app", "/applesauce"),  # only a whole path segment is a prefix
    ],
)
def test_root_path_sets_script_name_and_strips_the_prefix(
    parser_backend: str, target: str, script_name: str, path_info: str
) -> None:
    environ = environ_for(get(target), parser_backend, root_path="/app")
    assert environ["SCRIPT_NAME"] == script_name
    assert environ["PATH_INFO"] == path_info
    assert environ["REQUEST_URI"] == target


# wsgi.input ------------------------------------------------------------------------------------------

BODY = b"line one\nline two\n\n\xff binary\r\nlast line without newline"


def expected_reads(mode: str, body: bytes) -> Any:
    """What the mode's calls give on an io.BytesIO: wsgi.input must behave exactly like one."""
    return json.loads(
        json.dumps([wsgi_input._jsonable(item) for item in wsgi_input.MODES[mode](io.BytesIO(body))])
    )


@pytest.mark.parametrize("mode", sorted(wsgi_input.MODES))
@pytest.mark.parametrize("spilled", [False, True], ids=["memory", "spilled"])
def test_wsgi_input_reads(parser_backend: str, mode: str, spilled: bool) -> None:
    options = {"body_spill_threshold": 8} if spilled else {}
    with running_server(wsgi_input.app, http=parser_backend, **options) as server:
        response = request(server, post(f"/?{mode}", BODY))
    assert response.status == 200
    results = json.loads(response.body)
    assert results == expected_reads(mode, BODY)
    assert results[-1] in ("", [])  # past the end: empty, at once


@pytest.mark.parametrize("mode", sorted(wsgi_input.MODES))
def test_wsgi_input_chunked_body(parser_backend: str, mode: str) -> None:
    raw = b"POST /?%s HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n" % mode.encode()
    raw += b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in BODY.split(b"\n") if part) + b"0\r\n\r\n"
    with running_server(wsgi_input.app, http=parser_backend) as server:
        response = request(server, raw)
    assert json.loads(response.body) == expected_reads(mode, BODY.replace(b"\n", b""))


@pytest.mark.parametrize("mode", sorted(wsgi_input.MODES))
@pytest.mark.parametrize("raw", [get("/?{mode}"), post("/?{mode}", b"")], ids=["no-body", "content-length-0"])
def test_wsgi_input_empty_body_never_blocks(parser_backend: str, mode: str, raw: bytes) -> None:
    with running_server(wsgi_input.app, http=parser_backend) as server:
        response = request(server, raw.replace(b"{mode}", mode.encode()))
    assert response.status == 200
    assert json.loads(response.body) == expected_reads(mode, b"")


# start_response, write() and iteration ---------------------------------------------------------------


def serve_one(app: Any, raw: bytes = b"", parser_backend: str = "auto", **options: Any) -> Response:
    with running_server(app, http=parser_backend, **options) as server:
        with server.connect() as sock:
            sock.sendall(raw or get("/"))
            reader = ResponseReader(sock)
            response = reader.read_response()
            if response.header("connection") != "close":
                # Still usable: the same connection answers a second request correctly.
                sock.sendall(get("/second"))
                assert reader.read_response().status == response.status
    return response


@pytest.mark.parametrize(
    "app",
    [
        pytest.param(wsgi_responses.write_then_list, id="write-then-list"),
        pytest.param(wsgi_responses.write_then_generator, id="write-then-generator"),
    ],
)
def test_write_output_comes_before_the_iterable(parser_backend: str, app: Any) -> None:
    response = serve_one(app, parser_backend=parser_backend)
    assert response.status == 200
    assert response.body == b"first,second,third"
    assert response.raw_head.count(b"HTTP/1.1") == 1


def test_write_then_file_wrapper(loop_name: str) -> None:
    with running_server(wsgi_responses.write_then_file_wrapper, loop=loop_name) as server:
        response = exchange(server, get("/") + get("/again"), count=2)
    for each in response:
        assert each.status == 200
        assert each.body == b"first,second,third"
        assert each.raw_head.count(b"HTTP/1.1") == 1


def test_write_with_declared_length(parser_backend: str) -> None:
    response = serve_one(wsgi_responses.write_with_length, parser_backend=parser_backend)
    assert response.header("content-length") == "11"
    assert response.body == b"first,third"


def test_start_response_returns_a_write_callable() -> None:
    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        seen.append(write)
        return [b"ok"]

    assert serve_one(app).body == b"ok"
    assert callable(seen[0])


def test_start_response_twice_without_exc_info_is_a_500(caplog: pytest.LogCaptureFixture) -> None:
    response = serve_one(wsgi_responses.start_response_twice)
    assert response.status == 500
    assert b"should not be sent" not in response.body
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in error_records(caplog))


def test_exc_info_before_output_replaces_the_head(parser_backend: str) -> None:
    response = serve_one(wsgi_responses.exc_info_before_output, parser_backend=parser_backend)
    assert response.status == 503
    assert response.header("x-second") == "yes"
    assert response.header("x-first") is None
    assert response.body == b"sorry"


def test_exc_info_after_output_reraises_and_closes(
    parser_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    with running_server(wsgi_responses.exc_info_after_output, http=parser_backend) as server:
        with server.connect() as sock:
            sock.sendall(get("/"))
            data = read_to_eof(sock)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert b"partial" in body
    assert b"never sent" not in body
    assert not body.endswith(b"0\r\n\r\n"), "a truncated body must not look complete"
    assert b"500" not in data
    assert any(r.exc_info and r.exc_info[0] is ValueError for r in error_records(caplog))


def test_start_response_from_the_first_iteration(parser_backend: str) -> None:
    response = serve_one(wsgi_responses.late_start_response, parser_backend=parser_backend)
    assert response.status == 200
    assert response.header("x-late") == "yes"
    assert response.body == b"late start"


def test_empty_chunks_do_not_send_the_head() -> None:
    response = serve_one(wsgi_responses.empty_chunks_first)
    assert response.status == 201
    assert response.body == b"data"


def test_error_after_only_empty_chunks_is_a_clean_500(caplog: pytest.LogCaptureFixture) -> None:
    with running_server(wsgi_responses.empty_then_raise) as server:
        with server.connect() as sock:
            sock.sendall(get("/"))
            reader = ResponseReader(sock)
            response = reader.read_response()
            assert reader.at_eof()
    assert response.status == 500
    assert response.raw_head.count(b"HTTP/1.1") == 1
    assert any(r.exc_info and r.exc_info[0] is ValueError for r in error_records(caplog))


def test_empty_body_gets_a_zero_length(parser_backend: str) -> None:
    response = serve_one(wsgi_responses.empty_body, parser_backend=parser_backend)
    assert response.status == 200
    assert response.header("content-length") == "0"
    assert response.body == b""


def test_str_body_item_after_output_closes(caplog: pytest.LogCaptureFixture) -> None:
    with running_server(respond_with("200 OK", [TEXT], [b"sent", "str"])) as server:
        with server.connect() as sock:
            sock.sendall(get("/"))
            data = read_to_eof(sock)
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert b"sent" in data
    assert not data.endswith(b"0\r\n\r\n")
    assert any(r.exc_info and r.exc_info[0].__name__ == "InvalidResponse" for r in error_records(caplog))


# close() -------------------------------------------------------------------------------------------------


def test_close_after_normal_completion() -> None:
    app = ClosingApp("complete")
    response = serve_one(app)
    assert response.body == b"one,two,three"
    assert app.closed.wait(TIMEOUT)


def test_close_when_iteration_raises_before_output(caplog: pytest.LogCaptureFixture) -> None:
    app = ClosingApp("raise_first")
    with running_server(app) as server:
        response = request(server, get("/"))
        assert app.closed.wait(TIMEOUT)
    assert response.status == 500
    assert error_records(caplog)


def test_close_when_iteration_raises_after_output(caplog: pytest.LogCaptureFixture) -> None:
    app = ClosingApp("raise_later")
    with running_server(app) as server:
        with server.connect() as sock:
            sock.sendall(get("/"))
            data = read_to_eof(sock)
        assert app.closed.wait(TIMEOUT)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"one" in data
    assert not data.endswith(b"0\r\n\r\n")
    assert error_records(caplog)


@pytest.mark.parametrize("reset", [False, True], ids=["close", "reset"])
def test_close_when_the_client_disconnects_mid_stream(loop_name: str, reset: bool) -> None:
    app = ClosingApp("endless")
    with running_server(app, loop=loop_name) as server:
        sock = server.connect()
        sock.sendall(get("/"))
        received = b""
        while b"\r\n\r\n" not in received:  # the head and the start of the endless body
            chunk = sock.recv(65536)
            assert chunk
            received += chunk
        assert app.started.is_set()
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
        assert app.closed.wait(TIMEOUT), "close() was not called after the client left"
    assert not app.exhausted


# wsgi.file_wrapper ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["disk", "memory"])
@pytest.mark.parametrize("offset", [0, 1000])
def test_file_wrapper(loop_name: str, tmp_path: Path, source: str, offset: int) -> None:
    data = bytes(range(256)) * 1000
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    app = FileApp(str(path), data, offset=offset)
    with running_server(app, loop=loop_name) as server:
        with server.connect() as sock:
            sock.sendall(get(f"/{source}") + get(f"/{source}"))
            reader = ResponseReader(sock)
            first = reader.read_response()
            second = reader.read_response()  # the connection stays usable after the file
        assert app.closed.wait(TIMEOUT)
    for response in (first, second):
        assert response.status == 200
        assert response.body == data[offset:]


# Invalid responses from the application ---------------------------------------------------------------

TEXT = ("Content-Type", "text/plain")


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        pytest.param(b"200 OK", [TEXT], [b"x"], id="status-bytes"),
        pytest.param(200, [TEXT], [b"x"], id="status-int"),
        pytest.param("200", [TEXT], [b"x"], id="status-no-reason"),
        pytest.param("2000 OK", [TEXT], [b"x"], id="status-four-digits"),
        pytest.param("200 OK\r\nX-Injected: evil", [TEXT], [b"x"], id="status-crlf"),
        pytest.param("200 OK", [TEXT, ("X-Test", "ok\r\nX-Injected: evil")], [b"x"], id="value-crlf"),
        pytest.param("200 OK", [TEXT, ("X-Injected: evil", "x")], [b"x"], id="name-colon-space"),
        pytest.param("200 OK", [TEXT, ("X-Test", "ok\nX-Injected: evil")], [b"x"], id="value-lf"),
        pytest.param("200 OK", [TEXT, ("X-Test", "ok\rX-Injected: evil")], [b"x"], id="value-cr"),
        pytest.param("200 OK", [TEXT, ("X-Test\r\nX-Injected", "evil")], [b"x"], id="name-crlf"),
        pytest.param("200 OK", [TEXT, ("X Test", "evil")], [b"x"], id="name-space"),
        pytest.param("200 OK", [TEXT, ("X-Test:", "evil")], [b"x"], id="name-colon"),
        pytest.param("200 OK", [TEXT, ("X-Test", "caf\u20ac")], [b"x"], id="value-not-latin1"),
        pytest.param("200 OK", [TEXT, ("X-Test", 1)], [b"x"], id="value-int"),
        pytest.param("200 OK", [TEXT, (b"X-Test", "evil")], [b"x"], id="name-bytes"),
        pytest.param("200 OK", (TEXT,), [b"x"], id="headers-tuple"),
        pytest.param("200 OK", [TEXT], ["text"], id="body-str"),
        pytest.param("200 OK", [TEXT, ("Transfer-Encoding", "chunked")], [b"x"], id="transfer-encoding"),
        pytest.param("200 OK", [TEXT, ("Upgrade", "websocket")], [b"x"], id="upgrade"),
        pytest.param("200 OK", [TEXT, ("Keep-Alive", "timeout=5")], [b"x"], id="keep-alive"),
        pytest.param("200 OK", [TEXT, ("Content-Length", "abc")], [b"x"], id="content-length-nan"),
    ],
)
def test_invalid_response_is_a_500(
    parser_backend: str, caplog: pytest.LogCaptureFixture, status: Any, headers: Any, body: Any
) -> None:
    with running_server(respond_with(status, headers, body), http=parser_backend) as server:
        with server.connect() as sock:
            sock.sendall(get("/"))
            reader = ResponseReader(sock)
            response = reader.read_response()
            assert reader.at_eof(), "nothing may follow the 500"
    assert response.status == 500
    assert response.raw_head.count(b"HTTP/1.1") == 1
    assert b"injected" not in response.raw_head.lower()
    assert b"evil" not in response.raw_head + response.body
    assert error_records(caplog), "the error must be logged on aiowsgi.error"


@pytest.mark.parametrize("as_list", [True, False], ids=["list", "generator"])
def test_body_longer_than_content_length_is_cut(
    parser_backend: str, caplog: pytest.LogCaptureFixture, as_list: bool
) -> None:
    app = with_length(5, [b"abc", b"defgh", b"ijk"], as_list)
    with running_server(app, http=parser_backend) as server:
        with server.connect() as sock:
            sock.sendall(get("/") + get("/second"))  # a pipelined request must not be answered
            reader = ResponseReader(sock)
            response = reader.read_response()
            assert reader.at_eof(), "the connection must close after the cut body"
    assert response.status == 200
    assert response.body == b"abcde"
    assert error_records(caplog)


@pytest.mark.parametrize("as_list", [True, False], ids=["list", "generator"])
def test_body_shorter_than_content_length_closes(
    parser_backend: str, caplog: pytest.LogCaptureFixture, as_list: bool
) -> None:
    app = with_length(10, [b"abc", b"de"], as_list)
    with running_server(app, http=parser_backend) as server:
        with server.connect() as sock:
            sock.sendall(get("/") + get("/second"))
            data = read_to_eof(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"content-length: 10" in head.lower()
    assert body == b"abcde"
    assert data.count(b"HTTP/1.1") == 1
    if not as_list:
        assert error_records(caplog, logging.WARNING)


# wsgiref.validate ------------------------------------------------------------------------------------------

VALIDATED = [
    pytest.param(EnvironRecorder(), get("/path?q=1", extra="Cookie: a=1\r\n"), b"ok", id="environ"),
    *(
        pytest.param(wsgi_input.app, post(f"/?{mode}", BODY), None, id=f"input-{mode}")
        for mode in ("read_n", "readline", "readline_n", "readlines", "iter")
    ),
    pytest.param(wsgi_responses.write_then_generator, get("/"), b"first,second,third", id="write"),
    pytest.param(wsgi_responses.write_then_list, get("/"), b"first,second,third", id="write-list"),
    pytest.param(wsgi_responses.late_start_response, get("/"), b"late start", id="late-start-response"),
    pytest.param(wsgi_responses.exc_info_before_output, get("/"), b"sorry", id="exc-info"),
    pytest.param(wsgi_responses.empty_chunks_first, get("/"), b"data", id="empty-chunks"),
    pytest.param(wsgi_responses.empty_body, get("/"), b"", id="empty-body"),
    pytest.param(wsgi_responses.stream, get("/"), b"chunk 0;chunk 1;chunk 2;chunk 3;chunk 4;", id="stream"),
    pytest.param(ClosingApp("complete"), get("/"), b"one,two,three", id="closing"),
    pytest.param(FileApp("", b"file data"), get("/memory"), b"file data", id="file-wrapper"),
]


@pytest.mark.parametrize(("app", "raw", "body"), VALIDATED)
def test_validator_finds_nothing(
    parser_backend: str, caplog: pytest.LogCaptureFixture, app: Any, raw: bytes, body: bytes | None
) -> None:
    # filterwarnings=error turns a WSGIWarning into an exception inside the application (a 500 here) or,
    # for the iterator's __del__ check, into a failing unraisable-exception warning.
    validated = wsgiref.validate.validator(app)
    with running_server(validated, http=parser_backend, root_path="/mount") as server:
        with server.connect() as sock:
            sock.sendall(raw + raw.replace(b" /", b" /mount/", 1))
            reader = ResponseReader(sock)
            responses = [reader.read_response(), reader.read_response()]
    assert not error_records(caplog, logging.WARNING), [r.getMessage() for r in caplog.records]
    for response in responses:
        assert response.status in (200, 201, 503), response
        if body is not None:
            assert response.body == body


def test_validator_catches_a_bad_application() -> None:
    # The check above is only worth something if a broken application does fail it.
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])  # no Content-Type: the validator objects
        return [b"x"]

    response = serve_one(wsgiref.validate.validator(app))
    assert response.status == 500


def test_500_follows_the_server_header_option(caplog: pytest.LogCaptureFixture) -> None:
    def broken(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise RuntimeError("boom")

    with (
        caplog.at_level(logging.ERROR, "aiowsgi.error"),
        running_server(broken, server_header=False) as server,
    ):
        response = request(server, get("/"))
    assert response.status == 500
    assert response.header("server") is None
    assert response.body == b"500 Internal Server Error\n"
