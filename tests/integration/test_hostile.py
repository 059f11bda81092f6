"""Hostile clients and overload: slow, idle, stalled, pipelining, flooding and vanishing clients must cost the
server bounded time, threads, memory and files, and must not slow down everyone else.

Every wait is bounded: the server's timeouts are configured small where a test holds connections open, and
readiness comes from events or the server's own counters, never from sleeping. A few tests pace a
deliberately slow client with short sleeps: the slowness is what they test.
"""

from __future__ import annotations

import hashlib
import logging
import select
import socket
import threading
import time
from pathlib import Path

import pytest

from aiowsgi.protocol import READ_AHEAD_SLICE
from tests.apps import hello, hostile_digest, http_echo
from tests.apps.hostile_recorder import Recorder
from tests.apps.hostile_stream import KiB, MiB, TrackedStreams
from tests.integration._hostile_helpers import (
    Swarm,
    fd_count,
    open_connections,
    open_temp_files,
    pipelined_requests,
    push_until_blocked,
    queued_requests,
    raise_open_file_limit,
    reset,
    rss_kib,
    temp_files_checkable,
)
from tests.integration._http_helpers import chunked, small_rcvbuf_connection, small_rcvbuf_listener
from tests.process._proc import serving, wait_until
from tests.support import ResponseReader, get, request, running_server

# How many hostile connections of each kind the crowd tests hold open at once.
CROWD = {"slowloris": 200, "uploaders": 100, "idle": 1000}
PROBES = 20  # normal requests timed while the crowd is held
PROBE_LIMIT = 0.5  # seconds; generous, a normal request takes about a millisecond
# The memory test's attack on a server subprocess, repeated after a warm-up round.
MEMORY_IDLE = 2000
MEMORY_SLOWLORIS = 200
MEMORY_ROUNDS = 3  # after one warm-up round
MEMORY_SLACK_KIB = 10 * 1024
TEMP_FILES = temp_files_checkable()
needs_temp_files = pytest.mark.skipif(not TEMP_FILES, reason="no /proc/self/fd to find open temporary files")
needs_proc = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="no /proc to read a process's RSS and descriptors"
)


@pytest.fixture
def many_descriptors() -> None:
    """Room for the crowd tests: both ends of every connection live in this process (or in its child, which
    inherits the limit)."""
    crowd = max(sum(CROWD.values()), MEMORY_IDLE + MEMORY_SLOWLORIS)
    raise_open_file_limit(2 * crowd + 256)


def timed_get(server_port: int, path: str = "/") -> tuple[float, int, bytes]:
    """A request on a fresh connection: (seconds to the whole response, status, body)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server_port), timeout=5) as sock:
        sock.sendall(get(path, extra="Connection: close\r\n"))
        response = ResponseReader(sock).read_response()
    return time.monotonic() - started, response.status, response.body


def overload_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "aiowsgi.error" and "overloaded" in r.getMessage()
    ]


# 1. A crowd of slow and idle clients does not slow anyone else down ----------------------------------------


@pytest.mark.usefixtures("many_descriptors")
def test_normal_requests_stay_fast_while_slow_and_idle_clients_are_held(loop_name: str) -> None:
    options = dict(threads=4, header_timeout=60, body_timeout=60, body_min_rate=0, keep_alive_timeout=60)
    with running_server(hello.app, loop=loop_name, **options) as server:
        swarm = Swarm(server.port)
        try:
            idle = swarm.open(CROWD["idle"])
            Swarm.request_each(idle, get("/"))  # each made one request and now waits on keep-alive
            slowloris = swarm.open(CROWD["slowloris"])
            Swarm.send(slowloris, b"GET / HTTP/1.1\r\nHost: test\r\nX-Slow: ")
            uploaders = swarm.open(CROWD["uploaders"])
            Swarm.send(uploaders, b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000\r\n\r\n")
            held = len(swarm.sockets)
            wait_until(lambda: open_connections(server) == held, what=f"the server to accept {held}")

            timings = []
            for _ in range(PROBES):
                Swarm.send(slowloris, b"s")  # one more byte of a head that never ends
                Swarm.send(uploaders, b"u")  # one more byte of a body that never ends
                elapsed, status, body = timed_get(server.port)
                assert (status, body) == (200, b"Hello, world!")
                timings.append(elapsed)
                time.sleep(0.02)  # pace the trickle: the crowd is slow on purpose
            assert max(timings) < PROBE_LIMIT, f"slowest of {PROBES}: {max(timings):.3f}s"

            # The crowd was only waiting: still held, nothing sent to it, and the idle ones still work.
            assert Swarm.quiet(swarm.sockets) == held
            assert open_connections(server) == held
            Swarm.send(idle[:20], get("/"))
            Swarm.read_responses(idle[:20])
        finally:
            swarm.close()


# 2. Clients that never read a large response hold no thread, and are cut after the send timeout ----------


@needs_temp_files
def test_stalled_readers_of_large_responses_hold_no_worker_thread(loop_name: str) -> None:
    app = TrackedStreams(50 * MiB)
    files_before = open_temp_files()
    with running_server(app, loop=loop_name, threads=4) as server:
        stalled = [small_rcvbuf_connection(server.port, 16 * KiB) for _ in range(4)]
        try:
            for index, sock in enumerate(stalled):
                sock.sendall(get(f"/big/{index}"))
            # Nobody reads, yet every invocation hands over all 50 MiB and is closed: its thread is free.
            assert app.wait_for(app.closed, 4, timeout=15), f"closed: {app.closed}"
            assert app.finished == {"0", "1", "2", "3"}
            assert open_temp_files() >= files_before + 4, "each unread response should sit in a spill file"
            elapsed, status, body = timed_get(server.port, "/fifth")
            assert (status, body) == (200, b"ok")
            assert elapsed < PROBE_LIMIT
        finally:
            for sock in stalled:
                reset(sock)
        wait_until(lambda: open_temp_files() <= files_before, what="the spill files to be closed")


def test_stalled_readers_are_cut_after_the_send_timeout_and_their_spill_files_freed(loop_name: str) -> None:
    app = TrackedStreams(50 * MiB)
    files_before = open_temp_files() if TEMP_FILES else 0
    send_timeout = 0.5
    with running_server(app, loop=loop_name, threads=4, send_timeout=send_timeout) as server:
        stalled = [small_rcvbuf_connection(server.port, 16 * KiB) for _ in range(4)]
        try:
            started = time.monotonic()
            for index, sock in enumerate(stalled):
                sock.sendall(get(f"/big/{index}"))
            assert app.wait_for(app.started, 4, timeout=5)
            # While the clients still read nothing, the server gives up on them and frees what they held.
            wait_until(lambda: open_connections(server) == 0, what="the server to cut the stalled clients")
            elapsed = time.monotonic() - started
            assert send_timeout * 0.8 <= elapsed < 10 * send_timeout
            assert app.wait_for(app.closed, 4, timeout=5), "close() must run for every cut response"
            if TEMP_FILES:
                wait_until(lambda: open_temp_files() <= files_before, what="the spill files to be closed")
            # A client that reads now gets what was already in flight, then the end of the stream.
            for sock in stalled:
                assert drain(sock) < 50 * MiB
        finally:
            for sock in stalled:
                sock.close()


def drain(sock: socket.socket, timeout: float = 10.0) -> int:
    """Read and count everything until the server's close (EOF or reset); fails on a timeout."""
    sock.settimeout(timeout)
    count = 0
    try:
        while data := sock.recv(1 << 20):
            count += len(data)
    except ConnectionResetError:
        pass
    return count


# 3. Pipelining: a thousand requests in one go, read ahead only as far as the limit ------------------------


