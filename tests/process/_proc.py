"""Helpers for running `python -m aiowsgi` as a child process.

`serving(args)` starts the server, reads its stderr on a background thread, waits (with a deadline, no
sleeps) for the startup line `aiowsgi <version> listening on ADDRESSES (parser P, loop L, N threads)`, and
yields a handle with the parsed addresses. On exit the child is killed if it is still running, so no test
leaves a process behind. `run_cli(args)` runs the command line to completion, for the error paths.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import Response, ResponseReader

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 15.0
TIMEOUT = 10.0

STARTUP_LINE = re.compile(
    r"aiowsgi (?P<version>\S+) listening on (?P<addresses>.+) "
    r"\(parser (?P<parser>\S+), loop (?P<loop>\S+), (?P<threads>\d+) threads\)"
)


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child: the repo root importable, no stray AIOWSGI_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOWSGI_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "200"  # keep argparse from wrapping --help mid-line in surprising places
    env.update(extra or {})
    return env


def command(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "aiowsgi", *args]


def run_cli(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    pass_fds: Sequence[int] = (),
    timeout: float = 20.0,
    cwd: Path = REPO_ROOT,
) -> subprocess.CompletedProcess[str]:
    """Run the command line to completion (it is expected to exit on its own) and capture its output."""
    return subprocess.run(
        command(args),
        env=child_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        pass_fds=tuple(pass_fds),
    )


@dataclass
class ServerProcess:
    proc: subprocess.Popen[str]
    startup: re.Match[str]
    _lines: list[str] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _reader: threading.Thread | None = None

    @property
    def addresses(self) -> list[str]:
        return self.startup["addresses"].split(", ")

    @property
    def port(self) -> int:
        """The port of the first TCP address in the startup line."""
        for address in self.addresses:
            if address.startswith("http://"):
                return int(address.rpartition(":")[2])
        raise AssertionError(f"no TCP address in {self.startup[0]!r}")

    @property
    def stderr(self) -> str:
        """Everything the child has written to stderr so far (all of it once the child has exited)."""
        with self._changed:
            return "".join(self._lines)

    def wait_for_line(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        """The first stderr line matching the regex `pattern`, waiting for it up to `timeout` seconds."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self._lines:
                    found = regex.search(line)
                    if found:
                        return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._reader is None or not self._reader.is_alive():
                    raise AssertionError(f"no line matching {pattern!r} in stderr:\n{''.join(self._lines)}")
                self._changed.wait(remaining)

    def connect(self, timeout: float = TIMEOUT) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def get(self, path: str = "/", headers: str = "") -> Response:
        """One GET on a new connection that the server is asked to close."""
        with self.connect() as sock:
            sock.sendall(http_get(path, "Connection: close\r\n" + headers))
            return ResponseReader(sock).read_response()

    def send(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = TIMEOUT) -> int:
        """Signal the child, wait for it to exit and for its stderr to be read; return the exit status."""
        self.proc.send_signal(signum)
        return self.wait(timeout)

    def wait(self, timeout: float = TIMEOUT) -> int:
        status = self.proc.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout)
        return status


def http_get(path: str = "/", headers: str = "", host: str = "test") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode("latin-1")


@contextlib.contextmanager
def serving(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    pass_fds: Sequence[int] = (),
    port_zero: bool = True,
    cwd: Path = REPO_ROOT,
) -> Iterator[ServerProcess]:
    """Start `python -m aiowsgi ARGS` in `cwd` and yield once it has printed its startup line.

    `--port 0` is added unless `port_zero` is false or the arguments bind somewhere themselves.
    """
    argv = list(args)
    if port_zero and not any(a.startswith(("--port", "--bind", "-b")) for a in argv):
        argv += ["--port", "0"]
    proc = subprocess.Popen(
        command(argv),
        env=child_env(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        pass_fds=tuple(pass_fds),
    )
    lines: list[str] = []
    changed = threading.Condition()

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            with changed:
                lines.append(line)
                changed.notify_all()
        with changed:
            changed.notify_all()

    reader = threading.Thread(target=read_stderr, name="aiowsgi-stderr", daemon=True)
    reader.start()
    try:
        startup = _wait_for_startup(proc, lines, changed, reader)
        yield ServerProcess(proc, startup, lines, changed, reader)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(TIMEOUT)
        reader.join(TIMEOUT)
        if proc.stderr is not None:
            proc.stderr.close()


def _wait_for_startup(
    proc: subprocess.Popen[str], lines: list[str], changed: threading.Condition, reader: threading.Thread
) -> re.Match[str]:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with changed:
        while True:
            for line in lines:
                found = STARTUP_LINE.search(line)
                if found:
                    return found
            remaining = deadline - time.monotonic()
            if not reader.is_alive() or remaining <= 0:
                output = "".join(lines)
                raise AssertionError(f"server did not start (exit status {proc.poll()}); stderr:\n{output}")
            changed.wait(remaining)


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT, what: str = "condition") -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


def refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def skip_without_ipv6_loopback() -> None:
    """Skip the calling test where this machine cannot bind ::1."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("IPv6 loopback (::1) is not configured here")
