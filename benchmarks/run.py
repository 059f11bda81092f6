"""Benchmark aiowsgi against its peers, side by side, in one run.

    python benchmarks/run.py --duration 5
    python benchmarks/run.py --scenarios attack idle-memory
    python benchmarks/run.py --scenarios a b c d e f j k    # the throughput scenarios, by letter

Each server runs as one process with the same number of threads, pinned to one CPU with taskset; wrk runs
pinned to another CPU. For every server and scenario: start the server on a free port, wait until it
accepts connections, warm it up, measure with wrk, stop it. The result is a markdown table per scenario
with each server's numbers and its ratio to aiowsgi from the same run, and a JSON file with the numbers
and the machine in benchmarks/results/. Ratios from one run are what to compare: absolute numbers depend
on the machine.

`aiowsgi-w1` and `aiowsgi-w2` (--workers 1 and 2) are the scaling rows: they and their wrk runs are not
pinned, so that a second worker has a core to run on (on a 2-CPU machine, wrk shares them).

The hostile-client scenarios each start their own server processes. `attack` measures keep-alive
throughput alone and then while benchmarks/attack.py (pinned to wrk's CPU) holds slowloris, idle keep-alive
and slow-upload connections open; `idle-memory` measures the server's RSS with 5,000 idle connections open,
and how fast it answers a new request meanwhile. benchmarks/README.md says exactly how.

Needs wrk (Debian/Ubuntu: apt-get install -y wrk), aiowsgi (pip install -e ".[standard]") and the peers
(pip install -e ".[standard,bench]"); a peer that is not installed is skipped with a message.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import queue
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
APP = "benchmarks.apps:bench"  # the scenario's application is picked by the path


@dataclass(frozen=True)
class ServerSpec:
    name: str
    package: str
    options: tuple[str, ...] = ()  # extra command-line options (the variants)
    requires: tuple[str, ...] = ()  # other distributions it needs
    # Options for the idle-memory scenario only: a keep-alive timeout long enough that idle connections
    # are still open when the memory is read (the scenario measures memory, not the timeout).
    idle_options: tuple[str, ...] = ()
    # A variation of a server's defaults (aiowsgi's parser, loop and log variants; Waitress's connection
    # limit): run by default in its wrk_scenarios only, never in the hostile ones.
    variant: bool = False
    # False for the --workers scaling rows: neither the server's processes nor wrk are pinned, since a
    # second worker pinned to the first one's CPU could not scale (so on 2 CPUs, wrk shares them).
    pinned: bool = True
    # The wrk scenarios a variant runs in by default (None: all of them).
    wrk_scenarios: tuple[str, ...] | None = ("keepalive", "close")
    # aiowsgi only: leave the access log on (it goes to stderr, which the runner sends to a log file).
    access_log: bool = False

    def command(self, port: int, threads: int, extra: tuple[str, ...] = ()) -> list[str]:
        address = f"127.0.0.1:{port}"
        python = sys.executable
        if self.package == "aiowsgi":
            log = () if self.access_log else ("--no-access-log",)
            return [python, "-m", "aiowsgi", APP, "--bind", address, "--threads", str(threads), *log,
                    *self.options, *extra]  # fmt: skip
        if self.package == "waitress":
            # `python -m waitress` is waitress-serve.
            return [python, "-m", "waitress", f"--listen={address}", f"--threads={threads}", *self.options,
                    *extra, APP]  # fmt: skip
        if self.name == "gunicorn-gthread":
            return [python, "-m", "gunicorn", "-k", "gthread", "--threads", str(threads), "-w", "1",
                    "-b", address, *extra, APP]  # fmt: skip
        if self.name == "uvicorn-a2wsgi":
            # a2wsgi's WSGIMiddleware(app, workers=N) runs the WSGI application in a pool of N threads;
            # apps.bench_a2wsgi reads N from BENCH_THREADS.
            return [python, "-m", "uvicorn", "--factory", "benchmarks.apps:bench_a2wsgi", "--host",
                    "127.0.0.1", "--port", str(port), "--no-access-log", *extra]  # fmt: skip
        if self.name == "granian":
            return [python, "-m", "granian", "--interface", "wsgi", "--workers", "1", "--blocking-threads",
                    str(threads), "--host", "127.0.0.1", "--port", str(port), "--no-access-log", *extra,
                    APP]  # fmt: skip
        if self.name == "aiohttp-wsgi":
            # -q: warnings only, so no access log.
            # Its __main__ has no main guard (`python -m aiohttp_wsgi` does nothing): aiohttp-wsgi-serve.
            return [python, "-c", "from aiohttp_wsgi.__main__ import main; main()", "--host", "127.0.0.1",
                    "--port", str(port), "--threads",
                    str(threads), "-q", *extra, APP]  # fmt: skip
        raise ValueError(self.name)

    def env(self, threads: int) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(REPO), "BENCH_THREADS": str(threads)}


LONG_KEEPALIVE = "60"
# Pause between the warm-up and the measurement (see run_wrk_scenarios).
SETTLE_SECONDS = 1.0
AIOWSGI_IDLE = ("--keep-alive-timeout", LONG_KEEPALIVE)
# Gunicorn's default access_log_format (Apache's combined log format).
GUNICORN_ACCESS_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
SERVERS = {
    spec.name: spec
    for spec in (
        ServerSpec("aiowsgi", "aiowsgi", idle_options=AIOWSGI_IDLE),
        # The pure-Python parser and the plain asyncio loop, for what the extras buy.
        ServerSpec("aiowsgi-h11", "aiowsgi", ("--http", "h11"), idle_options=AIOWSGI_IDLE, variant=True),
        ServerSpec(
            "aiowsgi-asyncio", "aiowsgi", ("--loop", "asyncio"), idle_options=AIOWSGI_IDLE, variant=True
        ),
        ServerSpec(  # no extras installed
            "aiowsgi-plain",
            "aiowsgi",
            ("--http", "h11", "--loop", "asyncio"),
            idle_options=AIOWSGI_IDLE,
            variant=True,
        ),
        # Scaling with --workers: one worker and two, both unpinned (see ServerSpec.pinned).
        ServerSpec("aiowsgi-w1", "aiowsgi", idle_options=AIOWSGI_IDLE, variant=True, pinned=False),
        ServerSpec(
            "aiowsgi-w2", "aiowsgi", ("--workers", "2"), idle_options=AIOWSGI_IDLE, variant=True, pinned=False
        ),
        # The access log on, as it is by default: one line per request to stderr, which the runner writes
        # to a file. In every wrk scenario, so that its cost is measured against aiowsgi's row.
        ServerSpec("aiowsgi-accesslog", "aiowsgi", variant=True, wrk_scenarios=None, access_log=True),
        # The other access line formats, for their cost against the default's.
        ServerSpec(
            "aiowsgi-accesslog-json",
            "aiowsgi",
            ("--access-log-format", "json"),
            variant=True,
            access_log=True,
        ),
        ServerSpec(
            "aiowsgi-accesslog-gunicorn",
            "aiowsgi",
            ("--access-log-format", GUNICORN_ACCESS_FORMAT),
            variant=True,
            access_log=True,
        ),
        # --metrics-bind on (port 0: a free port; nothing scrapes it, as a scrape every few seconds costs
        # nothing next to the per-request counting this measures). In every wrk scenario, like the above.
        ServerSpec(
            "aiowsgi-metrics",
            "aiowsgi",
            ("--metrics-bind", "127.0.0.1:0"),
            requires=("prometheus_client",),
            variant=True,
            wrk_scenarios=None,
        ),
        ServerSpec("waitress", "waitress"),  # its idle timeout (channel_timeout) is already 120 s
        # Waitress serves at most 100 connections by default (connection_limit): in `sleep`, with 200, the
        # other 100 wait unanswered in the accept queue and its p99 is that of the 100 it serves. This row
        # serves all 200, for a p99 to compare with.
        ServerSpec(
            "waitress-cl1000",
            "waitress",
            ("--connection-limit=1000",),
            variant=True,
            wrk_scenarios=("sleep",),
        ),
        ServerSpec("gunicorn-gthread", "gunicorn", idle_options=("--keep-alive", LONG_KEEPALIVE)),
        ServerSpec(
            "uvicorn-a2wsgi",
            "uvicorn",
            requires=("a2wsgi",),
            idle_options=("--timeout-keep-alive", LONG_KEEPALIVE),
        ),
        ServerSpec("granian", "granian"),
        ServerSpec("aiohttp-wsgi", "aiohttp-wsgi"),
    )
}


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    headers: tuple[str, ...] = ()
    path: str = "/"  # which application benchmarks.apps:bench runs
    letter: str = ""  # the scenario's letter in the performance issue; --scenarios takes it too
    connections: int | None = None  # wrk connections; None: --connections
    script: str | None = None  # a wrk Lua script in benchmarks/ (-s)
    response_bytes: int | None = None  # body bytes per response: the table adds MiB/s
    ceiling: Callable[[argparse.Namespace], float] | None = None  # most req/s the application allows


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("keepalive", "Small response (13 bytes), keep-alive", letter="a"),
        Scenario(
            "close",
            "Small response (13 bytes), new connection per request",
            ("Connection: close",),
            letter="b",
        ),
        Scenario("large", "64 KiB response, keep-alive", path="/64k", letter="c", response_bytes=64 * 1024),
        Scenario(
            "post",
            "POST with a 16 KiB body, echoed back, keep-alive",
            path="/echo",
            letter="d",
            script="post16k.lua",
            response_bytes=16 * 1024,
        ),
        Scenario(
            "stream",
            "1 MiB response streamed from a generator in 64 KiB chunks, keep-alive",
            path="/stream",
            letter="e",
            response_bytes=1024 * 1024,
        ),
        Scenario("flask", "Flask hello, keep-alive", path="/flask", letter="j"),
        Scenario("cpu", "About 1 ms of pure-Python work per request, keep-alive", path="/cpu", letter="k"),
        Scenario(
            "sleep",
            "Blocking application (time.sleep 10 ms), 200 connections",
            path="/sleep",
            letter="f",
            connections=200,
            # Every thread sleeping all the time: threads / 10 ms.
            ceiling=lambda args: args.threads / 0.01,
        ),
    )
}
SCENARIO_LETTERS = {s.letter: s.name for s in SCENARIOS.values() if s.letter}
# The hostile-client scenarios (benchmarks/hostile.py): each starts its own server processes.
HOSTILE_SCENARIOS = ("attack", "idle-memory")


@dataclass
class Result:
    server: str
    scenario: str
    requests_per_second: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    requests: int | None = None
    socket_errors: dict[str, int] = field(default_factory=dict)
    non_2xx_3xx: int = 0
    error: str | None = None
    wrk_output: str = ""
    mib_per_second: float | None = None  # response bodies only (scenarios with response_bytes)
    ok_requests_per_second: float | None = None  # req/s less the non-2xx/3xx answers
    fraction_of_ceiling: float | None = None  # ok req/s / the scenario's ceiling (scenarios with one)

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values()) + self.non_2xx_3xx


# Running things ------------------------------------------------------------------------------------------


def pinned(cpu: int | None, command: list[str]) -> list[str]:
    return command if cpu is None else ["taskset", "-c", str(cpu), *command]


def ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 49152, 65535  # the IANA dynamic range


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until_accepting(port: int, proc: subprocess.Popen[bytes], deadline: float) -> bool:
    """Poll-connect until the server accepts; False if it exits first or the deadline passes."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(proc: subprocess.Popen[bytes], timeout: float) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class RunningServer:
    """One server process on a port picked from the ephemeral range; another port is tried if it fails."""

    def __init__(
        self,
        spec: ServerSpec,
        args: argparse.Namespace,
        log_dir: Path,
        tag: str = "wrk",
        extra: tuple[str, ...] = (),
    ) -> None:
        self.spec = spec
        self.log_path = log_dir / f"{spec.name}-{tag}.log"
        low, high = ephemeral_range()
        for _ in range(args.port_attempts):
            # A busy machine may have most of the range in use (TIME_WAIT): look for a free one first.
            port = next((p for p in (random.randint(low, high) for _ in range(1000)) if port_is_free(p)), 0)
            if not port:
                break
            command = pinned(
                args.server_cpu if spec.pinned else None, spec.command(port, args.threads, extra)
            )
            with self.log_path.open("wb") as log:
                proc = subprocess.Popen(
                    command, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    env=spec.env(args.threads),
                )  # fmt: skip
            if wait_until_accepting(port, proc, time.monotonic() + args.start_timeout):
                self.proc, self.port, self.command = proc, port, command
                return
            stop(proc, args.stop_timeout)
        raise RuntimeError(f"{spec.name} did not start; its output:\n{self.log_text()}")

    def log_text(self, limit: int = 1 << 20) -> str:
        """The start of the server's output (with the access log on, the whole of it can be large)."""
        try:
            with self.log_path.open("rb") as log:
                return log.read(limit).decode(errors="replace")
        except FileNotFoundError:
            return "(not started: no free port found)"

    def close(self, timeout: float) -> None:
        stop(self.proc, timeout)


