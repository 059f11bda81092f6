"""The access line formats: each atom's value, escaping, JSON, and the errors of a bad format."""

from __future__ import annotations

import base64
import io
import json
import os
import time
from collections.abc import Callable
from types import SimpleNamespace

import pytest

import aiowsgi
from aiowsgi import accesslog
from aiowsgi.accesslog import access_line_observer, compile_access_format, escape
from aiowsgi.errors import ConfigError
from aiowsgi.http.events import RequestHead
from aiowsgi.trusted import TrustedProxies
from aiowsgi.wsgi.environ import request_environ, server_environ
from aiowsgi.wsgi.response import FileWrapper, Responder, run_application
from tests.apps.hello import app as hello

NOW = 1796654422.5  # 2026-12-07 14:40:22.5 UTC
STARTED = 1000.0
ELAPSED = 0.25
ESC = "\x1b"


class NullSink:
    closing = False
    can_sendfile = False

    def send(self, *parts: bytes) -> None:
        pass

    def sendfile(self, fd: int, offset: int, count: int) -> None:
        pass

    def finish(self, *parts: bytes, keep_alive: bool) -> None:
        pass

    def abort(self) -> None:
        pass


@pytest.fixture(autouse=True)
def frozen_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """accesslog's clock reads a fixed time, and a request took ELAPSED seconds."""
    frozen = SimpleNamespace(
        monotonic=lambda: STARTED + ELAPSED,
        time=lambda: NOW,
        localtime=time.localtime,
        gmtime=time.gmtime,
        strftime=time.strftime,
    )
    monkeypatch.setattr(accesslog, "time", frozen)


def request(
    target: bytes = b"/a/b%20c?x=1&y=2",
    headers: tuple[tuple[bytes, bytes], ...] = (),
    method: str = "GET",
    version: str = "1.1",
) -> RequestHead:
    return RequestHead(
        method, target, version, ((b"host", b"example.com"), *headers), None, False, True, False
    )


def served(
    head: RequestHead,
    status: str = "200 OK",
    response_headers: list[tuple[str, str]] | None = None,
    body: bytes = b"hello",
    peer: tuple[str, int] | None = ("192.0.2.7", 5555),
) -> tuple[dict[str, object], RequestHead, Responder]:
    """The environ, request and finished Responder of `head` answered with `status` and `body`."""
    base = server_environ("http", "", FileWrapper)
    environ = request_environ(
        base, ("127.0.0.1", 8000), peer, head, io.BytesIO(), 0, TrustedProxies(("127.0.0.1",))
    )
    responder = Responder(head, NullSink(), server_header=True)
    responder.start_response(status, response_headers if response_headers is not None else [])
    responder.send_whole(body)
    return environ, head, responder


def line(access_format: str, *args: object, **kwargs: object) -> str:
    environ, head, responder = served(*args, **kwargs)  # type: ignore[arg-type]
    return compile_access_format(access_format)(environ, head, responder, STARTED)


# The default -------------------------------------------------------------------------------------------


def test_the_default_is_the_line_aiowsgi_always_wrote() -> None:
    environ, head, responder = served(request())
    earlier = '%s - "%s %s HTTP/%s" %d %d %.1fms' % (  # noqa: UP031 - the format of releases before this one
        "192.0.2.7:5555", "GET", "/a/b%20c?x=1&y=2", "1.1", 200, 5, ELAPSED * 1000,
    )  # fmt: skip
    assert compile_access_format("default")(environ, head, responder, STARTED) == earlier
    assert earlier == '192.0.2.7:5555 - "GET /a/b%20c?x=1&y=2 HTTP/1.1" 200 5 250.0ms'


def test_the_default_names_a_unix_socket_client() -> None:
    assert line("default", request(), peer=None).startswith('unix - "GET ')


# Gunicorn's atoms --------------------------------------------------------------------------------------


BASIC_BOB = b"Basic " + base64.b64encode(b"bob:secret")
HEADERS = (
    (b"referer", b"http://example.com/from"),
    (b"user-agent", b"curl/8.0"),
    (b"authorization", BASIC_BOB),
    (b"x-tag", b"one"),
    (b"x-tag", b"two"),
)


@pytest.mark.parametrize(
    ("atom", "expected"),
    [
        ("h", "192.0.2.7"),
        ("l", "-"),
        ("u", "bob"),
        ("t", time.strftime("[%d/Dec/%Y:%H:%M:%S %z]", time.localtime(NOW))),
        ("r", "GET /a/b%20c?x=1&y=2 HTTP/1.1"),
        ("s", "404"),
        ("m", "GET"),
        ("U", "/a/b c"),
        ("q", "x=1&y=2"),
        ("H", "HTTP/1.1"),
        ("b", "5"),
        ("B", "5"),
        ("f", "http://example.com/from"),
        ("a", "curl/8.0"),
        ("T", "0"),
        ("D", "250000"),
        ("M", "250"),
        ("L", "0.250000"),
        ("p", f"<{os.getpid()}>"),
        ("{x-tag}i", "one, two"),
        ("{X-Tag}i", "one, two"),
        ("{x-missing}i", "-"),
        ("{content-type}o", "text/plain"),
        ("{X-Out}o", "a, b"),
        ("{x-missing}o", "-"),
        ("{wsgi.url_scheme}e", "http"),
        ("{remote_port}e", "5555"),
        ("{NOT_THERE}e", "-"),
    ],
)
def test_each_atom_means_what_it_means_in_gunicorn(atom: str, expected: str) -> None:
    headers = [("Content-Type", "text/plain"), ("X-Out", "a"), ("X-Out", "b")]
    assert line(f"%({atom})s", request(headers=HEADERS), "404 Not Found", headers) == expected


def test_the_text_between_atoms_is_kept_with_percent_signs() -> None:
    assert line('%(h)s "%(s)s" 100%% [%(m)s]', request()) == '192.0.2.7 "200" 100% [GET]'


def test_an_empty_body_is_a_dash_in_b_and_zero_in_b_upper() -> None:
    assert line("%(b)s %(B)s", request(), "204 No Content", body=b"") == "- 0"


def test_remote_user_comes_before_basic_authorization() -> None:
    environ, head, responder = served(request(headers=HEADERS))
    environ["REMOTE_USER"] = "alice"
    assert compile_access_format("%(u)s")(environ, head, responder, STARTED) == "alice"


@pytest.mark.parametrize(
    "authorization", [b"Basic !!!", b"Bearer abc", b"Basic " + base64.b64encode(b"\xff:x")]
)
def test_no_user_is_a_dash(authorization: bytes) -> None:
    assert line("%(u)s", request(headers=((b"authorization", authorization),))) == "-"


def test_a_request_without_a_response_head_logs_dashes_for_its_headers() -> None:
    environ, head, _ = served(request())
    responder = Responder(head, NullSink(), server_header=True)  # the application never called start_response
    assert compile_access_format("%({content-type}o)s %(s)s")(environ, head, responder, STARTED) == "- 0"


@pytest.mark.parametrize(
    ("access_format", "named"),
    [("%(h)s %(zz)s", "%(zz)s"), ("%({x}z)s", "%({x}z)s"), ("%()s", "%()s"), ("%(H)s %(h)d", "'%('")],
)
def test_an_unknown_atom_is_an_error_naming_it(access_format: str, named: str) -> None:
    with pytest.raises(ConfigError, match="access_log_format") as raised:
        compile_access_format(access_format)
    assert named in str(raised.value)


# Each would raise (a unary + on a str, a stray backslash) if it were code rather than a literal.
@pytest.mark.parametrize("name", ["x' + + '", 'x" + + "', "x\\", "\n"])
def test_a_header_or_variable_name_is_only_ever_a_name(name: str) -> None:
    # The format's function is written as Python source: a name must reach it as a literal, not as code.
    assert line(f"%({{{name}}}i)s %({{{name}}}o)s %({{{name}}}e)s", request()) == "- - -"


def test_a_lone_percent_is_an_error() -> None:
    with pytest.raises(ConfigError, match="literal % as %%"):
        compile_access_format("100% %(s)s")


def test_a_format_without_atoms_is_its_text() -> None:
    assert line("hit 50%%", request()) == "hit 50%"


