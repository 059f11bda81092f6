"""The loop/thread bridge over real sockets: request bodies are received on the loop before the application
runs; response output is bounded and back-pressured; a worker thread is never held by a client's waiting;
close() always runs; the pool is joined on shutdown."""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.apps import hello, http_big_stream, http_body_probe, http_file
from tests.apps.http_big_stream import KiB, MiB
from tests.integration._http_helpers import (
    read_hashed_body,
    read_head,
    small_rcvbuf_connection,
    small_sndbuf_listener,
    wait_closed,
)
from tests.support import ResponseReader, get, request, running_server


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise AssertionError(f"no Content-Length in {head!r}")


# Request bodies ------------------------------------------------------------------------------------


def test_body_is_received_before_the_app_runs(parser_backend: str) -> None:
    probe = http_body_probe.BodyProbe()
    pieces = [b"a" * 1000, b"b" * 1000, b"c" * 1000]
    body = b"".join(pieces)
    with running_server(probe, http=parser_backend, threads=1) as server, server.connect() as sock:
        sock.sendall(b"POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body))
        for piece in pieces:
            # Bounded negative checks: with the body incomplete the application must not have started.
            assert not probe.started.wait(0.05)
            sock.sendall(piece)
        response = ResponseReader(sock).read_response()
    assert probe.started.is_set()
    assert response.header("x-body-length") == str(len(body))
    assert response.body == hashlib.sha256(body).hexdigest().encode()
    assert response.header("x-input-type") == "BytesIO"


def test_chunked_body_is_received_before_the_app_runs(parser_backend: str) -> None:
    probe = http_body_probe.BodyProbe()
    pieces = [b"x" * 100, b"y" * 5000, b"z"]
    with running_server(probe, http=parser_backend, threads=1) as server, server.connect() as sock:
        sock.sendall(b"POST /slow HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in pieces:
            assert not probe.started.wait(0.05)
            sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece))
        assert not probe.started.wait(0.05)
        sock.sendall(b"0\r\n\r\n")
        response = ResponseReader(sock).read_response()
    body = b"".join(pieces)
    assert response.header("x-content-length") == str(len(body))
    assert response.body == hashlib.sha256(body).hexdigest().encode()