def run_wrk(
    args: argparse.Namespace,
    port: int,
    scenario: Scenario,
    seconds: int,
    halfway: Callable[[], None] | None = None,
    pin: bool = True,
) -> str:
    """wrk's output; `halfway`, if given, is called half way through the run (to sample the server)."""
    connections = scenario.connections or args.connections
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if scenario.script:
        command += ["-s", str(REPO / "benchmarks" / scenario.script)]
    for header in scenario.headers:
        command += ["-H", header]
    command.append(f"http://127.0.0.1:{port}{scenario.path}")
    proc = subprocess.Popen(
        pinned(args.client_cpu if pin else None, command),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if halfway is not None:
            time.sleep(seconds / 2)
            halfway()
        stdout, stderr = proc.communicate(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    if proc.returncode != 0:
        raise RuntimeError(
            f"wrk failed ({proc.returncode}): {' '.join(command)}: {(stderr or stdout).strip()}"
        )
    return stdout


# Reading wrk -----------------------------------------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * _UNITS_MS[match[2]]


def parse_wrk(output: str, result: Result) -> Result:
    result.wrk_output = output
    if m := re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M):
        result.requests_per_second = float(m[1])
    if m := re.search(r"^\s*50%\s+(\S+)", output, re.M):
        result.p50_ms = _ms(m[1])
    if m := re.search(r"^\s*99%\s+(\S+)", output, re.M):
        result.p99_ms = _ms(m[1])
    if m := re.search(r"^\s*(\d+) requests in", output, re.M):
        result.requests = int(m[1])
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        result.socket_errors = dict(
            zip(("connect", "read", "write", "timeout"), map(int, m.groups()), strict=True)
        )
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        result.non_2xx_3xx = int(m[1])
    if result.requests_per_second is None:
        result.error = "could not read Requests/sec from wrk's output"
    return result


def derive(result: Result, scenario: Scenario, args: argparse.Namespace) -> Result:
    """The numbers computed from wrk's: MiB/s, req/s without the error answers, share of the ceiling."""
    rps = result.requests_per_second
    if rps is None:
        return result
    ok = rps
    if result.requests:
        ok = rps * max(0, result.requests - result.non_2xx_3xx) / result.requests
    result.ok_requests_per_second = ok
    if scenario.response_bytes:
        result.mib_per_second = ok * scenario.response_bytes / (1024 * 1024)
    if scenario.ceiling:
        result.fraction_of_ceiling = ok / scenario.ceiling(args)
    return result


# Hostile clients: the attack and idle-memory scenarios ---------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (Gunicorn's worker, Granian's worker)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in children.read_text().split()]
    return pids


def rss_kib(pid: int) -> int:
    """VmRSS summed over the server's processes, in KiB."""
    total = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def open_sockets(pid: int) -> int:
    """Sockets open in the server's processes (distinct inodes: a forked server shares its listener)."""
    inodes = set()
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            for fd in os.scandir(f"/proc/{p}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(fd.path)
                    if target.startswith("socket:"):
                        inodes.add(target)
    return len(inodes)


class Attacker:
    """benchmarks/attack.py's `hold`, pinned to the client CPU, driven through its stdin and stdout."""

    def __init__(self, args: argparse.Namespace, port: int, options: list[str]) -> None:
        command = [sys.executable, "-m", "benchmarks.attack", "hold", "--port", str(port), *options]
        self.proc = subprocess.Popen(
            pinned(args.client_cpu, command), cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        self.events: queue.Queue[dict[str, object] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.events.put(json.loads(line))
        self.events.put(None)

    def wait_for(self, event: str, timeout: float) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                got = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"the attacker did not report {event!r} within {timeout} s") from None
            if got is None:
                stderr = self.proc.stderr.read() if self.proc.stderr else ""
                raise RuntimeError(f"the attacker exited before {event!r}: {stderr.strip()[-2000:]}")
            if got.get("event") == event:
                return got

    def send(self, command: str, expect: str) -> dict[str, object]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.wait_for(expect, 30)

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class AttackResult:
    server: str
    normal: Result | None = None
    attacked: Result | None = None
    attacker_ready: dict[str, object] = field(default_factory=dict)
    attacker_report: dict[str, object] = field(default_factory=dict)
    server_sockets_before: int | None = None  # open sockets in the server, attack not started
    server_sockets_during: int | None = None  # half way through the measurement under attack
    rss_kib_before: int | None = None
    rss_kib_during: int | None = None
    error: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.normal and self.attacked and self.normal.requests_per_second:
            return (self.attacked.requests_per_second or 0.0) / self.normal.requests_per_second
        return None


def run_attack(spec: ServerSpec, args: argparse.Namespace, log_dir: Path) -> AttackResult:
    """Hello throughput with wrk, then again while the attacker holds its connections; the server's own
    defaults throughout. With --attack-rounds N, N such pairs in turn (the attacker stopped between
    them), combined: a swing of the machine's speed then falls on both sides instead of one."""
    result = AttackResult(spec.name)
    keepalive = SCENARIOS["keepalive"]
    server = RunningServer(spec, args, log_dir, tag="attack")
    attacker = None
    normal: list[Result] = []
    attacked: list[Result] = []
    try:
        if args.warmup > 0:
            run_wrk(args, server.port, keepalive, args.warmup)
        for round_index in range(args.attack_rounds):
            if attacker is not None:
                attacker.close()
                attacker = None
                time.sleep(2)  # let the server close the attacker's connections
            output = run_wrk(args, server.port, keepalive, args.attack_duration)
            normal.append(parse_wrk(output, Result(spec.name, "attack-normal")))
            time.sleep(1)  # let the server close wrk's connections
            if round_index == 0:
                result.server_sockets_before = open_sockets(server.proc.pid)
                result.rss_kib_before = rss_kib(server.proc.pid)
            attacker = Attacker(args, server.port, [
                "--slowloris", str(args.slowloris), "--idle", str(args.idle), "--upload", str(args.uploads),
                "--slowloris-interval", str(args.slowloris_interval), "--upload-rate", str(args.upload_rate),
                "--reconnect",
            ])  # fmt: skip
            ready = attacker.wait_for("ready", 90)
            if round_index == 0:
                result.attacker_ready = ready
            if args.warmup > 0:
                run_wrk(args, server.port, keepalive, args.warmup)
            attacker.send("mark", "marked")

            def sample() -> None:
                result.server_sockets_during = open_sockets(server.proc.pid)
                result.rss_kib_during = rss_kib(server.proc.pid)

            attacked.append(parse_wrk(
                run_wrk(args, server.port, keepalive, args.attack_duration, halfway=sample),
                Result(spec.name, "attack-attacked"),
            ))  # fmt: skip
            result.attacker_report = attacker.send("report", "report")
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        result.error = str(exc)
    finally:
        _tear_down(server, attacker, result, args)
    result.normal = combined(normal)
    result.attacked = combined(attacked)
    return result


def _median(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def combined(results: list[Result]) -> Result | None:
    """Several wrk runs of one length as one: mean req/s, median latencies, summed counts."""
    if len(results) <= 1:
        return results[0] if results else None
    first = results[0]
    known = [r for r in results if r.requests_per_second is not None]
    socket_errors: dict[str, int] = {}
    for r in results:
        for kind, count in r.socket_errors.items():
            socket_errors[kind] = socket_errors.get(kind, 0) + count
    return Result(
        first.server,
        first.scenario,
        requests_per_second=statistics.mean(r.requests_per_second or 0.0 for r in known) if known else None,
        p50_ms=_median([r.p50_ms for r in results]),
        p99_ms=_median([r.p99_ms for r in results]),
        requests=sum(r.requests or 0 for r in results),
        socket_errors=socket_errors,
        non_2xx_3xx=sum(r.non_2xx_3xx for r in results),
        error=next((r.error for r in results if r.error), None),
        wrk_output="\n".join(f"--- round {i + 1}\n{r.wrk_output}" for i, r in enumerate(results)),
    )


@dataclass
class IdleResult:
    server: str
    kind: str  # "fresh": connected, nothing sent; "idle": one request answered, then idle
    connections: int
    rss_kib_before: int | None = None
    rss_kib_after: int | None = None
    server_sockets_before: int | None = None
    server_sockets_after: int | None = None
    attacker_ready: dict[str, object] = field(default_factory=dict)
    attacker_report: dict[str, object] = field(default_factory=dict)
    probe_before: dict[str, object] = field(default_factory=dict)
    probe_during: dict[str, object] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def held_by_client(self) -> int | None:
        held = self.attacker_report.get("held")
        return held.get(self.kind) if isinstance(held, dict) else None

    @property
    def held_by_server(self) -> int | None:
        if self.server_sockets_after is None or self.server_sockets_before is None:
            return None
        return self.server_sockets_after - self.server_sockets_before

    @property
    def kib_per_connection(self) -> float | None:
        held = self.held_by_server
        if not held or held <= 0 or self.rss_kib_after is None or self.rss_kib_before is None:
            return None
        return (self.rss_kib_after - self.rss_kib_before) / held


def run_probe(args: argparse.Namespace, port: int) -> dict[str, object]:
    command = [sys.executable, "-m", "benchmarks.attack", "probe", "--port", str(port), "--count",
               str(args.probe_count)]  # fmt: skip
    done = subprocess.run(
        pinned(args.client_cpu, command), cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the probe failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def run_idle_memory(spec: ServerSpec, args: argparse.Namespace, log_dir: Path, kind: str) -> IdleResult:
    """RSS before and after opening the idle connections, and a new request's latency while they are open.

    A fresh server process for each kind, so that the memory of one does not stay in the next."""
    result = IdleResult(spec.name, kind, args.idle_connections, options=list(spec.idle_options))
    server = RunningServer(spec, args, log_dir, tag=f"idle-{kind}", extra=spec.idle_options)
    attacker = None
    try:
        # Start every worker thread and warm the allocator, so that only the idle connections differ.
        run_wrk(args, server.port, SCENARIOS["keepalive"], max(1, args.warmup))
        time.sleep(1)
        result.probe_before = run_probe(args, server.port)
        time.sleep(0.5)
        result.rss_kib_before = rss_kib(server.proc.pid)
        result.server_sockets_before = open_sockets(server.proc.pid)
        attacker = Attacker(args, server.port, [f"--{kind}", str(args.idle_connections), "--settle", "1"])
        result.attacker_ready = attacker.wait_for("ready", 120)
        result.rss_kib_after = rss_kib(server.proc.pid)
        result.server_sockets_after = open_sockets(server.proc.pid)
        result.probe_during = run_probe(args, server.port)
        result.attacker_report = attacker.send("report", "report")
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        result.error = str(exc)
    finally:
        _tear_down(server, attacker, result, args)
    return result


def _tear_down(
    server: RunningServer,
    attacker: Attacker | None,
    result: AttackResult | IdleResult,
    args: argparse.Namespace,
) -> None:
    """Stop the attacker and the server, noting in `result` if the server had died under the attack."""
    if attacker is not None:
        attacker.close()
    if server.proc.poll() is not None and result.error is None:
        result.error = f"the server exited during the run; its output:\n{server.log_text()[-2000:]}"
    server.close(args.stop_timeout)


def _held(d: object) -> str:
    return "/".join(str(v) for v in d.values()) if isinstance(d, dict) and d else "-"


def attack_tables(results: list[AttackResult], args: argparse.Namespace) -> str:
    baseline = next((r.attacked.requests_per_second for r in results
                     if r.server == "aiowsgi" and r.attacked and not r.error), None)  # fmt: skip
    lines = [
        f"#### Hello, keep-alive, with and without {args.slowloris} slowloris + {args.idle} idle keep-alive "
        f"+ {args.uploads} slow uploads",
        "",
        "| server | req/s normal | req/s under attack | attack / normal | under attack, ratio to aiowsgi "
        "| p99 ms normal | p99 ms under attack | errors normal | errors under attack |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if r.error and not (r.normal and r.attacked):
            lines.append(f"| {r.server} | failed: {r.error.splitlines()[0]} | | | | | | | |")
            continue
        n, a = r.normal, r.attacked
        assert n is not None
        assert a is not None
        to_aiowsgi = f"{a.requests_per_second / baseline:.2f}" if baseline and a.requests_per_second else "-"
        lines.append(
            f"| {r.server} | {_num(n.requests_per_second, 0)} | {_num(a.requests_per_second, 0)} "
            f"| {_num(r.ratio, 2)} | {to_aiowsgi} | {_num(n.p99_ms, 2)} | {_num(a.p99_ms, 2)} "
            f"| {_errors(n)} | {_errors(a)} |"
        )
    lines += [
        "",
        "#### What the attacker held, and what each server did with it (slowloris/idle/upload)",
        "",
        "| server | held after the ramp | held during the run: mean (fewest) "
        "| server's open sockets during the run "
        "| ended by the server during the run | RSS MiB before / during |",
        "|---|---|---|---:|---|---|",
    ]
    for r in results:
        if not r.attacker_report:
            continue
        report = r.attacker_report
        ended = report.get("ended_in_window") or {}
        assert isinstance(ended, dict)
        ended_text = (
            "; ".join(
                f"{kind}: " + ", ".join(f"{n} {reason}" for reason, n in reasons.items())
                for kind, reasons in ended.items()
            )
            or "none"
        )
        answered = report.get("uploads_answered_in_window") or {}
        assert isinstance(answered, dict)
        if answered:
            ended_text += "; upload, still open: " + ", ".join(f"{n} {why}" for why, n in answered.items())
        sockets = "-" if r.server_sockets_during is None else str(r.server_sockets_during)
        rss = f"{_num((r.rss_kib_before or 0) / 1024, 1)} / {_num((r.rss_kib_during or 0) / 1024, 1)}"
        lines.append(
            f"| {r.server} | {_held(r.attacker_ready.get('held'))} "
            f"| {_held(report.get('mean_held'))} ({_held(report.get('min_held'))}) "
            f"| {sockets} | {ended_text} | {rss} |"
        )
    return "\n".join(lines)


def idle_table(results: list[IdleResult], args: argparse.Namespace) -> str:
    lines = [
        f"#### {args.idle_connections:,} idle connections: memory, and a new request while they are open",
        "",
        "| server | connections | held by the client | open in the server | RSS MiB before | RSS MiB after "
        "| KiB per connection | new request p50 ms, new connection: before / during "
        "| same, one keep-alive connection | probe failures |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    names = {"fresh": "fresh, nothing sent", "idle": "one request, then idle"}
    for r in results:
        if r.error and r.rss_kib_after is None:
            lines.append(
                f"| {r.server} | {names[r.kind]} | failed: {r.error.splitlines()[0]} | | | | | | | |"
            )
            continue
        b, d = r.probe_before, r.probe_during
        failures = d.get("failures") or {}
        assert isinstance(failures, dict)
        lines.append(
            f"| {r.server} | {names[r.kind]} | {r.held_by_client if r.held_by_client is not None else '-'} "
            f"| {r.held_by_server if r.held_by_server is not None else '-'} "
            f"| {_num((r.rss_kib_before or 0) / 1024, 1)} | {_num((r.rss_kib_after or 0) / 1024, 1)} "
            f"| {_num(r.kib_per_connection, 1)} "
            f"| {_num(b.get('fresh_median_ms'), 3)} / {_num(d.get('fresh_median_ms'), 3)} "  # type: ignore[arg-type]
            f"| {_num(b.get('keepalive_median_ms'), 3)} / {_num(d.get('keepalive_median_ms'), 3)} "  # type: ignore[arg-type]
            f"| {', '.join(f'{k} {v}' for k, v in failures.items()) or 'none'} |"
        )
    return "\n".join(lines)


# Reporting -------------------------------------------------------------------------------------------------


def machine_info() -> dict[str, object]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    packages = {}
    for name in (
        "aiowsgi",
        "waitress",
        "gunicorn",
        "uvicorn",
        "a2wsgi",
        "granian",
        "aiohttp-wsgi",
        "aiohttp",
        "uvloop",
        "httptools",
        "h11",
    ):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return {
        "cpu_model": cpu,
        "nproc": os.cpu_count(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": packages,
        "wrk": (wrk.stdout or wrk.stderr).splitlines()[0].strip() if (wrk.stdout or wrk.stderr) else None,
        "aiowsgi_commit": git_commit(),
    }


def git_commit() -> str | None:
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "src"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(scenario: Scenario, results: list[Result], args: argparse.Namespace) -> str:
    baseline = next((r.ok_requests_per_second for r in results if r.server == "aiowsgi"), None)
    extra_heads, extra_align = "", ""
    if scenario.response_bytes:
        extra_heads += " MiB/s |"
        extra_align += "---:|"
    if scenario.ceiling:
        extra_heads += f" share of the {scenario.ceiling(args):,.0f}/s ceiling |"
        extra_align += "---:|"
    lines = [
        f"#### {scenario.title}",
        "",
        f"| server | req/s | ratio to aiowsgi |{extra_heads} p50 ms | p99 ms | errors |",
        f"|---|---:|---:|{extra_align}---:|---:|---:|",
    ]
    blanks = " |" * (extra_heads.count("|"))
    for r in results:
        if r.error:
            lines.append(f"| {r.server} | failed: {r.error.splitlines()[0]} | |{blanks} | | |")
            continue
        ratio = "-"
        if baseline and r.ok_requests_per_second is not None:
            ratio = f"{r.ok_requests_per_second / baseline:.2f}"
        extra = ""
        if scenario.response_bytes:
            extra += f" {_num(r.mib_per_second, 0)} |"
        if scenario.ceiling:
            extra += " - |" if r.fraction_of_ceiling is None else f" {r.fraction_of_ceiling:.1%} |"
        lines.append(
            f"| {r.server} | {_num(r.ok_requests_per_second, 0)} | {ratio} |{extra} {_num(r.p50_ms, 2)} "
            f"| {_num(r.p99_ms, 2)} | {_errors(r)} |"
        )
    return "\n".join(lines)


def summary_table(scenarios: list[Scenario], results: dict[str, list[Result]]) -> str:
    """Ratios to aiowsgi: a row per scenario, a column per server (what benchmarks/plot.py draws)."""
    servers = list(dict.fromkeys(r.server for s in scenarios for r in results[s.name]))
    lines = [
        "| scenario | " + " | ".join(servers) + " |",
        "|---|" + "---:|" * len(servers),
    ]
    for s in scenarios:
        by_server = {r.server: r for r in results[s.name]}
        base = by_server.get("aiowsgi")
        base_rps = base.ok_requests_per_second if base and not base.error else None
        cells = []
        for name in servers:
            r = by_server.get(name)
            if r is None or r.error or r.ok_requests_per_second is None or not base_rps:
                cells.append("-")
            else:
                cells.append(f"{r.ok_requests_per_second / base_rps:.2f}")
        label = f"{s.letter}: {s.name}" if s.letter else s.name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _errors(r: Result) -> str:
    errors = str(r.errors)
    if r.errors:
        parts = [f"{k} {v}" for k, v in r.socket_errors.items() if v]
        if r.non_2xx_3xx:
            parts.append(f"non-2xx {r.non_2xx_3xx}")
        errors += f" ({', '.join(parts)})"
    return errors


# Main ----------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5, help="whole seconds measured per run (default 5)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="whole seconds of load before measuring; 0 for none (default 1)",
    )
    parser.add_argument(
        "--threads", type=int, default=16, help="worker threads for every server (default 16)"
    )
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    parser.add_argument(
        "--servers",
        nargs="+",
        choices=list(SERVERS),
        help="default: all; aiowsgi's parser, loop and --workers variants only in the keepalive and close "
        "scenarios, aiowsgi-accesslog and aiowsgi-metrics in every wrk scenario, waitress-cl1000 in sleep; "
        "none in attack and idle-memory",
    )
    parser.add_argument(
        "--scenarios",
        nargs="+",
        choices=[*SCENARIOS, *HOSTILE_SCENARIOS, *SCENARIO_LETTERS],
        default=[*SCENARIOS, *HOSTILE_SCENARIOS],
        help="default: all. A letter stands for its scenario: "
        + ", ".join(f"{letter} {name}" for letter, name in SCENARIO_LETTERS.items()),
    )
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU the servers are pinned to (default 0)")
    parser.add_argument(
        "--client-cpu", type=int, default=1, help="CPU wrk and the attacker are pinned to (default 1)"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not use taskset")
    parser.add_argument(
        "--start-timeout", type=float, default=30, help="seconds to wait for a server to accept"
    )
    parser.add_argument("--stop-timeout", type=float, default=10, help="seconds after SIGTERM before SIGKILL")
    parser.add_argument(
        "--port-attempts", type=int, default=5, help="ports to try before giving up on a server"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="directory for the JSON results")
    hostile = parser.add_argument_group("attack and idle-memory scenarios")
    hostile.add_argument(
        "--attack-duration", type=int, default=10, help="seconds of each wrk run, normal and under attack"
    )
    hostile.add_argument(
        "--attack-rounds",
        type=int,
        default=1,
        help="pairs of runs, normal then under attack, in turn; their req/s averaged (default 1)",
    )
    hostile.add_argument("--slowloris", type=int, default=500, help="slowloris connections (default 500)")
    hostile.add_argument(
        "--slowloris-interval", type=float, default=2.0, help="seconds between slowloris header bytes"
    )
    hostile.add_argument("--idle", type=int, default=500, help="idle keep-alive connections (default 500)")
    hostile.add_argument("--uploads", type=int, default=50, help="slow uploads of 1 MiB (default 50)")
    hostile.add_argument("--upload-rate", type=int, default=300, help="slow upload bytes a second")
    hostile.add_argument(
        "--idle-connections", type=int, default=5000, help="connections held for idle-memory"
    )
    hostile.add_argument(
        "--probe-count", type=int, default=20, help="requests timed while they are held (default 20)"
    )
    args = parser.parse_args(argv)
    args.scenarios = list(dict.fromkeys(SCENARIO_LETTERS.get(name, name) for name in args.scenarios))
    if args.servers is None:
        args.servers = list(SERVERS)
        args.variants_in_wrk_only = True
    else:
        args.variants_in_wrk_only = False
    return args


def raise_nofile(needed: int) -> str | None:
    """Raise this process's open-file limit (the attacker and the servers inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(max(soft, needed), hard)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < needed:
        return (
            f"the open-file limit is {want} (hard limit {hard}); {needed} are needed: raise it (ulimit -Hn)"
        )
    return None


def check_tools(args: argparse.Namespace) -> tuple[str | None, dict[str, str]]:
    """A problem that stops the run, and the servers to skip with why."""
    if shutil.which("wrk") is None:
        return "wrk is not installed. On Debian/Ubuntu: apt-get install -y wrk (as root).", {}
    if not args.no_pin:
        if shutil.which("taskset") is None:
            return "taskset is not installed (Debian: util-linux); install it or pass --no-pin.", {}
        usable = os.sched_getaffinity(0)
        if (
            args.server_cpu not in usable
            or args.client_cpu not in usable
            or args.server_cpu == args.client_cpu
        ):
            return (
                f"--server-cpu {args.server_cpu} and --client-cpu {args.client_cpu} must be two different "
                f"CPUs of {sorted(usable)}; pass --no-pin on a single-CPU machine."
            ), {}
    else:
        args.server_cpu = args.client_cpu = None
    skipped = {}
    for spec in (SERVERS[name] for name in args.servers):
        for package in (spec.package, *spec.requires):
            try:
                metadata.version(package)
            except metadata.PackageNotFoundError:
                if package == "aiowsgi":
                    return 'aiowsgi is not installed: pip install -e ".[standard,bench]"', {}
                skipped[spec.name] = f"{package} is not installed (pip install -e .[standard,bench])"
                break
    if any(s in HOSTILE_SCENARIOS for s in args.scenarios):
        held = max(args.slowloris + args.idle + args.uploads, args.idle_connections)
        problem = raise_nofile(held + 1024)
        if problem:
            return problem, {}
    return None, skipped


def run_wrk_scenarios(
    spec: ServerSpec, args: argparse.Namespace, scenarios: list[Scenario], log_dir: Path
) -> tuple[list[Result], dict[str, object]]:
    """One server process for all the wrk scenarios, as before."""
    try:
        server = RunningServer(spec, args, log_dir)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return [Result(spec.name, s.name, error=str(exc)) for s in scenarios], {}
    results = []
    try:
        for scenario in scenarios:
            result = Result(spec.name, scenario.name)
            try:
                if args.warmup > 0:
                    run_wrk(args, server.port, scenario, args.warmup, pin=spec.pinned)
                    # wrk leaves requests in flight when it stops (in `sleep`, 200 of them: 125 ms of a
                    # 16-thread pool's work), and a server still runs them, since a client that
                    # half-closes after its request is owed its answer. Let them finish, so that every
                    # server's measurement starts from an idle server.
                    time.sleep(SETTLE_SECONDS)
                parse_wrk(run_wrk(args, server.port, scenario, args.duration, pin=spec.pinned), result)
                derive(result, scenario, args)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                result.error = str(exc)
            if server.proc.poll() is not None:
                result.error = f"the server exited during the run; its output:\n{server.log_text()}"
            results.append(result)
            print(f"   {scenario.name}: {_num(result.requests_per_second, 0)} req/s", file=sys.stderr)
    finally:
        server.close(args.stop_timeout)
    log = server.log_text()
    note: dict[str, object] = {"command": server.command}
    if m := re.search(r"\(parser (\w+), loop (\w+)", log):
        note["parser"], note["loop"] = m[1], m[2]
    return results, note


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problem, skipped = check_tools(args)
    if problem:
        print(f"benchmarks/run.py: {problem}", file=sys.stderr)
        return 2
    for name, why in skipped.items():
        print(f"benchmarks/run.py: skipping {name}: {why}", file=sys.stderr)
    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()
    # In SCENARIOS' order whatever the command line's: sleep, whose 200 connections can leave a server
    # with a backlog, runs last.
    scenarios = [s for s in SCENARIOS.values() if s.name in args.scenarios]
    results: dict[str, list[Result]] = {s.name: [] for s in scenarios}
    attack_results: list[AttackResult] = []
    idle_results: list[IdleResult] = []
    server_notes: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="aiowsgi-bench-") as tmp:
        for name in args.servers:
            spec = SERVERS[name]
            if name in skipped:
                server_notes[name] = {"skipped": skipped[name]}
                for s in scenarios:
                    results[s.name].append(Result(name, s.name, error=f"skipped: {skipped[name]}"))
                continue
            own = scenarios
            if spec.variant and args.variants_in_wrk_only and spec.wrk_scenarios is not None:
                own = [s for s in scenarios if s.name in spec.wrk_scenarios]
            if not own and spec.variant and args.variants_in_wrk_only:
                continue
            print(f"== {name}", file=sys.stderr)
            if own:
                rs, note = run_wrk_scenarios(spec, args, own, Path(tmp))
                for r in rs:
                    results[r.scenario].append(r)
                server_notes[name] = note
            if spec.variant and args.variants_in_wrk_only:
                continue
            server_notes.setdefault(name, {})
            server_notes[name]["hostile_command"] = spec.command(0, args.threads)
            if "attack" in args.scenarios:
                try:
                    a = run_attack(spec, args, Path(tmp))
                except RuntimeError as exc:
                    a = AttackResult(name, error=str(exc))
                attack_results.append(a)
                print(
                    f"   attack: {_num(a.normal.requests_per_second if a.normal else None, 0)} -> "
                    f"{_num(a.attacked.requests_per_second if a.attacked else None, 0)} req/s"
                    + (f" ({a.error.splitlines()[0]})" if a.error else ""),
                    file=sys.stderr,
                )
            if "idle-memory" in args.scenarios:
                server_notes[name]["idle_options"] = list(spec.idle_options)
                for kind in ("fresh", "idle"):
                    try:
                        i = run_idle_memory(spec, args, Path(tmp), kind)
                    except RuntimeError as exc:
                        i = IdleResult(name, kind, args.idle_connections, error=str(exc))
                    idle_results.append(i)
                    print(
                        f"   idle-memory ({kind}): {_num(i.kib_per_connection, 1)} KiB/connection, "
                        f"{i.held_by_server} open in the server"
                        + (f" ({i.error.splitlines()[0]})" if i.error else ""),
                        file=sys.stderr,
                    )

    machine = machine_info()
    # Other work on the machine skews everything; the load averages say whether there was any.
    machine["loadavg_before"], machine["loadavg_after"] = load_before, os.getloadavg()
    settings = {
        k: v for k, v in vars(args).items() if k in {"duration", "warmup", "threads", "connections",
                                                     "server_cpu", "client_cpu"}
    }  # fmt: skip
    if attack_results:
        settings |= {k: getattr(args, k) for k in ("attack_duration", "attack_rounds", "slowloris",
                                                    "slowloris_interval", "idle", "uploads",
                                                    "upload_rate")}  # fmt: skip
    if idle_results:
        settings |= {"idle_connections": args.idle_connections, "probe_count": args.probe_count}
    all_results: dict[str, object] = {
        name: [dataclasses.asdict(r) for r in rs] for name, rs in results.items()
    }
    if attack_results:
        all_results["attack"] = [
            {**dataclasses.asdict(r), "attack_over_normal": r.ratio} for r in attack_results
        ]
    if idle_results:
        all_results["idle-memory"] = [
            {**dataclasses.asdict(r), "held_by_client": r.held_by_client, "held_by_server": r.held_by_server,
             "kib_per_connection": r.kib_per_connection}
            for r in idle_results
        ]  # fmt: skip
    report = {
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join(["python", "benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)]),
        "settings": settings,
        "machine": machine,
        "servers": server_notes,
        "results": all_results,
    }
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")

    print(f"{report['date']}, {machine['cpu_model']}, {machine['nproc']} CPUs, Python {machine['python']}")
    pinning = (
        "not pinned"
        if args.server_cpu is None
        else f"server on CPU {args.server_cpu}, wrk and the attacker on CPU {args.client_cpu}"
    )
    print(f"{args.threads} threads per server, wrk -t1 -c{args.connections} ({pinning})")
    for scenario in scenarios:
        print()
        print(f"wrk -d{args.duration}s")
        print(table(scenario, results[scenario.name], args))
    if len(scenarios) > 1:
        print()
        print("#### Ratios to aiowsgi (req/s)")
        print()
        print(summary_table(scenarios, results))
    if attack_results:
        print()
        rounds = (
            f", {args.attack_rounds} rounds of normal then under attack" if args.attack_rounds > 1 else ""
        )
        print(f"wrk -d{args.attack_duration}s{rounds}")
        print(attack_tables(attack_results, args))
    if idle_results:
        print()
        print(idle_table(idle_results, args))
    print(f"\nSaved {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    failed = (
        any(r.error and not r.error.startswith("skipped") for rs in results.values() for r in rs)
        or any(r.error for r in attack_results)
        or any(r.error for r in idle_results)
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
