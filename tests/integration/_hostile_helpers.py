"""Helpers for the hostile-client suite: many sockets from one thread, the server's own counters, open-file
limits, and the temporary files and memory a server holds."""

from __future__ import annotations

import os
import resource
import select
import selectors
import socket
import struct
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.support import TIMEOUT, RunningServer

# Server-side state, read on the server's loop thread (the only thread that may touch it) -----------------


def open_connections(server: RunningServer) -> int:
    """Connections the server has accepted and not yet lost."""

    async def count() -> int:
        state = server.server._state
        assert state is not None
        return len(state.connections)

    result: int = server.call(count())
    return result


def queued_requests(server: RunningServer) -> int:
    """Complete requests waiting for a worker thread."""

    async def depth() -> int:
        state = server.server._state
        assert state is not None
        return state.pool.waiting

    result: int = server.call(depth())
    return result


def pipelined_requests(server: RunningServer) -> int:
    """The most complete requests any one connection holds, read ahead, waiting for the one that runs."""

    async def deepest() -> int:
        state = server.server._state
        assert state is not None
        return max((len(connection._pipeline) for connection in state.connections), default=0)

    result: int = server.call(deepest())
    return result


# Process limits and resources ----------------------------------------------------------------------------


def raise_open_file_limit(needed: int) -> None:
    """Raise the soft RLIMIT_NOFILE to the hard limit; skip the test if that is still below `needed`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            pytest.skip(f"cannot raise the open-file limit from {soft} to {needed}: {exc}")
        soft = hard
    if soft != resource.RLIM_INFINITY and soft < needed:
        pytest.skip(f"the open-file limit ({soft}) is below the {needed} descriptors this test needs")


def _deleted_temp_file_count(fd_dir: Path) -> int:
    # TemporaryFile is an O_TMPFILE (or an unlinked mkstemp file): it shows as "<tmpdir>/... (deleted)".
    tmpdir = tempfile.gettempdir()
    count = 0
    for entry in fd_dir.iterdir():
        try:
            target = os.readlink(entry)
        except OSError:
            continue  # closed between listing and reading
        if target.startswith(tmpdir) and target.endswith(" (deleted)"):
            count += 1
    return count


def temp_files_checkable() -> bool:
    probe = tempfile.TemporaryFile()
    try:
        return Path("/proc/self/fd").is_dir() and _deleted_temp_file_count(Path("/proc/self/fd")) >= 1
    finally:
        probe.close()


def open_temp_files(pid: int | None = None) -> int:
    """Anonymous temporary files open in this process (or `pid`): spill buffers, among others."""
    return _deleted_temp_file_count(Path(f"/proc/{pid or 'self'}/fd"))


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


# Client sockets ------------------------------------------------------------------------------------------


def reset(sock: socket.socket) -> None:
    """Close with a reset, as a client that crashes or gives up would."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def push_until_blocked(sock: socket.socket, data: bytes, settle: float = 0.3) -> int:
    """Send as much of `data` as the peer takes, until it has taken nothing more for `settle` seconds;
    returns the bytes sent. A bounded negative check: a server that stopped reading stops taking bytes."""
    sock.setblocking(False)
    sent = 0
    try:
        while sent < len(data):
            try:
                sent += sock.send(data[sent : sent + 65536])
            except BlockingIOError:
                _, writable, _ = select.select([], [sock], [], settle)
                if not writable:
                    break
    finally:
        sock.setblocking(True)
        sock.settimeout(TIMEOUT)
    return sent


class Swarm:
    """Many client connections driven from one thread: plain non-blocking sockets and one selector."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sockets: list[socket.socket] = []

    def open(self, count: int) -> list[socket.socket]:
        opened = []
        for _ in range(count):
            # Loopback connects complete in the kernel's accept queue; the server accepts them on its loop.
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            opened.append(sock)
        self.sockets += opened
        return opened

    @staticmethod
    def send(socks: Iterable[socket.socket], data: bytes) -> None:
        """A few bytes to each socket; small enough that a non-blocking send takes them whole."""
        for sock in socks:
            assert sock.send(data) == len(data)

    @staticmethod
    def request_each(socks: list[socket.socket], raw: bytes, batch: int = 64) -> None:
        """Make one request on each socket, `batch` at a time: a burst past the server's request queue
        (--max-queued-requests) would rightly be answered 503."""
        for start in range(0, len(socks), batch):
            Swarm.send(socks[start : start + batch], raw)
            Swarm.read_responses(socks[start : start + batch])

    @staticmethod
    def read_responses(socks: list[socket.socket], timeout: float = TIMEOUT) -> None:
        """Read one Content-Length-framed response on each socket (for requests already sent)."""
        pending: dict[socket.socket, bytes] = {sock: b"" for sock in socks}
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            for sock in socks:
                selector.register(sock, selectors.EVENT_READ)
            while pending:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"{len(pending)} of {len(socks)} responses did not arrive"
                for key, _ in selector.select(remaining):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    data = sock.recv(65536)
                    assert data, "the server closed a connection that should stay open"
                    buffer = pending[sock] + data
                    if _complete(buffer):
                        assert buffer.startswith(b"HTTP/1.1 200 "), buffer[:100]
                        del pending[sock]
                        selector.unregister(sock)
                    else:
                        pending[sock] = buffer

    @staticmethod
    def quiet(socks: Iterable[socket.socket]) -> int:
        """How many of `socks` have nothing to read and are still open (never blocks)."""
        count = 0
        for sock in socks:
            try:
                sock.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                count += 1
            except OSError:
                pass
        return count

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets = []


def _complete(buffer: bytes) -> bool:
    head, found, body = buffer.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    raise AssertionError(f"response without Content-Length: {head!r}")
