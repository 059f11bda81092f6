"""Where a keep-alive hello request's CPU goes: callgrind instruction counts per request.

Starts a server (aiowsgi by default; also Granian or Waitress for comparison) under
`valgrind --tool=callgrind --instr-atstart=no`, so that start-up is not counted; warms it up with
`--warmup` requests; switches instrumentation on with `callgrind_control -i on`; sends exactly
`--requests` keep-alive requests from this process (a raw-socket client, `--connections` connections,
each sending its next request when it has read the previous answer); switches instrumentation off; dumps
the counts with `callgrind_control -d` and stops the server. It then reads the dump and prints the
instructions per request: in total, by ELF object (exclusive cost), for chosen C functions (inclusive
and exclusive), and the number of calls per request of the syscall wrappers and of the GIL functions.

Callgrind counts the instructions executed in user space by every thread of the process (it serialises
the threads: one runs at a time); it does not count the kernel's work in the syscalls, only the calls.
Instruction counts do not depend on what else runs on the machine; the time under valgrind does.

    python benchmarks/profile_request.py                       # aiowsgi, 2000 requests after 500
    python benchmarks/profile_request.py --server granian
    python benchmarks/profile_request.py --server waitress --connections 16
    python benchmarks/profile_request.py --path /flask         # Flask's hello instead
    python benchmarks/profile_request.py --path /echo --post 16384   # the 16 KiB POST echo
    python benchmarks/profile_request.py --analyse benchmarks/results/callgrind.aiowsgi.out.1

`python benchmarks/profile_request.py steps` attributes the Python-level work of aiowsgi instead: it runs
each step of one request's path (parse, environ, the WSGI call with start_response and the head, ...) in
a loop inside one process, under callgrind, and prints instructions per iteration of each step (a run of
the step `none`, the same process and loop doing nothing, is subtracted).
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
APP = "benchmarks.apps:bench"  # the app of the hello benchmark (run.py): "/" is `hello`

# Functions whose cost (inclusive and exclusive) and calls per request are reported, when present.
FUNCTIONS = (
    # libc's syscall wrappers: callgrind counts their user-space instructions and their calls, not the kernel.
    "epoll_wait", "epoll_pwait", "read", "recv", "recvfrom", "write", "writev", "send", "sendmsg", "sendto",
    "poll", "syscall",
    # GIL and thread hand-offs
    "take_gil", "drop_gil", "PyEval_RestoreThread", "PyEval_SaveThread", "PyThread_acquire_lock_timed",
    "PyThread_release_lock", "pthread_cond_signal@@GLIBC_2.3.2", "pthread_cond_timedwait@@GLIBC_2.3.2",
    "pthread_cond_wait@@GLIBC_2.3.2", "pthread_cond_signal", "pthread_cond_timedwait", "pthread_cond_wait",
    "__pthread_clockjoin_ex", "sem_clockwait", "sem_timedwait", "sem_post", "sem_wait",
    "__futex_abstimed_wait_common", "futex_wake", "__lll_lock_wait", "__lll_lock_wake",
    # libuv / uvloop and llhttp
    "uv_run", "uv__io_poll", "uv__read", "uv__write", "uv__async_io", "uv_async_send", "llhttp_execute",
    # uvloop's entry points into Python: a read (data_received ...), the ready queue (call_soon_threadsafe)
    "__pyx_f_6uvloop_4loop___uv_stream_on_read", "uv__run_idle", "__pyx_f_6uvloop_4loop_4Loop__on_idle",
    "__pyx_pw_6uvloop_4loop_4Loop_15call_soon_threadsafe", "__pyx_pw_6uvloop_4loop_8UVStream_5write",
    # the worker thread's side: SimpleQueue, and the job (a functools.partial of protocol._serve)
    "_queue_SimpleQueue_put", "_queue_SimpleQueue_get", "partial_vectorcall", "partial_new",
    "partial_dealloc",
    "PyThread_allocate_lock", "time_monotonic",
    # regular expressions (the Host check, field values)
    "_sre_SRE_Pattern_fullmatch", "_sre_SRE_Pattern_search", "_sre_SRE_Pattern_match",
    # the interpreter (slot_tp_getattr_hook: on 3.11, each `SomeEnum.MEMBER`, as EnumType has a __getattr__)
    "slot_tp_getattr_hook",
    "_PyEval_EvalFrameDefault", "_PyObject_Malloc", "_PyObject_Free", "malloc", "free",
    "_PyObject_MakeTpCall", "PyObject_Vectorcall", "_PyObject_GC_New", "gc_collect_main",
    "_PyEval_EvalFrame", "PyObject_Call",
)  # fmt: skip

REQUEST = "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{length}\r\n"


def server_command(server: str, port: int, threads: int) -> list[str]:
    python = sys.executable
    address = f"127.0.0.1:{port}"
    if server == "aiowsgi":
        return [python, "-m", "aiowsgi", APP, "--bind", address, "--threads", str(threads), "--no-access-log"]
    if server == "granian":
        return [python, "-m", "granian", "--interface", "wsgi", "--workers", "1", "--blocking-threads",
                str(threads), "--host", "127.0.0.1", "--port", str(port), "--no-access-log", APP]  # fmt: skip
    if server == "waitress":
        return [python, "-m", "waitress", f"--listen={address}", f"--threads={threads}", APP]
    raise ValueError(server)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_accepting(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the server did not start accepting in time")


class Client:
    """`connections` keep-alive connections; each sends its next request once it has read an answer."""

    def __init__(self, port: int, connections: int, path: str = "/", body: int = 0) -> None:
        if body:  # a POST of `body` bytes, as wrk's post16k.lua sends to /echo
            head = REQUEST.format(method="POST", path=path, port=port, length=f"Content-Length: {body}\r\n")
            self.request = head.encode() + b"x" * body
        else:
            self.request = REQUEST.format(method="GET", path=path, port=port, length="").encode()
        self.socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(connections)]
        for sock in self.socks:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.answer_size: int | None = None

    def run(self, count: int) -> None:
        sel = selectors.DefaultSelector()
        buffers: dict[socket.socket, bytes] = {}
        sent = done = 0
        for sock in self.socks:
            if sent < count:
                sock.sendall(self.request)
                sent += 1
                buffers[sock] = b""
                sel.register(sock, selectors.EVENT_READ)
        while done < count:
            for key, _ in sel.select(timeout=120):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                data = sock.recv(65536)
                if not data:
                    raise SystemExit("the server closed a keep-alive connection")
                buf = buffers[sock] + data
                while True:
                    size = self._complete(buf)
                    if size is None:
                        break
                    if not buf.startswith(b"HTTP/1.1 200"):
                        raise SystemExit(f"unexpected answer: {buf[:200]!r}")
                    self.answer_size = size
                    buf = buf[size:]
                    done += 1
                    if sent < count:
                        sock.sendall(self.request)
                        sent += 1
                buffers[sock] = buf
                if sent >= count and not buf and done >= count:
                    break
        sel.close()

    @staticmethod
    def _complete(buf: bytes) -> int | None:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        match = re.search(rb"(?im)^content-length:\s*(\d+)", buf[:end])
        length = int(match.group(1)) if match else 0
        total = end + 4 + length
        return total if len(buf) >= total else None

    def close(self) -> None:
        for sock in self.socks:
            sock.close()


def callgrind_control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, stdout=subprocess.DEVNULL)


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (Granian serves from a child process, which valgrind follows too)."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children[int(fields[1])].append(int(stat.split("/")[2]))
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo.extend(children.get(tree[-1], ()))
    return tree


def profile_server(args: argparse.Namespace) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    out = RESULTS / f"callgrind.{args.server}.c{args.connections}.out"
    for old in glob.glob(f"{out}.*"):
        os.unlink(old)
    command = [
        "valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=no", "--dump-instr=no",
        "--trace-children=yes", f"--callgrind-out-file={out}.%p",
        *server_command(args.server, port, args.threads),
    ]  # fmt: skip
    print("$", " ".join(command), flush=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "BENCH_THREADS": str(args.threads)}
    log = open(RESULTS / f"callgrind.{args.server}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        wait_accepting(port, proc, 300)
        client = Client(port, args.connections, args.path, args.post)
        started = time.monotonic()
        client.run(args.warmup)
        print(f"warm-up: {args.warmup} requests in {time.monotonic() - started:.1f} s", flush=True)
        pids = [str(pid) for pid in process_tree(proc.pid)]
        for pid in pids:
            callgrind_control("-i", "on", pid)
        started = time.monotonic()
        client.run(args.requests)
        elapsed = time.monotonic() - started
        for pid in pids:
            callgrind_control("-i", "off", pid)
            callgrind_control("-d", pid)
        print(f"measured: {args.requests} requests in {elapsed:.1f} s under valgrind; answer size "
              f"{client.answer_size} bytes", flush=True)  # fmt: skip
        client.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    # The dump callgrind_control -d made is OUT.PID.1; of a process tree, the one process that served.
    dumps = [Path(p) for p in glob.glob(f"{out}.*.1")]
    if not dumps:
        raise SystemExit(f"no dump {out}.PID.1: see {RESULTS / f'callgrind.{args.server}.log'}")
    for path in dumps:
        print(f"{path}: {annotate(path, inclusive=False)[0]:,} instructions")
    return max(dumps, key=lambda path: annotate(path, inclusive=False)[0])


# Reading a dump -----------------------------------------------------------------------------------------

LINE = re.compile(r"^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(.*?)\s*$")


def annotate(path: Path, inclusive: bool) -> tuple[int, list[tuple[int, str, str]]]:
    """(total Ir, [(Ir, function, object)]) from callgrind_annotate."""
    text = subprocess.run(
        ["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=100", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    total = 0
    rows = []
    for line in text.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        count = int(match.group(1).replace(",", ""))
        rest = match.group(2)
        if rest.startswith("PROGRAM TOTALS"):
            total = count
            continue
        obj = ""
        objmatch = re.search(r" \[(.*)\]$", rest)
        if objmatch:
            obj, rest = objmatch.group(1), rest[: objmatch.start()]
        function = rest.split(":", 1)[1] if ":" in rest else rest
        rows.append((count, function, obj))
    return total, rows


def call_counts(path: Path) -> collections.Counter[str]:
    """Calls per callee over the dump (callgrind's calls= lines), by function name."""
    names: dict[str, str] = {}
    counts: collections.Counter[str] = collections.Counter()
    callee = None
    name_re = re.compile(r"^c?fn=\((\d+)\)(?: (.*))?$")
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("cfn=") or line.startswith("fn="):
                match = name_re.match(line.rstrip("\n"))
                if match:
                    ident, name = match.groups()
                    if name is not None:
                        names[ident] = name
                    if line.startswith("cfn="):
                        callee = names.get(ident)
                else:
                    callee = line.rstrip("\n").split("=", 1)[1] if line.startswith("cfn=") else callee
            elif line.startswith("calls=") and callee is not None:
                counts[callee] += int(line[6:].split()[0])
                callee = None
    return counts


def short_object(obj: str) -> str:
    name = os.path.basename(obj)
    return re.sub(r"\.cpython-\d+[^.]*\.so$", ".so", name)


def analyse(path: Path, requests: int) -> None:
    total, exclusive = annotate(path, inclusive=False)
    _, inclusive = annotate(path, inclusive=True)
    per_request = total / requests
    print(f"\n{path}: {total:,} instructions in all, {per_request:,.0f} per request ({requests} requests)")
    # callgrind_annotate gives one row per source file a function's code came from (inlined headers), the
    # object only on some of them: sum the rows by function, and take its object from any row.
    objects = {function: obj for _, function, obj in exclusive + inclusive if obj}
    by_function: collections.Counter[str] = collections.Counter()
    for count, function, _ in exclusive:
        by_function[function] += count
    by_object: collections.Counter[str] = collections.Counter()
    for function, count in by_function.items():
        by_object[short_object(objects.get(function, "?"))] += count
    print("\nexclusive instructions per request, by object:")
    for obj, count in by_object.most_common():
        if count / requests >= 50:
            print(f"  {count / requests:>10,.0f}  {count / total:6.1%}  {obj}")
    print("\nexclusive instructions per request, top functions:")
    for function, count in by_function.most_common(45):
        obj = short_object(objects.get(function, "?"))
        print(f"  {count / requests:>10,.0f}  {count / total:6.1%}  {function}  [{obj}]")
    counts = call_counts(path)
    incl: collections.Counter[str] = collections.Counter()
    excl: collections.Counter[str] = collections.Counter()
    for count, function, _ in inclusive:  # one row per source file a function's code came from
        incl[function] = max(incl[function], count)
    for count, function, _ in exclusive:
        excl[function] += count
    print("\nchosen functions, per request: inclusive / exclusive instructions, calls")
    for function in FUNCTIONS:
        if function in incl or counts.get(function):
            print(
                f"  {function:<40} {incl.get(function, 0) / requests:>10,.0f} "
                f"{excl.get(function, 0) / requests:>10,.0f} {counts.get(function, 0) / requests:>8.2f}"
            )


# Python-level steps, in one process -------------------------------------------------------------------


def steps_main(args: argparse.Namespace) -> None:
    """Run each step's n cycles under callgrind; print the inclusive cost of its operator.call per cycle."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    print(
        f"{'step':<22} {'per request':>12} {'calls':>6} {'per call':>10}   (one thread, with operator.call)"
    )
    for step in args.step or STEPS:
        out = RESULTS / f"callgrind.step.{step}.{os.getpid()}.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--dump-instr=no", f"--callgrind-out-file={out}",
             sys.executable, __file__, "run-step", step, str(args.iterations)],
            check=True, capture_output=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        _, inclusive = annotate(out, inclusive=True)
        cost = max((count for count, function, _ in inclusive if function == "_operator_call"), default=0)
        calls = call_counts(out).get("_operator_call", 0)
        per_call = cost / calls if calls else 0
        print(
            f"{step:<22} {cost / args.iterations:>12,.0f} {calls / args.iterations:>6.2f} {per_call:>10,.0f}"
        )
        sys.stdout.flush()
        if not args.keep:
            out.unlink()


STEPS: dict[str, object] = {}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run-step"]:
        from benchmarks import profile_steps

        profile_steps.run(argv[1], int(argv[2]))
        return
    if argv[:1] == ["steps"]:
        from benchmarks import profile_steps

        parser = argparse.ArgumentParser(prog="profile_request.py steps")
        parser.add_argument("step", nargs="*", help=f"default: all of {', '.join(profile_steps.STEPS)}")
        parser.add_argument("--iterations", type=int, default=2000)
        parser.add_argument("--keep", action="store_true", help="keep the callgrind dumps")
        args = parser.parse_args(argv[1:])
        STEPS.update(profile_steps.STEPS)
        steps_main(args)
        return
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--server", choices=("aiowsgi", "granian", "waitress"), default="aiowsgi")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--connections", type=int, default=1, help="keep-alive connections (default 1)")
    parser.add_argument("--threads", type=int, default=16, help="the server's worker threads (default 16)")
    parser.add_argument("--analyse", type=Path, help="only read this dump (of --requests requests)")
    parser.add_argument(
        "--path", default="/", help="what to ask benchmarks.apps:bench for (default /, the hello; /flask)"
    )
    parser.add_argument("--post", type=int, default=0, metavar="BYTES", help="POST a body of BYTES to --path")
    args = parser.parse_args(argv)
    path = args.analyse or profile_server(args)
    analyse(path, args.requests)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
