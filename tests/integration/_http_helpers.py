"""Small raw-socket helpers shared by the HTTP/1.1, bad-request and bridge integration tests."""

from __future__ import annotations

import hashlib
import logging
import socket

import pytest

from tests.support import ResponseReader


def read_head(reader: ResponseReader) -> bytes:
    """The next response head (status line and headers, without the blank line), interim ones included."""
    return reader._read_until(b"\r\n\r\n")


def nothing_arrives(sock: socket.socket, within: float) -> bool:
    """True when the server sends nothing for `within` seconds (a bounded negative check, not a sleep)."""
    sock.settimeout(within)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except TimeoutError:
        return True
    return False  # bytes, or the end of the stream


def read_all(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout)
    parts = []
    while data := sock.recv(1 << 20):
        parts.append(data)
    return b"".join(parts)


def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Messages logged on aiowsgi.error at INFO or above, except the startup banner."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "aiowsgi.error"
        and record.levelno >= logging.INFO
        and "listening on" not in record.getMessage()
    ]


def chunked(*parts: bytes, trailers: bytes = b"") -> bytes:
    """`parts` as a chunked body, then the last chunk and `trailers` (CRLF-terminated lines)."""
    return b"".join(b"%x\r\n%b\r\n" % (len(part), part) for part in parts) + b"0\r\n" + trailers + b"\r\n"


def read_hashed_body(reader: ResponseReader, length: int) -> tuple[int, str]:
    """Read a `length`-byte body after its head without keeping it: (bytes read, SHA-256 hex)."""
    digest = hashlib.sha256()
    have = reader.buffer[:length]
    reader.buffer = reader.buffer[length:]
    digest.update(have)
    count = len(have)
    while count < length:
        try:
            data = reader.sock.recv(min(1 << 20, length - count))
        except ConnectionResetError:
            break  # the server cut us (a send timeout resets the connection)
        if not data:
            break
        digest.update(data)
        count += len(data)
    return count, digest.hexdigest()


def wait_closed(sock: socket.socket, timeout: float = 10.0) -> None:
    """Discard whatever arrives until the server closes or resets the connection; time out otherwise."""
    sock.settimeout(timeout)
    try:
        while sock.recv(1 << 20):
            pass
    except ConnectionResetError:
        pass


def small_rcvbuf_connection(port: int, size: int = 64 * 1024) -> socket.socket:
    """A client socket whose receive buffer is fixed small, so a client that does not read soon stops the
    flow (no receive-buffer autotuning to absorb megabytes)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


def small_sndbuf_listener(size: int = 32 * 1024) -> socket.socket:
    """A listening socket on 127.0.0.1:0 whose accepted connections inherit a small kernel send buffer, so
    that what the server has sent tracks what the client has read closely (for send-timeout tests)."""
    return small_buffer_listener(socket.SO_SNDBUF, size)


def small_rcvbuf_listener(size: int = 16 * 1024) -> socket.socket:
    """A listening socket on 127.0.0.1:0 whose accepted connections have a small, fixed receive buffer, so
    that what the kernel holds for a server that stops reading is small and known."""
    return small_buffer_listener(socket.SO_RCVBUF, size)


def small_buffer_listener(option: int, size: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, option, size)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock
