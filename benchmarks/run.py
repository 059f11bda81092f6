"""Benchmark aiowsgi against its peers, side by side, in one run.

    python benchmarks/run.py --duration 5

Each server runs as one process with the same number of threads, pinned to one CPU with taskset; wrk runs
pinned to another CPU. For every server and scenario: start the server on a free port, wait until it
accepts connections, warm it up, measure with wrk, stop it. The result is a markdown table per scenario
with each server's numbers and its ratio to aiowsgi from the same run, and a JSON file with the numbers
and the machine in benchmarks/results/. Ratios from one run are what to compare: absolute numbers depend
on the machine.

Needs wrk (Debian/Ubuntu: apt-get install -y wrk) and the peers (pip install -e ".[standard,bench]").
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
APP = "benchmarks.apps:hello"


@dataclass(frozen=True)
class ServerSpec:
    name: str
    package: str
    options: tuple[str, ...] = ()  # extra command-line options (aiowsgi's variants)

    def command(self, port: int, threads: int) -> list[str]:
        address = f"127.0.0.1:{port}"
        python = sys.executable
        if self.package == "aiowsgi":
            return [
                python,
                "-m",
                "aiowsgi",
                APP,
                "--bind",
                address,
                "--threads",
                str(threads),
                "--no-access-log",
                *self.options,
            ]
        if self.name == "waitress":
            # `python -m waitress` is waitress-serve.
            return [python, "-m", "waitress", f"--listen={address}", f"--threads={threads}", APP]
        if self.name == "gunicorn-gthread":
            return [python, "-m", "gunicorn", "-k", "gthread", "--threads", str(threads), "-w", "1",
                    "-b", address, APP]  # fmt: skip
        raise ValueError(self.name)


SERVERS = {
    spec.name: spec
    for spec in (
        ServerSpec("aiowsgi", "aiowsgi"),
        # The pure-Python parser and the plain asyncio loop, for what the extras buy.
        ServerSpec("aiowsgi-h11", "aiowsgi", ("--http", "h11")),
        ServerSpec("aiowsgi-asyncio", "aiowsgi", ("--loop", "asyncio")),
        ServerSpec("aiowsgi-plain", "aiowsgi", ("--http", "h11", "--loop", "asyncio")),  # no extras installed
        ServerSpec("waitress", "waitress"),
        ServerSpec("gunicorn-gthread", "gunicorn"),
    )
}


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    headers: tuple[str, ...] = ()


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("keepalive", "Small response (13 bytes), keep-alive"),
        Scenario("close", "Small response (13 bytes), new connection per request", ("Connection: close",)),
    )
}


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

    def __init__(self, spec: ServerSpec, args: argparse.Namespace, log_dir: Path) -> None:
        self.spec = spec
        self.log_path = log_dir / f"{spec.name}.log"
        low, high = ephemeral_range()
        for _ in range(args.port_attempts):
            port = random.randint(low, high)
            if not port_is_free(port):
                continue
            command = pinned(args.server_cpu, spec.command(port, args.threads))
            with self.log_path.open("wb") as log:
                proc = subprocess.Popen(
                    command, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHONPATH": str(REPO)},
                )  # fmt: skip
            if wait_until_accepting(port, proc, time.monotonic() + args.start_timeout):
                self.proc, self.port, self.command = proc, port, command
                return
            stop(proc, args.stop_timeout)
        raise RuntimeError(f"{spec.name} did not start; its output:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def close(self, timeout: float) -> None:
        stop(self.proc, timeout)


def run_wrk(args: argparse.Namespace, port: int, scenario: Scenario, seconds: int) -> str:
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{seconds}s", "--latency"]
    for header in scenario.headers:
        command += ["-H", header]
    command.append(f"http://127.0.0.1:{port}/")
    done = subprocess.run(
        pinned(args.client_cpu, command), capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"wrk failed ({done.returncode}): {' '.join(command)}: {(done.stderr or done.stdout).strip()}"
        )
    return done.stdout


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
    for name in ("aiowsgi", "waitress", "gunicorn", "uvloop", "httptools", "h11"):
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


def table(scenario: Scenario, results: list[Result]) -> str:
    baseline = next((r.requests_per_second for r in results if r.server == "aiowsgi"), None)
    lines = [
        f"#### {scenario.title}",
        "",
        "| server | req/s | ratio to aiowsgi | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if r.error:
            lines.append(f"| {r.server} | failed: {r.error.splitlines()[0]} | | | | |")
            continue
        ratio = "-"
        if baseline and r.requests_per_second is not None:
            ratio = f"{r.requests_per_second / baseline:.2f}"
        errors = str(r.errors)
        if r.errors:
            parts = [f"{k} {v}" for k, v in r.socket_errors.items() if v]
            if r.non_2xx_3xx:
                parts.append(f"non-2xx {r.non_2xx_3xx}")
            errors += f" ({', '.join(parts)})"
        lines.append(
            f"| {r.server} | {_num(r.requests_per_second, 0)} | {ratio} | {_num(r.p50_ms, 2)} "
            f"| {_num(r.p99_ms, 2)} | {errors} |"
        )
    return "\n".join(lines)


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
    parser.add_argument("--servers", nargs="+", choices=list(SERVERS), default=list(SERVERS))
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU the servers are pinned to (default 0)")
    parser.add_argument("--client-cpu", type=int, default=1, help="CPU wrk is pinned to (default 1)")
    parser.add_argument("--no-pin", action="store_true", help="do not use taskset")
    parser.add_argument(
        "--start-timeout", type=float, default=30, help="seconds to wait for a server to accept"
    )
    parser.add_argument("--stop-timeout", type=float, default=10, help="seconds after SIGTERM before SIGKILL")
    parser.add_argument(
        "--port-attempts", type=int, default=5, help="ports to try before giving up on a server"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="directory for the JSON results")
    return parser.parse_args(argv)


def check_tools(args: argparse.Namespace) -> str | None:
    if shutil.which("wrk") is None:
        return "wrk is not installed. On Debian/Ubuntu: apt-get install -y wrk (as root)."
    if args.no_pin:
        args.server_cpu = args.client_cpu = None
        return None
    if shutil.which("taskset") is None:
        return "taskset is not installed (Debian: util-linux); install it or pass --no-pin."
    usable = os.sched_getaffinity(0)
    if args.server_cpu not in usable or args.client_cpu not in usable or args.server_cpu == args.client_cpu:
        return (
            f"--server-cpu {args.server_cpu} and --client-cpu {args.client_cpu} must be two different CPUs "
            f"of {sorted(usable)}; pass --no-pin on a single-CPU machine."
        )
    for spec in (SERVERS[name] for name in args.servers):
        try:
            metadata.version(spec.package)
        except metadata.PackageNotFoundError:
            return f'{spec.package} is not installed: pip install -e ".[standard,bench]"'
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problem = check_tools(args)
    if problem:
        print(f"benchmarks/run.py: {problem}", file=sys.stderr)
        return 2
    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()
    scenarios = [SCENARIOS[name] for name in args.scenarios]
    results: dict[str, list[Result]] = {s.name: [] for s in scenarios}
    server_notes: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="aiowsgi-bench-") as tmp:
        for name in args.servers:
            spec = SERVERS[name]
            print(f"== {name}", file=sys.stderr)
            try:
                server = RunningServer(spec, args, Path(tmp))
            except RuntimeError as exc:
                for s in scenarios:
                    results[s.name].append(Result(name, s.name, error=str(exc)))
                print(exc, file=sys.stderr)
                continue
            try:
                for scenario in scenarios:
                    result = Result(name, scenario.name)
                    try:
                        if args.warmup > 0:
                            run_wrk(args, server.port, scenario, args.warmup)
                        parse_wrk(run_wrk(args, server.port, scenario, args.duration), result)
                    except (RuntimeError, subprocess.TimeoutExpired) as exc:
                        result.error = str(exc)
                    if server.proc.poll() is not None:
                        result.error = f"the server exited during the run; its output:\n{server.log_text()}"
                    results[scenario.name].append(result)
                    print(f"   {scenario.name}: {_num(result.requests_per_second, 0)} req/s", file=sys.stderr)
            finally:
                server.close(args.stop_timeout)
            log = server.log_text()
            note: dict[str, object] = {"command": server.command}
            if m := re.search(r"\(parser (\w+), loop (\w+)", log):
                note["parser"], note["loop"] = m[1], m[2]
            server_notes[name] = note

    machine = machine_info()
    # Other work on the machine skews everything; the load averages say whether there was any.
    machine["loadavg_before"], machine["loadavg_after"] = load_before, os.getloadavg()
    settings = {
        k: v for k, v in vars(args).items() if k in {"duration", "warmup", "threads", "connections",
                                                     "server_cpu", "client_cpu"}
    }  # fmt: skip
    report = {
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join(["python", "benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)]),
        "settings": settings,
        "machine": machine,
        "servers": server_notes,
        "results": {name: [dataclasses.asdict(r) for r in rs] for name, rs in results.items()},
    }
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")

    print(f"{report['date']}, {machine['cpu_model']}, {machine['nproc']} CPUs, Python {machine['python']}")
    pinning = (
        "not pinned"
        if args.server_cpu is None
        else f"server on CPU {args.server_cpu}, wrk on CPU {args.client_cpu}"
    )
    print(f"{args.threads} threads per server, wrk -t1 -c{args.connections} -d{args.duration}s ({pinning})")
    for scenario in scenarios:
        print()
        print(table(scenario, results[scenario.name]))
    print(f"\nSaved {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    failed = any(r.error for rs in results.values() for r in rs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