def test_a_thousand_pipelined_requests_are_answered_in_order_with_bounded_read_ahead(
    parser_backend: str, loop_name: str
) -> None:
    count = 1000
    pad = "p" * 1000  # about 1 KiB a request: the server must pause and resume many times to read 1 MiB
    raw = b"".join(get(f"/{'block' if i == 0 else 'p'}/{i}", extra=f"X-Pad: {pad}\r\n") for i in range(count))
    app = Recorder()
    listener = small_rcvbuf_listener(16 * KiB)
    with running_server(
        app, loop=loop_name, http=parser_backend, max_pipelined_requests=4, sockets=[listener]
    ) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * KiB)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", server.port))
        with sock:
            # The first request holds the only running slot; the server reads a few more and stops.
            sent = push_until_blocked(sock, raw)
            assert app.entered.wait(5)
            assert sent < len(raw) // 4, f"the server read ahead {sent} of {len(raw)} bytes"
            app.release.set()
            sender = threading.Thread(target=sock.sendall, args=(raw[sent:],), daemon=True)
            sender.start()
            reader = ResponseReader(sock)
            bodies = [reader.read_response().body for _ in range(count)]
            sender.join(5)
    expected = [f"/{'block' if i == 0 else 'p'}/{i}" for i in range(count)]
    assert bodies == [path.encode() for path in expected]
    assert app.ran == expected


def test_read_ahead_of_tiny_pipelined_requests_is_bounded_by_the_limit(parser_backend: str) -> None:
    app = Recorder()
    limit = 4
    with (
        running_server(app, http=parser_backend, max_pipelined_requests=limit) as server,
        server.connect() as sock,
    ):
        push_until_blocked(sock, get("/block/0") + get("/p") * 8000)
        assert app.entered.wait(5)
        try:
            depth = pipelined_requests(server)
        finally:
            app.release.set()
        # Reads are parsed a slice at a time: the slice that reaches the limit may complete a few more.
        most = limit + READ_AHEAD_SLICE // len(get("/p"))
        assert depth <= most, f"{depth} requests read ahead with max_pipelined_requests={limit}"


# 4. Timeouts are deadlines: a trickle does not reset them -------------------------------------------------


