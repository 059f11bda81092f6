"""environ["wsgi.early_hints"]: 103 Early Hints before the final response, on HTTP/1.1 only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration._http_helpers import read_head
from tests.support import ResponseReader, get, running_server

LINK = ("Link", "</style.css>; rel=preload; as=style")


def hinting_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Sends the hints named by the path, then a final 200 (or lets a bad hint raise: a 500)."""
    hints = environ["wsgi.early_hints"]
    path = environ["PATH_INFO"]
    if path == "/two":
        hints([LINK])
        hints([("Link", "</app.js>; rel=preload; as=script")])
    elif path == "/bad":
        hints([("Link", "</x>\r\nSet-Cookie: forged=1")])
    elif path == "/framing":
        hints([("Content-Length", "0")])
    elif path != "/none":
        hints([LINK])
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    if path == "/late":
        write(b"started ")
        hints([LINK])  # the response has begun: too late, and ignored
    return [b"final"]


def test_hints_come_before_the_final_response(parser_backend: str) -> None:
    with running_server(hinting_app, http=parser_backend) as server, server.connect() as sock:
        sock.sendall(get("/two") + get("/none"))
        reader = ResponseReader(sock)
        first = read_head(reader)
        assert first.startswith(b"HTTP/1.1 103 Early Hints\r\n")
        assert b"\r\nLink: </style.css>; rel=preload; as=style" in first
        second = read_head(reader)
        assert second.startswith(b"HTTP/1.1 103 Early Hints\r\n")
        assert b"</app.js>" in second
        final = reader.read_response()
        assert (final.status, final.body) == (200, b"final")
        # The same connection goes on, and a request that gives no hints gets none.
        assert read_head(reader).startswith(b"HTTP/1.1 200 OK")


def test_no_hints_to_an_http10_client(parser_backend: str) -> None:
    with running_server(hinting_app, http=parser_backend) as server, server.connect() as sock:
        sock.sendall(get("/one", version="1.0"))
        assert read_head(ResponseReader(sock)).startswith(b"HTTP/1.1 200 OK")


def test_hints_after_the_response_started_are_ignored() -> None:
    with running_server(hinting_app) as server, server.connect() as sock:
        sock.sendall(get("/late"))
        reader = ResponseReader(sock)
        response = reader.read_response()
        assert (response.status, response.body) == (200, b"started final")
        assert b"103" not in response.raw_head


@pytest.mark.parametrize("path", ["/bad", "/framing"])
def test_bad_hints_raise_in_the_application(path: str, caplog: pytest.LogCaptureFixture) -> None:
    with running_server(hinting_app) as server, server.connect() as sock:
        sock.sendall(get(path))
        head = read_head(ResponseReader(sock))
        assert head.startswith(b"HTTP/1.1 500 Internal Server Error")
        assert b"forged" not in head
    assert any("error in the application" in record.getMessage() for record in caplog.records)
