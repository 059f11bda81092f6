"""Test helpers: a real server on 127.0.0.1:0 in a background loop thread, and a strict HTTP/1.1 reader.

`running_server(app, **options)` starts `aiowsgi.Server` on its own event loop in a thread, waits for
`start()` to return (the socket is bound and accepting: no sleeps, no port races), yields a handle with
the bound port, and shuts the server down (gracefully, joining its worker threads) on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiowsgi
from aiowsgi.loops import loop_factory

TIMEOUT = 10.0


@dataclass
class RunningServer:
    server: aiowsgi.Server
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread

    @property
    def port(self) -> int:
        return self.server.sockets[0].getsockname()[1]

    @property
    def address(self) -> Any:
        return self.server.sockets[0].getsockname()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, coro: Any, timeout: float = TIMEOUT) -> Any:
        """Run a coroutine on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def connect(self, timeout: float = TIMEOUT) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return sock


@contextlib.contextmanager
def running_server(app: Any, loop: str = "asyncio", **options: Any) -> Iterator[RunningServer]:
    options.setdefault("port", 0)
    options.setdefault("access_log", False)
    new_loop = loop_factory(loop)()
    ready = threading.Event()

    def run_loop() -> None:
        asyncio.set_event_loop(new_loop)
        ready.set()
        new_loop.run_forever()

    thread = threading.Thread(target=run_loop, name="test-server-loop", daemon=True)
    thread.start()
    ready.wait(TIMEOUT)
    server = aiowsgi.Server(app, **options)
    handle = RunningServer(server, new_loop, thread)
    try:
        handle.call(server.start())
        yield handle
    finally:
        try:
            handle.call(server.shutdown(timeout=5), timeout=15)
        finally:
            new_loop.call_soon_threadsafe(new_loop.stop)
            thread.join(TIMEOUT)
            new_loop.close()


@dataclass
class Response:
    status: int
    reason: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes
    raw_head: bytes = b""
    trailers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """The value of `name` (case-insensitive); several are joined with ', '."""
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None

    def header_count(self, name: str) -> int:
        return sum(1 for k, _ in self.headers if k.lower() == name.lower())


class ResponseReader:
    """Reads responses one at a time from a socket, following their framing exactly (RFC 9112 section 6)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buffer += data
        return True

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            if not self._fill():
                raise ConnectionError(f"connection closed before {marker!r}; have {self.buffer[:200]!r}")
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def _read_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            if not self._fill():
                raise ConnectionError(f"connection closed with {len(self.buffer)} of {n} bytes")
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def read_response(self, method: str = "GET") -> Response:
        """One final response (interim 1xx responses are skipped unless they are all there is)."""
        while True:
            raw_head = self._read_until(b"\r\n\r\n")
            lines = raw_head.decode("latin-1").split("\r\n")
            version, status_text, *reason = lines[0].split(" ", 2)
            status = int(status_text)
            headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
            response = Response(status, reason[0] if reason else "", version, headers, b"", raw_head)  # type: ignore[arg-type]
            if 100 <= status < 200:
                continue
            break
        if method == "HEAD" or status in (204, 304):
            return response
        if (response.header("transfer-encoding") or "").lower() == "chunked":
            body = b""
            while True:
                size = int(self._read_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    trailer = self._read_until(b"\r\n\r\n") if not self.buffer.startswith(b"\r\n") else b""
                    if not trailer:
                        self._read_exact(2)
                    break
                body += self._read_exact(size)
                assert self._read_exact(2) == b"\r\n", "chunk not followed by CRLF"
            response.body = body
        elif response.header("content-length") is not None:
            response.body = self._read_exact(int(response.header("content-length") or 0))
        else:
            while self._fill():
                pass
            response.body, self.buffer = self.buffer, b""
        return response

    def at_eof(self, timeout: float = TIMEOUT) -> bool:
        """True when the server closes the connection with nothing more to read."""
        self.sock.settimeout(timeout)
        if self.buffer:
            return False
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True


def request(server: RunningServer, raw: bytes, method: str = "GET") -> Response:
    """Send raw bytes on a new connection and read one response."""
    with server.connect() as sock:
        sock.sendall(raw)
        return ResponseReader(sock).read_response(method)


def exchange(
    server: RunningServer, raw: bytes, count: int = 1, methods: list[str] | None = None
) -> list[Response]:
    """Send raw bytes (possibly several pipelined requests) and read `count` responses."""
    with server.connect() as sock:
        sock.sendall(raw)
        reader = ResponseReader(sock)
        return [reader.read_response((methods or ["GET"] * count)[i]) for i in range(count)]


def get(path: str = "/", host: str = "test", extra: str = "", version: str = "1.1") -> bytes:
    return f"GET {path} HTTP/{version}\r\nHost: {host}\r\n{extra}\r\n".encode("latin-1")


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape_metrics(port: int, path: str = "/metrics") -> Samples:
    """One scrape of a --metrics-bind listener, read with prometheus_client's own parser:
    (sample name, sorted label pairs) -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(get(path, extra="Connection: close\r\n"))
        response = ResponseReader(sock).read_response()
    assert response.status == 200, response
    assert (response.header("content-type") or "").startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def metric(samples: Samples, name: str, **labels: str) -> float:
    """The value of one sample; KeyError if the exposition has no such sample."""
    return samples[(name, tuple(sorted(labels.items())))]


def free_port() -> int:
    """A port that was free a moment ago, for an external server (nginx, HAProxy) that binds it itself.

    Our own servers never use this (they bind port 0 and report what they got); a program that takes a
    port number on its command line leaves no other way, and the race is a narrow one on loopback.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: Any, timeout: float = TIMEOUT) -> str | None:
    """Wait until an external server accepts on `port`; the reason it did not, or None once it does."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            return f"exited with status {process.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return None
        except OSError:
            if time.monotonic() > deadline:
                return f"did not listen on {port} within {timeout}s"
            time.sleep(0.02)
