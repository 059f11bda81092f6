"""`--workers N`: a supervisor and N server processes on shared sockets, and the signals that steer them.

Every app here answers its process ID, so a test sees which worker served each request. Each worker logs
its own startup line (with its PID in the log prefix); the supervisor logs what it does to them. Timeouts
are small so that the whole file runs in well under a minute.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.process._proc import ServerProcess, http_get, run_cli, serving, wait_until
from tests.support import ResponseReader

APP = "tests.process.apps.workers:pid"
BLOCK_APP = "tests.process.apps.workers:block_loop"
SLOW = "tests.process.apps.misc:slow"
QUICK = ["--graceful-timeout", "5", "--no-access-log"]
LISTENING = re.compile(r"\[(\d+)\] INFO: aiowsgi \S+ listening on ")


def started_pids(server: ServerProcess) -> list[int]:
    """The PIDs of every worker that has logged its startup line, in order."""
    return [int(found[1]) for found in LISTENING.finditer(server.stderr)]


def wait_for_workers(server: ServerProcess, count: int) -> list[int]:
    """Wait until `count` workers in all have started; return their PIDs."""
    wait_until(lambda: len(started_pids(server)) >= count, what=f"{count} worker startup lines")
    return started_pids(server)


def wait_for_stopped(server: ServerProcess, pids: list[int]) -> None:
    for pid in pids:
        server.wait_for_line(rf"worker {pid} stopped")


def answer_pid(server: ServerProcess, query: str = "") -> int:
    response = server.get(f"/{query}")
    assert response.status == 200
    return int(response.body)


def requests_on_both(server: ServerProcess, pids: set[int]) -> int:
    """Requests from a few clients until each worker in `pids` has answered some; how many were made."""
    seen: Counter[int] = Counter()
    lock = threading.Lock()

    def client() -> None:
        for _ in range(100):
            pid = answer_pid(server, "?seconds=0.01")
            with lock:
                seen[pid] += 1
                if set(seen) >= pids:
                    return

    threads = [threading.Thread(target=client) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert set(seen) == pids, f"answers by worker: {seen}"
    return sum(seen.values())


class Load:
    """Clients in threads, each sending one request per new connection, for as long as the block runs."""

    def __init__(self, server: ServerProcess, clients: int = 2) -> None:
        self.server = server
        self.answers: list[int] = []  # the PID that answered each request, in order
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                pid = answer_pid(self.server)
            except (OSError, AssertionError, ValueError) as exc:
                with self._lock:
                    self.failures.append(repr(exc))
                continue
            with self._lock:
                self.answers.append(pid)

    def answered_since(self, mark: int) -> set[int]:
        with self._lock:
            return set(self.answers[mark:])

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        wait_until(lambda: len(self.answers) >= 5, what="the load to get going")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)


@pytest.fixture
def workers2() -> Iterator[ServerProcess]:
    with serving([APP, "--workers", "2", *QUICK]) as server:
        wait_for_workers(server, 2)
        yield server


def test_each_worker_is_a_process_of_its_own_and_answers(workers2: ServerProcess) -> None:
    pids = set(started_pids(workers2))
    assert len(pids) == 2
    assert workers2.proc.pid not in pids
    assert "aiowsgi supervisor" in workers2.stderr
    requests_on_both(workers2, pids)
    assert workers2.stop() == 0


def test_one_worker_is_no_supervisor() -> None:
    with serving([APP, *QUICK]) as server:
        assert answer_pid(server) == server.proc.pid
        assert "supervisor" not in server.stderr
        assert server.stop() == 0


def test_a_killed_worker_is_replaced_at_once(workers2: ServerProcess) -> None:
    victim, survivor = started_pids(workers2)
    with Load(workers2, clients=1) as load:
        workers2.wait_for_line(r"starting 2 workers")
        mark = len(load.answers)
        os.kill(victim, signal.SIGKILL)
        workers2.wait_for_line(rf"worker {victim} was killed by SIGKILL; starting a replacement")
        (replacement,) = set(wait_for_workers(workers2, 3)) - {victim, survivor}
        wait_until(lambda: replacement in load.answered_since(mark), what="the replacement to answer")
    # Only the request the killed worker was running, if it had one, may fail.
    assert len(load.failures) <= 1, load.failures


def test_hup_replaces_every_worker_under_load_without_a_failed_request(workers2: ServerProcess) -> None:
    old = started_pids(workers2)
    with Load(workers2, clients=3) as load:
        before = len(load.answers)
        workers2.send(signal.SIGHUP)
        new = wait_for_workers(workers2, 4)[2:]
        wait_for_stopped(workers2, old)
        mark = len(load.answers)
        wait_until(lambda: len(load.answers) >= mark + 30, what="requests after the reload")
    # The old workers served while the new ones started: the load ran through the whole reload.
    assert set(old) & set(load.answers[before:mark])
    assert not set(old) & set(new)
    assert load.answered_since(mark) <= set(new)
    assert load.failures == [], f"{len(load.failures)} failed of {len(load.answers)}: {load.failures[:5]}"
    assert len(load.answers) - before >= 30
    assert workers2.stop() == 0


def test_term_lets_a_request_in_flight_finish_and_exits_0(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    with serving([SLOW, "--workers", "2", *QUICK]) as server:
        wait_for_workers(server, 2)
        with server.connect() as sock:
            sock.sendall(http_get(f"/?seconds=2&marker={quote(str(marker))}"))
            wait_until(marker.exists, what="the request to start")
            started = time.monotonic()
            server.send(signal.SIGTERM)
            response = ResponseReader(sock).read_response()
        assert response.status == 200
        assert response.body == b"finished"
        assert time.monotonic() - started > 1.0
        assert server.wait() == 0
    assert "supervisor stopped" in server.stderr


def test_ttin_adds_a_worker_and_ttou_removes_one(workers2: ServerProcess) -> None:
    workers2.send(signal.SIGTTIN)
    workers2.wait_for_line(r"received SIGTTIN: 3 workers")
    pids = wait_for_workers(workers2, 3)
    workers2.send(signal.SIGTTOU)
    found = workers2.wait_for_line(r"stopping worker (\d+) \(one worker fewer\)")
    assert int(found[1]) in pids
    workers2.wait_for_line(rf"worker {found[1]} stopped")
    workers2.send(signal.SIGTTOU)
    workers2.wait_for_line(r"received SIGTTOU: 1 workers")
    # The worker is stopped after the signal is handled; a third signal sent before that would be handled
    # with the second, and its answer logged before the second's stop.
    fewer = r"stopping worker \d+ \(one worker fewer\)"
    wait_until(lambda: len(re.findall(fewer, workers2.stderr)) == 2, what="a second worker to be stopped")
    workers2.send(signal.SIGTTOU)
    workers2.wait_for_line(r"already down to one worker")
    assert len(re.findall(fewer, workers2.stderr)) == 2
    assert len(started_pids(workers2)) == 3
    assert workers2.stop() == 0


def test_max_requests_recycles_workers_without_a_failed_request() -> None:
    args = [APP, "--workers", "2", "--max-requests", "15", "--max-requests-jitter", "5", *QUICK]
    with serving(args) as server:
        first = set(wait_for_workers(server, 2))
        with Load(server, clients=2) as load:
            wait_until(lambda: len(started_pids(server)) >= 5, what="workers to be recycled")
            server.wait_for_line(r"has served --max-requests: starting its replacement")
            mark = len(load.answers)
            wait_until(lambda: len(load.answers) >= mark + 10, what="requests after recycling")
        assert load.failures == [], load.failures
        assert set(load.answers) - first, "no replacement answered"
        assert "served --max-requests" in server.stderr
        assert server.stop() == 0


def test_a_worker_whose_loop_is_blocked_is_killed_after_timeout() -> None:
    with serving([BLOCK_APP, "--workers", "2", "--timeout", "1", *QUICK]) as server:
        first = wait_for_workers(server, 2)
        with server.connect() as sock:
            sock.sendall(http_get("/block?seconds=60"))
            found = server.wait_for_line(
                r"worker (\d+): its event loop has been blocked for (\d+\.\d)s \(--timeout 1s\); killing it"
            )
        assert int(found[1]) in first
        assert 1.0 <= float(found[2]) < 5.0
        replacement = wait_for_workers(server, 3)[2]
        wait_until(lambda: answer_pid(server) == replacement, what="the replacement to answer")
        assert server.stop() == 0


def test_an_application_that_cannot_start_stops_the_supervisor_with_one_clear_message() -> None:
    started = time.monotonic()
    result = run_cli(["tests.process.apps.no_such_module:app", "--workers", "2", "--port", "0"])
    assert result.returncode == 1, result.stderr
    assert time.monotonic() - started < 10
    assert "the application cannot start" in result.stderr
    assert "rather than restarting" in result.stderr
    # Each of the first two workers fails once; none is restarted.
    assert result.stderr.count("aiowsgi: error:") <= 2, result.stderr


def test_pid_file_holds_the_supervisor_and_is_removed_on_exit(tmp_path: Path) -> None:
    pid_file = tmp_path / "aiowsgi.pid"
    with serving([APP, "--workers", "2", "--pid", str(pid_file), *QUICK]) as server:
        wait_for_workers(server, 2)
        assert pid_file.read_text().strip() == str(server.proc.pid)
        assert server.stop() == 0
    assert not pid_file.exists()


def test_pid_file_of_a_single_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "aiowsgi.pid"
    with serving([APP, "--pid", str(pid_file), *QUICK]) as server:
        assert pid_file.read_text().strip() == str(server.proc.pid)
        assert server.stop() == 0
    assert not pid_file.exists()


def test_request_warn_timeout_logs_a_stuck_request_once_with_its_stack(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    with serving([SLOW, "--request-warn-timeout", "0.2", *QUICK]) as server:
        with server.connect() as sock:
            sock.sendall(http_get(f"/?seconds=1.2&marker={quote(str(marker))}"))
            found = server.wait_for_line(
                r"request running for (\d+\.\d)s \(--request-warn-timeout 0.2\): GET /\?seconds=1.2&marker="
            )
            assert ResponseReader(sock).read_response().status == 200
        assert 0.2 <= float(found[1]) < 1.0
        assert server.stop() == 0
    text = server.stderr
    assert text.count("request running for") == 1
    assert "in slow" in text
    assert "time.sleep" in text
    assert "in thread aiowsgi-worker-" in text


def test_reuse_port_lets_a_second_server_bind_the_same_port() -> None:
    with serving([APP, "--workers", "2", "--reuse-port", *QUICK]) as server:
        wait_for_workers(server, 2)
        other = socket.socket()
        try:
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            other.bind(("127.0.0.1", server.port))
        finally:
            other.close()
        assert server.stop() == 0
