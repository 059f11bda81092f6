"""We do not switch protocols: an Upgrade request is answered as plain HTTP, with its body, then closed."""

from __future__ import annotations

from tests.support import ResponseReader, running_server


def echo_body(environ, start_response):  # type: ignore[no-untyped-def]
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


def test_upgrade_request_body_reaches_the_app(parser_backend: str) -> None:
    # What `curl --http2 -d hello http://...` sends.
    raw = (
        b"POST /u HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        b"HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Length: 5\r\n\r\nhello"
        b"GET /never HTTP/1.1\r\nHost: t\r\n\r\n"
    )
    with running_server(echo_body, http=parser_backend) as server, server.connect() as sock:
        sock.sendall(raw)
        reader = ResponseReader(sock)
        response = reader.read_response()
        assert response.status == 200
        assert response.body == b"hello"
        assert response.header("connection") == "close"
        assert reader.at_eof()
