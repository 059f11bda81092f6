"""Access lines over a real socket: what a hostile client can get into them, on both parsers.

What reaches the application at all is the parsers' business: both refuse control characters, DEL and
obs-text in the request target and control characters in header values (400, and no access line). What
does reach it: `"` and `\\` in the target, percent-encoded CR, LF, NUL and ESC (decoded in PATH_INFO),
and obs-text in header values, C1 controls such as \\x9b (a one-byte CSI) included.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator

import pytest

from aiowsgi.logs import access_logger
from tests.apps.hello import app as hello
from tests.support import TIMEOUT, ResponseReader, RunningServer, running_server

SERVED = [
    b'GET /quote"and\\backslash?q="\\ HTTP/1.1\r\n',
    b"GET /crlf%0d%0aForged:%20line?q=%0d%0a HTTP/1.1\r\n",
    b"GET /nul%00esc%1b[31mred%22%5c?q=%00%1b HTTP/1.1\r\n",
    b'GET / HTTP/1.1\r\nUser-Agent: csi\x9b31m obs\x85\xff tab\tquote" backslash\\\r\n',
    b'GET / HTTP/1.1\r\nUser-Agent: \x9b2J\x85\r\nReferer: "\\\r\nX-Request-ID: id"\\\x9b\r\n',
]
# Refused by both parsers with 400, before any application (or access line) sees them.
REFUSED = [b"GET /raw\x1b[2J HTTP/1.1\r\n", b"GET / HTTP/1.1\r\nReferer: \x1b[2J\r\n"]
TEXT_FORMAT = '%(h)s %(u)s "%(r)s" %(U)s %(q)s "%(f)s" "%(a)s" %({x-request-id}i)s %({HTTP_USER_AGENT}e)s'


class Lines(logging.Handler):
    """Collects the messages of aiowsgi.access and lets a test wait for a number of them."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []
        self.changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.changed:
            self.messages.append(record.getMessage())
            self.changed.notify_all()

    def wait_for(self, count: int) -> list[str]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.messages) >= count, TIMEOUT), self.messages
            return list(self.messages)


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    saved = (list(access_logger.handlers), access_logger.level, access_logger.propagate)
    access_logger.handlers[:] = [handler]
    access_logger.setLevel(logging.INFO)
    access_logger.propagate = False
    yield handler
    access_logger.handlers[:], access_logger.level, access_logger.propagate = saved


def send_each(server: RunningServer, requests: list[bytes]) -> list[int]:
    statuses = []
    for head in requests:
        with server.connect() as sock:
            sock.sendall(head + b"Host: test\r\nConnection: close\r\n\r\n")
            statuses.append(ResponseReader(sock).read_response().status)
    return statuses


@pytest.mark.parametrize("access_format", ["default", TEXT_FORMAT])
def test_a_text_line_stays_one_line_without_control_characters(
    parser_backend: str, lines: Lines, access_format: str
) -> None:
    with running_server(
        hello, http=parser_backend, access_log=True, access_log_format=access_format
    ) as server:
        statuses = send_each(server, SERVED + REFUSED)
        assert statuses == [200] * len(SERVED) + [400] * len(REFUSED)
        logged = lines.wait_for(len(SERVED))
    assert len(logged) == len(SERVED)
    for line in logged:
        assert line.isprintable(), line  # no CR, LF, C0, DEL or C1 character
        assert len(line.splitlines()) == 1
        # Every double quote a value carried is escaped, so only the format's own quotes are left.
        quotes = 2 if access_format == "default" else access_format.count('"')
        assert re.sub(r"\\.", "", line).count('"') == quotes, line
    if access_format == "default":
        assert '"GET /quote\\"and\\\\backslash?q=\\"\\\\ HTTP/1.1"' in logged[0]
    else:
        assert " /crlf\\x0d\\x0aForged: line q=%0d%0a " in logged[1]
        assert ' /nul\\x00esc\\x1b[31mred\\"\\\\ ' in logged[2]
        assert '"csi\\x9b31m obs\\x85\xff tab\\x09quote\\" backslash\\\\"' in logged[3]


def test_a_json_line_parses_back_to_what_was_sent(parser_backend: str, lines: Lines) -> None:
    with running_server(hello, http=parser_backend, access_log=True, access_log_format="json") as server:
        send_each(server, SERVED)
        logged = lines.wait_for(len(SERVED))
    for line in logged:
        assert line.isascii(), line
        assert line.isprintable(), line
    records = [json.loads(line) for line in logged]
    assert [r["path"] for r in records[:3]] == [
        '/quote"and\\backslash',
        "/crlf\r\nForged: line",
        '/nul\x00esc\x1b[31mred"\\',
    ]
    assert records[1]["query"] == "q=%0d%0a"
    assert records[2]["query"] == "q=%00%1b"
    assert "\\u001b" in logged[2]
    assert records[3]["user_agent"] == 'csi\x9b31m obs\x85\xff tab\tquote" backslash\\'
    assert records[4]["user_agent"] == "\x9b2J\x85"
    assert records[4]["referer"] == '"\\'
    assert records[4]["request_id"] == 'id"\\\x9b'
    assert all(r["status"] == 200 and r["bytes"] == 13 and r["client"] == "127.0.0.1" for r in records)


def test_a_percent_in_the_path_reaches_a_log_record_as_it_is(parser_backend: str, lines: Lines) -> None:
    with running_server(hello, http=parser_backend, access_log=True) as server:
        send_each(server, [b"GET /%s%(x)s%25%d HTTP/1.1\r\n"])
        (line,) = lines.wait_for(1)
    assert '"GET /%s%(x)s%25%d HTTP/1.1" 200 13 ' in line