def trickle(sock: socket.socket, data: bytes, piece: int, interval: float, limit: float = 10.0) -> float:
    """Send `data` `piece` bytes every `interval` seconds until the server answers (or closes); returns the
    seconds until then. Fails if the server says nothing for `limit` seconds."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    started = time.monotonic()
    for offset in range(0, len(data), piece):
        try:
            sock.sendall(data[offset : offset + piece])
        except (BrokenPipeError, ConnectionResetError):
            break
        readable, _, _ = select.select([sock], [], [], interval)
        if readable:
            break
        assert time.monotonic() - started < limit, "the server let a trickling client go on and on"
    else:
        readable, _, _ = select.select([sock], [], [], limit)
        assert readable
    return time.monotonic() - started


def test_header_timeout_is_a_deadline_for_the_whole_head(parser_backend: str) -> None:
    """A byte every 0.1 s keeps the connection busy, but the head must be complete within the timeout."""
    with (
        running_server(http_echo.app, http=parser_backend, header_timeout=0.5) as server,
        server.connect() as sock,
    ):
        head = b"GET / HTTP/1.1\r\nHost: test\r\nX-Trickle: " + b"t" * 1000
        elapsed = trickle(sock, head, piece=1, interval=0.1)
        assert 0.4 <= elapsed < 2.0
        reader = ResponseReader(sock)
        assert reader.read_response().status == 408
        assert reader.at_eof()


def test_a_crowd_of_header_timeouts_is_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    """Under a slowloris attack every connection times out: one line for the first, not one per client
    (the rest are at DEBUG), so the attack cannot flood the log."""
    crowd = 20
    caplog.set_level(logging.DEBUG, logger="aiowsgi.error")
    with running_server(http_echo.app, header_timeout=0.3) as server:
        socks = [server.connect() for _ in range(crowd)]
        try:
            for sock in socks:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n")
            for sock in socks:
                reader = ResponseReader(sock)
                assert reader.read_response().status == 408
        finally:
            for sock in socks:
                sock.close()
    lines = [r for r in caplog.records if r.name == "aiowsgi.error" and "answered 408" in r.getMessage()]
    assert len(lines) == crowd
    assert [r.levelno for r in lines].count(logging.INFO) == 1
    assert lines[0].levelno == logging.INFO
    assert "header timeout" in lines[0].getMessage()


def test_upload_slower_than_the_minimum_rate_gets_408(parser_backend: str) -> None:
    # 20 bytes every 0.05 s is 400 B/s: never a stall of body_timeout, but under body_min_rate. After the
    # grace of one body timeout it must have averaged 1000 B/s: cut at about 0.5 + 0.4 t, so t = 0.83 s.
    options = dict(body_timeout=0.5, body_min_rate=1000)
    with running_server(http_echo.app, http=parser_backend, **options) as server, server.connect() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n")
        elapsed = trickle(sock, b"u" * 100000, piece=20, interval=0.05)
        assert 0.5 <= elapsed < 3.0
        reader = ResponseReader(sock)
        assert reader.read_response().status == 408
        assert reader.at_eof()


def test_upload_at_a_steady_fine_rate_is_not_cut(parser_backend: str) -> None:
    # 200 bytes every 0.05 s is 4000 B/s, for over three body timeouts.
    options = dict(body_timeout=0.3, body_min_rate=1000)
    with running_server(http_echo.app, http=parser_backend, **options) as server, server.connect() as sock:
        body = b"".join(b"%-200d" % i for i in range(20))
        sock.sendall(b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n" % len(body))
        elapsed = trickle(sock, body, piece=200, interval=0.05)
        assert elapsed >= 0.9  # it really was slow: the response came only after the last piece
        response = ResponseReader(sock).read_response()
        assert response.status == 200
        assert response.body == body


# 5. Overload: refuse early, from the loop, with Retry-After; log once ------------------------------------


def assert_refused(reader: ResponseReader) -> None:
    response = reader.read_response()
    assert response.status == 503
    assert response.header("retry-after") == "1"
    assert response.header("connection") == "close"
    assert reader.at_eof()


def test_requests_past_the_queue_get_503_at_once_and_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="aiowsgi.error")
    app = Recorder()
    with running_server(app, threads=1, max_queued_requests=2) as server:
        running = server.connect()
        queued = [server.connect(), server.connect()]
        try:
            running.sendall(get("/block/a"))
            assert app.entered.wait(5)
            for index, sock in enumerate(queued):
                sock.sendall(get(f"/queued/{index}"))
                wait_until(lambda n=index: queued_requests(server) == n + 1, what="the request to queue")
            for index in range(30):
                started = time.monotonic()
                with server.connect() as sock:
                    sock.sendall(get(f"/refused/{index}"))
                    assert_refused(ResponseReader(sock))
                assert time.monotonic() - started < PROBE_LIMIT
            # The loop answered all that: the only thread is still blocked, and nothing else ran.
            assert app.ran == ["/block/a"]
            assert len(overload_lines(caplog)) == 1, overload_lines(caplog)

            app.release.set()
            assert ResponseReader(running).read_response().body == b"/block/a"
            assert [ResponseReader(sock).read_response().body for sock in queued] == [
                b"/queued/0",
                b"/queued/1",
            ]
            assert app.ran == ["/block/a", "/queued/0", "/queued/1"]
        finally:
            running.close()
            for sock in queued:
                sock.close()


def test_request_that_waited_past_the_queue_timeout_gets_503_instead_of_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="aiowsgi.error")
    app = Recorder()
    queue_timeout = 0.3
    with (
        running_server(app, threads=1, queue_timeout=queue_timeout) as server,
        server.connect() as running,
        server.connect() as late,
    ):
        running.sendall(get("/block/a"))
        assert app.entered.wait(5)
        late.sendall(get("/late"))
        wait_until(lambda: queued_requests(server) == 1, what="the request to queue")
        time.sleep(queue_timeout + 0.2)  # the request must wait longer than the queue timeout
        app.release.set()
        assert ResponseReader(running).read_response().body == b"/block/a"
        assert_refused(ResponseReader(late))
        assert app.ran == ["/block/a"]
        assert request(server, get("/after")).body == b"/after"
        assert app.ran == ["/block/a", "/after"]
        assert len(overload_lines(caplog)) == 1, overload_lines(caplog)
        assert "waited" in overload_lines(caplog)[0]


def test_connection_past_the_concurrency_limit_gets_503_before_sending_anything() -> None:
    limit = 3
    with running_server(hello.app, limit_concurrency=limit) as server:
        held = [server.connect() for _ in range(limit)]
        try:
            for sock in held:
                sock.sendall(get("/"))
                assert ResponseReader(sock).read_response().status == 200  # accepted, and stays open
            started = time.monotonic()
            with server.connect() as extra:
                assert_refused(ResponseReader(extra))  # it sent nothing at all
            assert time.monotonic() - started < PROBE_LIMIT
            held.pop().close()
            wait_until(lambda: open_connections(server) < limit, what="the server to see a connection go")
            assert request(server, get("/")).status == 200
        finally:
            for sock in held:
                sock.close()


# 6. Chunked framing is bounded --------------------------------------------------------------------------

CHUNKED_HEAD = b"POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize("shape", ["many-extensions", "one-endless-extension"])
def test_endless_chunk_extensions_get_400(parser_backend: str, shape: str) -> None:
    if shape == "many-extensions":
        piece = b"".join(b"1;ext%d=%s\r\nx\r\n" % (i, b"v" * 100) for i in range(40))
        first = CHUNKED_HEAD
    else:
        piece = b"v" * 4096
        first = CHUNKED_HEAD + b"1;ext="
    with running_server(hostile_digest.app, http=parser_backend) as server, server.connect() as sock:
        sock.sendall(first)
        sent = 0
        while sent < 16 * MiB:  # a hundred times the limit and then some: it must have stopped us by then
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
        reader = ResponseReader(sock)
        assert reader.read_response().status == 400
        assert reader.at_eof()


@pytest.mark.parametrize("chunk_size", [16 * KiB, 1 * KiB, 256])
def test_normal_chunked_upload_of_5_mib_passes(parser_backend: str, chunk_size: int) -> None:
    data = bytes(range(256)) * (5 * MiB // 256)
    body = chunked(*(data[i : i + chunk_size] for i in range(0, len(data), chunk_size)))
    with running_server(hostile_digest.app, http=parser_backend) as server, server.connect() as sock:
        sock.sendall(CHUNKED_HEAD + body)
        response = ResponseReader(sock).read_response()
    assert response.status == 200
    assert response.body == f"{len(data)} {hashlib.sha256(data).hexdigest()}".encode()


# 7. Clients that vanish: everything they held is freed ---------------------------------------------------


@needs_temp_files
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_client_gone_mid_request_frees_its_body_and_never_runs_the_app(
    parser_backend: str, framing: str
) -> None:
    app = Recorder()
    files_before = open_temp_files()
    with running_server(app, http=parser_backend, threads=1, body_spill_threshold=64 * KiB) as server:
        with server.connect() as sock:
            if framing == "content-length":
                sock.sendall(b"POST /half HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n" % MiB)
                sock.sendall(b"h" * (MiB // 2))
            else:
                sock.sendall(CHUNKED_HEAD.replace(b"/ ", b"/half ") + chunked(b"h" * (MiB // 2))[:-5])
            wait_until(lambda: open_temp_files() > files_before, what="the body to spill to a temporary file")
            reset(sock)
        wait_until(lambda: open_temp_files() <= files_before, what="the body's temporary file to be closed")
        wait_until(lambda: open_connections(server) == 0, what="the server to drop the connection")
        assert request(server, get("/next")).body == b"/next"  # threads=1: the thread is free
        assert app.ran == ["/next"]


@needs_temp_files
@pytest.mark.parametrize("worker", ["blocked-on-the-client", "finished"])
def test_client_gone_mid_response_frees_the_thread_the_iterable_and_the_spill(
    loop_name: str, worker: str
) -> None:
    files_before = open_temp_files()
    if worker == "finished":
        app = TrackedStreams(8 * MiB)  # under the high-water mark: the worker hands over all of it
        options: dict[str, int] = {}
    else:
        app = TrackedStreams(64 * MiB)
        options = dict(response_buffer_size=1 * MiB, response_spill_threshold=64 * KiB)
    with running_server(app, loop=loop_name, threads=1, **options) as server:
        with small_rcvbuf_connection(server.port, 16 * KiB) as sock:
            sock.sendall(get("/big/gone"))
            if worker == "finished":
                assert app.wait_for(app.closed, 1, timeout=10)  # all of it handed over, none of it read
            else:
                assert app.wait_for(app.started, 1, timeout=10)  # it will block at the high-water mark
            wait_until(lambda: open_temp_files() > files_before, what="the response to spill to a file")
            reset(sock)
        assert app.wait_for(app.closed, 1, timeout=5), "close() must run when the client goes away"
        assert app.finished == ({"gone"} if worker == "finished" else set())
        wait_until(lambda: open_temp_files() <= files_before, what="the spill file to be closed")
        assert request(server, get("/next")).body == b"ok"  # threads=1: the thread is free


def test_client_gone_while_its_request_waits_for_a_thread_is_never_run() -> None:
    app = Recorder()
    with running_server(app, threads=1) as server, server.connect() as running:
        running.sendall(get("/block/a"))
        assert app.entered.wait(5)
        with server.connect() as waiting:
            waiting.sendall(get("/gone"))
            wait_until(lambda: queued_requests(server) == 1, what="the request to queue")
            reset(waiting)
        wait_until(lambda: open_connections(server) == 1, what="the server to see the client go")
        app.release.set()
        assert ResponseReader(running).read_response().body == b"/block/a"
        assert request(server, get("/next")).body == b"/next"
        assert app.ran == ["/block/a", "/next"]
        # close() runs after the last byte is handed over, so it may follow the response by a moment.
        wait_until(lambda: sorted(app.closed) == ["/block/a", "/next"], what="both iterables to be closed")


# 8. Memory after an attack returns to where it was ---------------------------------------------------------


def attack_round(port: int, pid: int, fds_before: int) -> int:
    """Hold MEMORY_IDLE idle keep-alive connections and MEMORY_SLOWLORIS partial heads, then close them all
    and wait until the server has too; returns the server's RSS (KiB) while it held them."""
    swarm = Swarm(port)
    try:
        Swarm.request_each(swarm.open(MEMORY_IDLE), get("/"))
        Swarm.send(swarm.open(MEMORY_SLOWLORIS), b"GET / HTTP/1.1\r\nHost: test\r\nX-Slow: ")
        # Within a few descriptors: the baseline may have counted a connection still closing.
        held = fds_before + MEMORY_IDLE + MEMORY_SLOWLORIS - 4
        wait_until(lambda: fd_count(pid) >= held, what="the server to accept every connection")
        peak = rss_kib(pid)
    finally:
        swarm.close()
    wait_until(lambda: fd_count(pid) <= fds_before, what="the server to close every connection")
    return peak