# Escaping ----------------------------------------------------------------------------------------------


HOSTILE = 'a"b\\c\r\nd\x00e' + ESC + "[31mf\x7fg\x85h\u2028i"


def test_escape_leaves_nothing_that_breaks_a_line_or_reaches_a_terminal() -> None:
    assert escape(HOSTILE) == 'a\\"b\\\\c\\x0d\\x0ad\\x00e\\x1b[31mf\\x7fg\\x85h\\u2028i'
    assert escape("/caf\xe9 ok") == "/caf\xe9 ok"  # printable latin-1 stays readable


@pytest.mark.parametrize("atom", ["U", "q", "f", "a", "{x-hostile}i", "{x-hostile}o", "{HOSTILE}e", "u"])
def test_every_value_from_the_request_or_response_is_escaped(atom: str) -> None:
    hostile = HOSTILE.encode("latin-1", "replace")
    head = request(
        target=b"/p%0d%0a%22%5c%00%1b?q=" + hostile,
        headers=(
            (b"referer", hostile),
            (b"user-agent", hostile),
            (b"x-hostile", hostile),
            (b"authorization", b"Basic " + base64.b64encode(b'\r\n\x1b"\\:pw')),
        ),
    )
    environ, head, responder = served(head, response_headers=[("X-Hostile", 'a"b\\c\td\x85')])
    environ["HOSTILE"] = HOSTILE
    text = compile_access_format(f'"%({atom})s"')(environ, head, responder, STARTED)
    inner = text[1:-1]
    assert '"' not in inner.replace('\\"', ""), text
    assert text.isprintable(), text
    assert len(text.splitlines()) == 1


def test_the_request_line_is_escaped_in_every_text_format() -> None:
    head = request(target=b'/x"\\y\x1b', method="GET")
    assert '"GET /x\\"\\\\y\\x1b HTTP/1.1"' in line("default", head)
    assert line("%(r)s", head) == 'GET /x\\"\\\\y\\x1b HTTP/1.1'


# JSON -------------------------------------------------------------------------------------------------


def test_json_has_the_documented_keys() -> None:
    head = request(headers=(*HEADERS, (b"x-request-id", b"req-42")))
    fields = json.loads(line("json", head, "201 Created"))
    assert fields == {
        "time": "2026-12-07T14:40:22.500Z",
        "client": "192.0.2.7",
        "method": "GET",
        "path": "/a/b c",
        "query": "x=1&y=2",
        "protocol": "HTTP/1.1",
        "status": 201,
        "bytes": 5,
        "duration": ELAPSED,
        "user_agent": "curl/8.0",
        "referer": "http://example.com/from",
        "request_id": "req-42",
    }


def test_json_leaves_out_a_request_id_that_was_not_sent_and_nulls_absent_headers() -> None:
    fields = json.loads(line("json", request()))
    assert "request_id" not in fields
    assert fields["user_agent"] is None
    assert fields["referer"] is None


def test_json_escapes_every_control_character() -> None:
    hostile = HOSTILE.encode("latin-1", "replace")
    head = request(
        target=b"/p%1b%0a?q=" + hostile, headers=((b"user-agent", hostile), (b"x-request-id", hostile))
    )
    text = line("json", head)
    assert text.isascii(), text
    assert text.isprintable(), text
    assert "\\u001b" in text
    fields = json.loads(text)
    assert fields["path"] == "/p\x1b\n"
    assert fields["user_agent"] == hostile.decode("latin-1")


def test_an_embedded_server_refuses_an_unknown_atom_when_it_is_made() -> None:
    with pytest.raises(ConfigError, match=r"%\(nope\)s"):
        aiowsgi.Server(hello, access_log_format="%(nope)s")


def test_a_500_for_an_application_error_logs_none_of_the_headers_it_replaced() -> None:
    def failing(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        start_response("200 OK", [("X-Out", "never sent")])
        raise RuntimeError("boom")

    environ, head, _ = served(request())
    lines: list[str] = []
    observe = access_line_observer(lines.append, compile_access_format("%(s)s %({x-out}o)s"))
    run_application(failing, environ, head, NullSink(), True, STARTED, observe)
    assert lines == ["500 -"]
