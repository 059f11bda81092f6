"""The embedding API inside an asyncio program, on both loops: serve(), Server, start(), shutdown().

Each test runs its own asyncio program with `asyncio.Runner(loop_factory=...)`; the server and the test's
client share that loop, and applications that must be "in flight" wait on threading.Events (no sleeps).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

import aiowsgi
from aiowsgi.errors import ConfigError
from aiowsgi.loops import loop_factory
from tests.apps.hello import app as hello
from tests.apps.wsgi_gate import GateApp
from tests.support import TIMEOUT

T = TypeVar("T")

QUIET = {"access_log": False, "threads": 2}


def run(loop_name: str, main: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(main(), TIMEOUT * 2)

    with asyncio.Runner(loop_factory=loop_factory(loop_name)) as runner:
        return runner.run(bounded())


def worker_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("aiowsgi-worker-")}


def listening_socket() -> socket.socket:
    return socket.create_server(("127.0.0.1", 0))


def port_of(server: aiowsgi.Server) -> int:
    port: int = server.sockets[0].getsockname()[1]
    return port


class Client:
    """One HTTP/1.1 connection on the running loop."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    def send(self, path: str = "/", close: bool = False) -> None:
        extra = "Connection: close\r\n" if close else ""
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: test\r\n{extra}\r\n".encode())

    async def response(self) -> tuple[int, dict[str, str], bytes]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = await self.reader.readexactly(int(headers["content-length"]))
        return int(lines[0].split()[1]), headers, body

    async def at_eof(self) -> bool:
        try:
            return await self.reader.read(1) == b""
        except ConnectionResetError:
            return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


async def fetch(port: int, path: str = "/") -> tuple[int, dict[str, str], bytes]:
    client = await Client.connect(port)
    try:
        client.send(path, close=True)
        return await client.response()
    finally:
        await client.close()


async def refused(port: int) -> bool:
    try:
        client = await Client.connect(port)
    except ConnectionRefusedError:
        return True
    await client.close()
    return False


async def wait_thread_event(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, TIMEOUT), "the application was not reached"


# serve() -----------------------------------------------------------------------------------------------


def test_serve_runs_until_cancelled_and_finishes_the_request_in_flight(loop_name: str) -> None:
    app = GateApp()
    before = worker_threads()

    async def main() -> None:
        listener = listening_socket()
        port = listener.getsockname()[1]
        serving = asyncio.create_task(aiowsgi.serve(app, sockets=[listener], **QUIET))
        status, _, body = await fetch(port, "/")
        assert (status, body) == (200, b"fast")
        client = await Client.connect(port)
        client.send("/slow")
        await wait_thread_event(app.entered)
        serving.cancel()
        # Cancellation is a graceful shutdown: it waits for the request the application is running.
        done, _ = await asyncio.wait([serving], timeout=0.2)
        assert not done
        app.release.set()
        status, headers, body = await client.response()
        assert (status, body) == (200, b"slow")
        assert headers.get("connection") == "close"
        assert await client.at_eof()
        await client.close()
        with pytest.raises(asyncio.CancelledError):
            await serving
        assert await refused(port)

    run(loop_name, main)
    assert not {t for t in worker_threads() - before if t.is_alive()}


@pytest.mark.parametrize("ticks", [0, 1, 2, 3, 5])
def test_serve_cancelled_while_starting_leaves_nothing_behind(loop_name: str, ticks: int) -> None:
    before = worker_threads()

    async def main() -> None:
        serving = asyncio.create_task(aiowsgi.serve(hello, port=0, **QUIET))
        for _ in range(ticks):
            await asyncio.sleep(0)
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving

    run(loop_name, main)
    assert not {t for t in worker_threads() - before if t.is_alive()}


def test_serve_rejects_unknown_options(loop_name: str) -> None:
    async def main() -> None:
        with pytest.raises(ConfigError, match="no_such_option"):
            await aiowsgi.serve(hello, port=0, no_such_option=1)

    run(loop_name, main)


def test_unknown_or_invalid_option_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="no_such_option"):
        aiowsgi.Server(hello, no_such_option=1)
    with pytest.raises(ConfigError, match="threads"):
        aiowsgi.Server(hello, threads=0)


# Server --------------------------------------------------------------------------------------------------


def test_async_with_server(loop_name: str) -> None:
    before = worker_threads()

    async def main() -> None:
        async with aiowsgi.Server(hello, port=0, **QUIET) as server:
            assert server.started.is_set()
            port = port_of(server)
            status, _, body = await fetch(port)
            assert (status, body) == (200, b"Hello, world!")
        assert server.stopped.is_set()
        assert await refused(port)

    run(loop_name, main)
    assert not {t for t in worker_threads() - before if t.is_alive()}


def test_start_returns_only_once_accepting(loop_name: str) -> None:
    async def main() -> None:
        server = aiowsgi.Server(hello, port=0, **QUIET)
        assert server.sockets == []
        await server.start()
        try:
            # No waiting of any kind: the first connection right after start() is answered.
            status, _, _ = await fetch(port_of(server))
            assert status == 200
            with pytest.raises(RuntimeError):
                await server.start()
        finally:
            await server.shutdown()

    run(loop_name, main)


