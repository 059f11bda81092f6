"""`plan_response`: how a response body is delimited, and whether the connection stays open after it."""

from __future__ import annotations

import pytest

from aiowsgi.http.connection import BodyFraming, plan_response
from aiowsgi.http.events import RequestHead

NONE, LENGTH, CHUNKED, UNTIL_CLOSE = (
    BodyFraming.NONE, BodyFraming.LENGTH, BodyFraming.CHUNKED, BodyFraming.UNTIL_CLOSE,
)  # fmt: skip


def request(method: str = "GET", version: str = "1.1", keep_alive: bool = True) -> RequestHead:
    return RequestHead(
        method=method,
        target=b"/",
        http_version=version,
        headers=((b"host", b"example.com"),),
        content_length=None,
        chunked=False,
        keep_alive=keep_alive,
        expect_continue=False,
    )


# (method, version, client keep-alive, status, Content-Length, app asked to close) -> (framing, keep-alive)
CASES = [
    # HTTP/1.1, keep-alive
    ("GET", "1.1", True, 200, 5, False, LENGTH, True),
    ("GET", "1.1", True, 200, None, False, CHUNKED, True),
    ("GET", "1.1", True, 200, 0, False, LENGTH, True),
    ("GET", "1.1", True, 500, None, False, CHUNKED, True),
    ("POST", "1.1", True, 201, 3, False, LENGTH, True),
    # responses without a body, whatever the length says
    ("HEAD", "1.1", True, 200, 5, False, NONE, True),
    ("HEAD", "1.1", True, 200, None, False, NONE, True),
    ("GET", "1.1", True, 204, None, False, NONE, True),
    ("GET", "1.1", True, 204, 5, False, NONE, True),
    ("GET", "1.1", True, 304, None, False, NONE, True),
    ("GET", "1.1", True, 304, 100, False, NONE, True),
    ("GET", "1.1", True, 101, None, False, NONE, True),
    # the application asks to close (Connection: close, or the server is shutting down)
    ("GET", "1.1", True, 200, 5, True, LENGTH, False),
    ("GET", "1.1", True, 200, None, True, CHUNKED, False),
    ("HEAD", "1.1", True, 200, None, True, NONE, False),
    # the client asked to close
    ("GET", "1.1", False, 200, 5, False, LENGTH, False),
    ("GET", "1.1", False, 200, None, False, CHUNKED, False),
    ("GET", "1.1", False, 204, None, False, NONE, False),
    # HTTP/1.0: no chunked; an unknown length is delimited by the close
    ("GET", "1.0", False, 200, 5, False, LENGTH, False),
    ("GET", "1.0", False, 200, None, False, UNTIL_CLOSE, False),
    ("GET", "1.0", True, 200, 5, False, LENGTH, True),
    ("GET", "1.0", True, 200, None, False, UNTIL_CLOSE, False),
    ("HEAD", "1.0", True, 200, None, False, NONE, True),
    ("GET", "1.0", True, 304, None, False, NONE, True),
    ("GET", "1.0", True, 204, None, False, NONE, True),
    ("GET", "1.0", True, 200, 5, True, LENGTH, False),
]


@pytest.mark.parametrize(
    ("method", "version", "client_keep_alive", "status", "length", "close", "framing", "keep_alive"), CASES
)
def test_plan_response(
    method: str,
    version: str,
    client_keep_alive: bool,
    status: int,
    length: int | None,
    close: bool,
    framing: BodyFraming,
    keep_alive: bool,
) -> None:
    head = request(method, version, client_keep_alive)
    assert plan_response(head, status, length, close) == (framing, keep_alive)


@pytest.mark.parametrize("status", [200, 204, 304, 404, 500])
@pytest.mark.parametrize("length", [None, 0, 7])
@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_never_keeps_alive_against_the_client(status: int, length: int | None, version: str) -> None:
    """Whatever the response, a connection the client or the application wants closed is closed."""
    for client_keep_alive, close in ((False, False), (True, True), (False, True)):
        _, keep_alive = plan_response(request("GET", version, client_keep_alive), status, length, close)
        assert keep_alive is False


@pytest.mark.parametrize("status", [200, 404, 500])
def test_http10_never_gets_chunked(status: int) -> None:
    for keep_alive in (True, False):
        framing, _ = plan_response(request("GET", "1.0", keep_alive), status, None, False)
        assert framing is not BodyFraming.CHUNKED
