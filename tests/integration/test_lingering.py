"""An error answer reaches a client that is still sending: the server reads and drops the rest a while."""

from __future__ import annotations

import threading

from tests.apps import hello
from tests.support import ResponseReader, running_server


def test_413_reaches_a_client_still_uploading(parser_backend: str, loop_name: str) -> None:
    options = {"http": parser_backend, "loop": loop_name, "limit_request_body": 1024 * 1024}
    with running_server(hello.app, **options) as server, server.connect() as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 104857600\r\n\r\n")
        stop = threading.Event()

        def upload() -> None:
            block = b"x" * 65536
            try:
                while not stop.is_set():
                    sock.sendall(block)
            except OSError:
                pass  # the server has closed, as it should once it has read enough

        uploader = threading.Thread(target=upload, daemon=True)
        uploader.start()
        try:
            response = ResponseReader(sock).read_response()
        finally:
            stop.set()
        assert response.status == 413
        assert response.header("connection") == "close"
        uploader.join(10)


def test_413_reaches_a_client_that_sends_its_whole_body_before_reading(parser_backend: str) -> None:
    """What a proxy with a buffered upload does (nginx's proxy_pass): send everything, then read."""
    with (
        running_server(hello.app, http=parser_backend, limit_request_body=1024 * 1024) as server,
        server.connect() as sock,
    ):
        body = b"x" * (8 * 1024 * 1024)
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        response = ResponseReader(sock).read_response()
        assert response.status == 413


def test_400_reaches_a_client_that_keeps_sending(parser_backend: str) -> None:
    with running_server(hello.app, http=parser_backend) as server, server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n")
        sock.sendall(b"y" * 200_000)  # more than the kernel buffers, unread by the server when it answers
        response = ResponseReader(sock).read_response()
        assert response.status == 400