def test_large_body_spills_to_a_temporary_file_and_arrives_intact(parser_backend: str) -> None:
    probe = http_body_probe.BodyProbe()
    body = os.urandom(3 * MiB)
    with (
        running_server(probe, http=parser_backend, body_spill_threshold=64 * KiB) as server,
        server.connect() as sock,
    ):
        reader = ResponseReader(sock)
        sock.sendall(b"POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        big = reader.read_response()
        sock.sendall(b"POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nsmall")
        small = reader.read_response()
    assert big.header("x-body-length") == str(len(body))
    assert big.body == hashlib.sha256(body).hexdigest().encode()
    assert big.header("x-input-type") != "BytesIO", "a body over the threshold must not be kept in memory"
    assert small.body == hashlib.sha256(b"small").hexdigest().encode()
    assert small.header("x-input-type") == "BytesIO"


# Response output -----------------------------------------------------------------------------------


def test_slow_reader_blocks_the_worker_with_bounded_memory_then_gets_everything() -> None:
    app = http_big_stream.BigStream(20 * MiB)
    with running_server(app, threads=1, response_buffer_size=256 * KiB) as server:
        with small_rcvbuf_connection(server.port) as sock:
            sock.sendall(get("/yield"))
            # The client reads nothing: the application must get stuck well short of the end.
            assert not app.finished.wait(0.5)
            stalled = app.produced
            assert not app.finished.wait(0.1)
            assert app.produced == stalled, "the worker must be blocked, not producing"
            # What is held between the application and the client: the channel's and the transport's
            # 256 KiB each, plus the kernel's socket buffers, far below the 20 MiB produced.
            assert stalled < 8 * MiB
            reader = ResponseReader(sock)
            head = read_head(reader)
            assert head.startswith(b"HTTP/1.1 200 ")
            assert content_length(head) == app.total
            count, digest = read_hashed_body(reader, app.total)
        assert count == app.total
        assert digest == http_big_stream.expected_sha256(app.total, app.block_size)
        assert app.finished.is_set()
        assert app.closed.wait(5)


def test_chunked_output_spilled_to_a_file_for_a_slow_reader_arrives_intact(loop_name: str) -> None:
    # Each chunk goes to the loop as three pieces (size line, data, CRLF), written together or, while
    # the client is behind, spilled one after another; either way the framing must come out whole.
    app = http_big_stream.BigStream(4 * MiB)
    options: dict[str, Any] = {"threads": 1, "loop": loop_name, "response_spill_threshold": 64 * KiB}
    with running_server(app, **options) as server:
        with small_rcvbuf_connection(server.port) as sock:
            sock.sendall(get("/chunked"))
            assert app.finished.wait(10), "the whole body must fit in the response buffer without waiting"
            response = ResponseReader(sock).read_response()
    assert response.header("transfer-encoding") == "chunked"
    assert len(response.body) == app.total
    assert hashlib.sha256(response.body).hexdigest() == http_big_stream.expected_sha256(
        app.total, app.block_size
    )


def test_send_timeout_makes_write_raise_and_closes_the_connection() -> None:
    app = http_big_stream.BigStream(20 * MiB)
    options: dict[str, Any] = {"threads": 1, "response_buffer_size": 64 * KiB, "send_timeout": 0.3}
    with running_server(app, **options) as server:
        with small_rcvbuf_connection(server.port) as sock:
            sock.sendall(get("/write"))
            assert app.write_failed.wait(5), "write() must raise once the client stops reading"
            assert isinstance(app.write_error, OSError)
            assert not app.finished.is_set()
            wait_closed(sock)
        # The worker thread is free again.
        assert request(server, get("/small")).body == b"ok"


def test_send_timeout_calls_close_on_the_iterable() -> None:
    app = http_big_stream.BigStream(20 * MiB)
    options: dict[str, Any] = {"threads": 1, "response_buffer_size": 64 * KiB, "send_timeout": 0.3}
    with running_server(app, **options) as server:
        with small_rcvbuf_connection(server.port) as sock:
            sock.sendall(get("/yield"))
            assert app.closed.wait(5), "close() must be called when the client stops reading"
            assert not app.finished.is_set()
            wait_closed(sock)
        assert request(server, get("/small")).body == b"ok"


def test_send_timeout_spares_a_client_that_reads_slowly_but_steadily() -> None:
    # send_timeout bounds how long a client may read *nothing*. This one reads about 100 KiB per send
    # timeout, far slower than the server produces, so the server's 256 KiB output buffer stays over its
    # high-water mark for longer than the send timeout; it must not be cut for that. Small kernel buffers
    # on both ends let the server see the client's reads promptly: with megabytes of kernel buffer it
    # would see them only in bursts, and a client this slow would still be cut (see the report).
    app = http_big_stream.BigStream(2 * MiB)
    options: dict[str, Any] = {"threads": 1, "response_buffer_size": 256 * KiB, "send_timeout": 0.5}
    listener = small_sndbuf_listener(8 * KiB)
    with (
        running_server(app, sockets=[listener], **options) as server,
        small_rcvbuf_connection(server.port, 8 * KiB) as sock,
    ):
        sock.sendall(get("/yield"))
        reader = ResponseReader(sock)
        head = read_head(reader)
        digest = hashlib.sha256(reader.buffer)
        received = len(reader.buffer)
        slow_until = time.monotonic() + 1.2
        while time.monotonic() < slow_until:
            data = sock.recv(2048)
            assert data, "the server closed the connection of a client that was reading"
            digest.update(data)
            received += len(data)
            time.sleep(0.01)  # pacing the client, not waiting for readiness
        assert not app.closed.is_set()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 * MiB)  # now read the rest quickly
        while received < content_length(head):
            data = sock.recv(1 << 20)
            assert data
            digest.update(data)
            received += len(data)
    assert received == app.total
    assert digest.hexdigest() == http_big_stream.expected_sha256(app.total, app.block_size)
    assert app.closed.wait(5)