@needs_proc
@pytest.mark.usefixtures("many_descriptors")
def test_memory_returns_near_its_level_after_an_attack(loop_name: str) -> None:
    """A leak check, not an allocator benchmark: the first round raises the allocator's high-water mark
    (memory it keeps for reuse), so the level is taken after it, and later rounds must not add to it."""
    args = [
        "tests.apps.hello:app",
        "--loop", loop_name,
        "--threads", "4",
        "--keep-alive-timeout", "60",
        "--header-timeout", "60",
        "--no-access-log",
    ]  # fmt: skip
    with serving(args) as proc:
        pid = proc.proc.pid
        for _ in range(20):
            assert proc.get().status == 200
        fds_before = fd_count(pid)
        first_level = rss_kib(pid)
        warm_peak = attack_round(proc.port, pid, fds_before)
        rss_before = rss_kib(pid)
        peaks = [attack_round(proc.port, pid, fds_before) for _ in range(MEMORY_ROUNDS)]
        assert proc.get().status == 200
        rss_after = rss_kib(pid)
        report = (
            f"RSS (KiB): at start {first_level}, warm-up peak {warm_peak}, before {rss_before}, "
            f"peaks {peaks}, after {rss_after}"
        )
        assert rss_after - rss_before < MEMORY_SLACK_KIB, report
        assert max(peaks) - warm_peak < MEMORY_SLACK_KIB, report