def test_shutdown_is_graceful(loop_name: str) -> None:
    app = GateApp()
    before = worker_threads()

    async def main() -> None:
        server = aiowsgi.Server(app, port=0, **QUIET)
        await server.start()
        port = port_of(server)
        idle = await Client.connect(port)
        idle.send("/")
        assert (await idle.response())[0] == 200  # keep-alive: now idle
        busy = await Client.connect(port)
        busy.send("/slow")
        await wait_thread_event(app.entered)

        stopping = asyncio.create_task(server.shutdown(timeout=TIMEOUT))
        assert await asyncio.wait_for(idle.at_eof(), TIMEOUT), "the idle connection must be closed"
        assert await refused(port), "no new connections during shutdown"
        assert not stopping.done(), "shutdown must wait for the request in flight"

        app.release.set()
        status, headers, body = await busy.response()
        assert (status, body) == (200, b"slow")
        assert headers.get("connection") == "close"
        assert await busy.at_eof()
        await stopping
        assert server.stopped.is_set()
        assert await refused(port)
        for client in (idle, busy):
            await client.close()

    run(loop_name, main)
    assert not {t for t in worker_threads() - before if t.is_alive()}, "worker threads must be joined"


def test_shutdown_timeout_cuts_a_long_request(loop_name: str, caplog: pytest.LogCaptureFixture) -> None:
    app = GateApp()
    before = worker_threads()

    async def main() -> None:
        server = aiowsgi.Server(app, port=0, **QUIET)
        await server.start()
        client = await Client.connect(port_of(server))
        client.send("/slow")
        await wait_thread_event(app.entered)
        await asyncio.wait_for(server.shutdown(timeout=0.2), TIMEOUT)
        assert server.stopped.is_set()
        assert await client.at_eof(), "the connection still busy at the timeout is cut"
        await client.close()

    try:
        run(loop_name, main)
        assert any("graceful timeout" in r.getMessage() for r in caplog.records)
    finally:
        app.release.set()
        for thread in worker_threads() - before:
            thread.join(TIMEOUT)
    assert app.finished.is_set()


def test_embedding_installs_no_signal_handlers_and_configures_no_logging(loop_name: str) -> None:
    signals = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1]
    loggers = [logging.getLogger(name) for name in ("aiowsgi", "aiowsgi.error", "aiowsgi.access")]

    def snapshot(loop: asyncio.AbstractEventLoop) -> Any:
        return (
            [signal.getsignal(s) for s in signals],
            dict(getattr(loop, "_signal_handlers", {})),
            list(logging.root.handlers),
            logging.root.level,
            [(list(lg.handlers), lg.level, lg.propagate, lg.disabled) for lg in loggers],
        )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        before = snapshot(loop)
        listener = listening_socket()
        serving = asyncio.create_task(aiowsgi.serve(hello, sockets=[listener], threads=2))  # access log on
        status, _, _ = await fetch(listener.getsockname()[1])
        assert status == 200
        assert snapshot(loop) == before
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving
        async with aiowsgi.Server(hello, port=0, threads=2) as server:
            assert (await fetch(port_of(server)))[0] == 200
            assert snapshot(loop) == before
        assert snapshot(loop) == before
        assert logging.getLogger("aiowsgi.error").handlers == []

    run(loop_name, main)


def test_two_servers_and_another_task_share_the_loop(loop_name: str) -> None:
    slow_app = GateApp()

    async def main() -> None:
        ticks = 0
        target = asyncio.Event()
        goal = 0

        async def counter() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                if goal and ticks >= goal:
                    target.set()
                await asyncio.sleep(0.001)

        ticking = asyncio.create_task(counter())
        async with (
            aiowsgi.Server(slow_app, port=0, **QUIET) as first,
            aiowsgi.Server(hello, port=0, **QUIET) as second,
        ):
            assert port_of(first) != port_of(second)
            busy = await Client.connect(port_of(first))
            busy.send("/slow")
            await wait_thread_event(slow_app.entered)
            # While the first server's application blocks a thread, the other server and task run on.
            status, _, body = await fetch(port_of(second))
            assert (status, body) == (200, b"Hello, world!")
            goal = ticks + 5
            await asyncio.wait_for(target.wait(), TIMEOUT)
            slow_app.release.set()
            status, _, body = await busy.response()
            assert (status, body) == (200, b"slow")
            await busy.close()
        ticking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await ticking

    run(loop_name, main)


def test_server_sockets_report_the_bound_address(loop_name: str) -> None:
    async def main() -> None:
        async with aiowsgi.Server(hello, port=0, **QUIET) as server:
            (sock,) = server.sockets
            host, port = sock.getsockname()[:2]
            assert host == "127.0.0.1"
            assert port != 0
            assert re.fullmatch(r"\d+", str(port))

    run(loop_name, main)