def test_client_disconnecting_mid_response_closes_the_iterable_and_frees_the_worker() -> None:
    app = http_big_stream.BigStream(20 * MiB)
    with running_server(app, threads=1, response_buffer_size=64 * KiB) as server:
        sock = server.connect()
        sock.sendall(get("/yield"))
        reader = ResponseReader(sock)
        assert read_head(reader).startswith(b"HTTP/1.1 200 ")
        count, _ = read_hashed_body(reader, 1 * MiB)
        assert count == 1 * MiB
        # Close with a reset, as a client that crashes or gives up would.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        assert app.closed.wait(5), "close() must be called when the client goes away"
        assert not app.finished.is_set()
        # threads=1: this is served only if the worker was given back.
        assert request(server, get("/small")).body == b"ok"


# Waiting on the network never holds a worker thread ------------------------------------------------


def test_idle_and_slow_clients_do_not_hold_the_only_thread(parser_backend: str) -> None:
    with running_server(hello.app, http=parser_backend, threads=1, keep_alive_timeout=30) as server:
        with server.connect() as idle, server.connect() as slowloris, server.connect() as uploader:
            idle_reader = ResponseReader(idle)
            idle.sendall(get("/"))
            assert idle_reader.read_response().status == 200  # now idle on keep-alive
            slowloris.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            uploader.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + b"u" * 10)
            with server.connect(timeout=2) as third:
                third.sendall(get("/"))
                assert ResponseReader(third).read_response().body == b"Hello, world!"
            # The idle connection was only waiting, and is still good.
            idle.sendall(get("/"))
            assert idle_reader.read_response().status == 200


# wsgi.file_wrapper -----------------------------------------------------------------------------------


def test_file_wrapper_serves_a_real_file(
    loop_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(1 * MiB + 123)
    path = tmp_path / "payload.bin"
    path.write_bytes(data)
    sendfile_calls = 0
    real_sendfile: Callable[..., int] = os.sendfile

    def counting_sendfile(*args: Any) -> int:
        nonlocal sendfile_calls
        sendfile_calls += 1
        return real_sendfile(*args)

    monkeypatch.setattr(os, "sendfile", counting_sendfile)
    app = http_file.FileApp(str(path))
    with running_server(app, loop=loop_name) as server, server.connect() as sock:
        reader = ResponseReader(sock)
        for _ in range(2):  # the connection stays usable after a file response
            sock.sendall(get("/file"))
            response = reader.read_response()
            assert response.status == 200
            assert response.body == data
            # Both paths know the file's size: zero copy on asyncio, iterated on uvloop.
            assert response.header("content-length") == str(len(data))
            assert app.closed.wait(5), "the file must be closed after it was sent"
    if loop_name == "asyncio":
        assert sendfile_calls > 0, "the asyncio loop should send the file with os.sendfile"
    else:
        assert sendfile_calls == 0, "uvloop has no loop.sendfile: the file is iterated"


def test_file_response_to_a_client_that_reads_nothing_is_cut_after_the_send_timeout(
    loop_name: str, tmp_path: Path
) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(32 * MiB))
    app = http_file.FileApp(str(path))
    options: dict[str, Any] = {"loop": loop_name, "send_timeout": 0.3, "response_buffer_size": 64 * KiB}
    with running_server(app, **options) as server, small_rcvbuf_connection(server.port) as sock:
        sock.sendall(get("/file", version="1.0"))  # closed after the response, cut or not
        time.sleep(1.5)  # the client reads nothing for five send timeouts
        reader = ResponseReader(sock)
        read_head(reader)
        received, _ = read_hashed_body(reader, 1 << 40)  # what was in flight, then EOF
    assert received < 32 * MiB, "the server must cut a client that reads nothing"


# Shutdown ----------------------------------------------------------------------------------------------


def worker_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name.startswith("aiowsgi-worker")}


def test_pool_threads_are_joined_on_shutdown() -> None:
    before = worker_threads()
    with running_server(hello.app, threads=4) as server:
        started = worker_threads() - before
        assert len(started) == 4
        assert request(server, get("/")).status == 200
    assert not any(thread.is_alive() for thread in started)
    assert not worker_threads() - before
