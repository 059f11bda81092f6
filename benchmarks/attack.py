"""Hostile clients for the benchmarks: hold slow and idle connections open against a server, and probe it.

    python -m benchmarks.attack hold --port 8000 --slowloris 500 --idle 500 --uploads 50 --reconnect
    python -m benchmarks.attack probe --port 8000 --count 20

`hold` opens the connections, says on stdout (one JSON object a line) when it holds them, then obeys lines
on stdin:

- `mark`: start the measurement window; the counts of what the server did are reset.
- `report`: print what it held and what the server did to its connections, then go on holding.
- `quit` (or end of input): close everything and exit.

The kinds of connection:

- slowloris: an unfinished request head (`GET / HTTP/1.1`, `Host`), then one more header byte every
  `--slowloris-interval` seconds, for ever: the head never ends.
- idle: one complete request; once its response has arrived, nothing more (an idle keep-alive connection).
- fresh: connect and send nothing.
- upload: a request head with `Content-Length: 1 MiB`, then the body at `--upload-rate` bytes a second.

Whenever the server ends one (answers it, closes it, resets it), the reason is counted, and with
`--reconnect` a new connection of the same kind replaces it, so that the pressure stays on for as long as
the attack is held: against a server with a 10 s header deadline, each slowloris slot is a new connection
every 10 s. A connection is *held* once it is in its holding state (slowloris and upload: head started;
idle: response received; fresh: connected); one that is connected but not yet there (a request the
server has not answered, a connection the server has not accepted) is *pending*.

`probe` times requests for `GET /`: each on a new connection (connect, request, whole response), then as
many on one keep-alive connection; it prints the latencies in milliseconds as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import socket
import statistics
import sys
import time
from collections import Counter

KINDS = ("slowloris", "idle", "fresh", "upload")
UPLOAD_SIZE = 1 << 20
SLOWLORIS_HEAD = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slowloris\r\n"
SLOWLORIS_DRIP = b"X-a: b\r\n"  # sent a byte at a time, over and over: never the blank line that ends a head
REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def raise_nofile() -> int:
    """Raise the soft open-file limit to the hard one; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def status_of(data: bytes) -> str:
    """'answered 408' for a response's first bytes, or a description of other bytes."""
    if data.startswith(b"HTTP/"):
        parts = data.split(b" ", 2)
        if len(parts) >= 2 and parts[1].isdigit():
            return f"answered {parts[1].decode()}"
    return "sent other bytes"


class Holder:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.held: Counter[str] = Counter()
        self.pending: Counter[str] = Counter()
        self.connects: Counter[str] = Counter()
        self.ended_total: dict[str, Counter[str]] = {k: Counter() for k in KINDS}
        self.ended_window: dict[str, Counter[str]] = {k: Counter() for k in KINDS}
        self.answered: Counter[str] = Counter()  # early answers to uploads, which go on
        self.min_held: dict[str, int] = {}  # in the measurement window, sampled every 0.1 s
        self.sum_held: Counter[str] = Counter()
        self.samples = 0
        self.marked_at: float | None = None
        self.stopping = False
        self.progress_at = time.monotonic()
        # Bounds the connections on their way to their holding state at once, so that the ramp does not
        # arrive as one burst of thousands of requests (which a server may rightly answer 503).
        self.ramp = asyncio.Semaphore(args.ramp_concurrency)

    def targets(self) -> dict[str, int]:
        return {k: getattr(self.args, k) for k in KINDS if getattr(self.args, k)}

    def end(self, kind: str, reason: str) -> None:
        self.ended_total[kind][reason] += 1
        if self.marked_at is not None:
            self.ended_window[kind][reason] += 1

    async def slot(self, kind: str) -> None:
        session = getattr(self, f"_{kind}")
        while not self.stopping:
            await self.ramp.acquire()
            state = {"held": False, "ramp": True}
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.args.host, self.args.port), self.args.connect_timeout
                )
            except (OSError, TimeoutError) as exc:
                self.ramp.release()
                self.end(kind, f"connect failed ({type(exc).__name__})")
                if not self.args.reconnect:
                    return
                await asyncio.sleep(self.args.reconnect_delay * (1 + random.random()))
                continue
            self.connects[kind] += 1
            self.pending[kind] += 1
            reason: str | None = None
            try:
                reason = await session(reader, writer, state)
            except (ConnectionResetError, BrokenPipeError):
                reason = "reset"
            except asyncio.IncompleteReadError:
                reason = "closed"
            except OSError as exc:
                reason = f"error ({type(exc).__name__})"
            finally:
                self._release(state)
                if state["held"]:
                    self.held[kind] -= 1
                else:
                    self.pending[kind] -= 1
                writer.transport.abort()
                if reason is not None and not self.stopping:
                    self.end(kind, ("" if state["held"] else "before held: ") + reason)
            if not self.args.reconnect:
                return
            await asyncio.sleep(self.args.reconnect_delay * (1 + random.random()))

    def _release(self, state: dict[str, bool]) -> None:
        """Give back this connection's place in the ramp (once)."""
        if state["ramp"]:
            state["ramp"] = False
            self.ramp.release()

    def _hold(self, kind: str, state: dict[str, bool]) -> None:
        self._release(state)
        state["held"] = True
        self.pending[kind] -= 1
        self.held[kind] += 1
        self.progress_at = time.monotonic()

    async def _drip(
        self, kind: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, interval: float, chunks
    ) -> str:
        """Write the next chunk every interval until the server closes the connection. A slowloris ends at
        the server's first answer (a 408, say); an upload goes on after an early answer (counted, as
        "answered N while uploading") as a real client would, until the server closes the connection."""
        read = asyncio.ensure_future(reader.read(65536))
        try:
            await asyncio.wait({read}, timeout=interval * random.random())  # spread the slots' ticks
            while True:
                if read.done():
                    data = read.result()
                    if not data:
                        return "closed"
                    if kind != "upload":
                        return status_of(data)
                    if data.startswith(b"HTTP/"):
                        self.answered[status_of(data) + " while uploading"] += 1
                    read = asyncio.ensure_future(reader.read(65536))
                    continue
                writer.write(next(chunks))
                await asyncio.wait({read}, timeout=interval)
        finally:
            read.cancel()

    async def _slowloris(self, reader, writer, state) -> str:
        writer.write(SLOWLORIS_HEAD)
        self._hold("slowloris", state)

        def drip():
            while True:
                for i in range(len(SLOWLORIS_DRIP)):
                    yield SLOWLORIS_DRIP[i : i + 1]

        return await self._drip("slowloris", reader, writer, self.args.slowloris_interval, drip())

    async def _upload(self, reader, writer, state) -> str:
        writer.write(
            b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: %d\r\n\r\n" % UPLOAD_SIZE
        )
        self._hold("upload", state)
        tick = 1.0
        chunk = b"x" * max(1, int(self.args.upload_rate * tick))

        def body():
            sent = 0
            while sent < UPLOAD_SIZE:
                piece = chunk[: UPLOAD_SIZE - sent]
                sent += len(piece)
                yield piece
            while True:
                yield b""

        return await self._drip("upload", reader, writer, tick, body())

    async def _idle(self, reader, writer, state) -> str:
        writer.write(REQUEST)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.args.response_timeout)
        except asyncio.IncompleteReadError as exc:
            return status_of(exc.partial) if exc.partial else "closed"
        except TimeoutError:
            # Not answered in time (a server that has not accepted it, or is overloaded): stay pending,
            # let the ramp go on without it, and count it held if the answer does come.
            self._release(state)
            head = await reader.readuntil(b"\r\n\r\n")
        status = status_of(head)
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        await reader.readexactly(length)
        if status != "answered 200":
            return status
        self._hold("idle", state)
        data = await reader.read(65536)
        return status_of(data) if data else "closed"

    async def _fresh(self, reader, writer, state) -> str:
        self._hold("fresh", state)
        data = await reader.read(65536)
        return status_of(data) if data else "closed"

    def snapshot(self) -> dict[str, object]:
        return {
            "held": {k: self.held[k] for k in self.targets()},
            "pending": {k: self.pending[k] for k in self.targets()},
        }

    async def sample(self) -> None:
        while True:
            if self.marked_at is not None:
                self.samples += 1
                for k in self.targets():
                    self.min_held[k] = min(self.min_held.get(k, self.held[k]), self.held[k])
                    self.sum_held[k] += self.held[k]
            await asyncio.sleep(0.1)

    async def run(self) -> None:
        limit = raise_nofile()
        started = time.monotonic()
        # Interleave the kinds, so that each has its share of the ramp from the start.
        order = sorted((i / n, kind) for kind, n in self.targets().items() for i in range(n))
        tasks = [asyncio.ensure_future(self.slot(kind)) for _, kind in order]
        sampler = asyncio.ensure_future(self.sample())
        want = sum(self.targets().values())
        deadline = started + self.args.ramp_timeout
        # Ready when every connection is held, or when no more have been held for a while (a server that
        # accepts no more), or at the deadline.
        self.progress_at = started
        while time.monotonic() < deadline and time.monotonic() - self.progress_at < self.args.stall:
            if sum(self.held.values()) >= want:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(self.args.settle)
        emit(
            {
                "event": "ready",
                "targets": self.targets(),
                "ramp_seconds": round(time.monotonic() - started, 2),
                "nofile": limit,
                **self.snapshot(),
                "ended": {k: dict(v) for k, v in self.ended_total.items() if v},
            }
        )
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            command = line.strip()
            if command == "mark":
                self.marked_at = time.monotonic()
                self.ended_window = {k: Counter() for k in KINDS}
                self.min_held = {}
                self.sum_held = Counter()
                self.samples = 0
                self.answered = Counter()
                emit({"event": "marked", **self.snapshot()})
            elif command == "report":
                emit(
                    {
                        "event": "report",
                        "window_seconds": None
                        if self.marked_at is None
                        else round(time.monotonic() - self.marked_at, 2),
                        **self.snapshot(),
                        "min_held": dict(self.min_held),
                        "mean_held": {k: round(v / max(1, self.samples)) for k, v in self.sum_held.items()},
                        "ended_in_window": {k: dict(v) for k, v in self.ended_window.items() if v},
                        "ended_total": {k: dict(v) for k, v in self.ended_total.items() if v},
                        "connects": dict(self.connects),
                        "uploads_answered_in_window": dict(self.answered),
                    }
                )
            elif command in ("quit", ""):
                break
        self.stopping = True
        sampler.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, sampler, return_exceptions=True)


def emit(obj: dict[str, object]) -> None:
    print(json.dumps(obj), flush=True)


# Probe ---------------------------------------------------------------------------------------------------


def read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the body")
        body += chunk
    return head


def probe(args: argparse.Namespace) -> dict[str, object]:
    address = (args.host, args.port)
    fresh: list[float] = []
    failures: Counter[str] = Counter()
    for _ in range(args.count):
        started = time.perf_counter()
        try:
            with socket.create_connection(address, timeout=args.timeout) as sock:
                sock.sendall(REQUEST)
                head = read_response(sock)
            if not head.startswith(b"HTTP/1.1 200"):
                failures[status_of(head)] += 1
                continue
            fresh.append((time.perf_counter() - started) * 1000)
        except (OSError, ConnectionError) as exc:
            failures[f"new connection: {type(exc).__name__}"] += 1
            if len(failures) and not fresh and sum(failures.values()) >= 3:
                break  # a server that accepts no more: do not wait out every timeout
    keepalive: list[float] = []
    try:
        with socket.create_connection(address, timeout=args.timeout) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(args.count):
                started = time.perf_counter()
                sock.sendall(REQUEST)
                read_response(sock)
                keepalive.append((time.perf_counter() - started) * 1000)
    except (OSError, ConnectionError) as exc:
        failures[f"keep-alive: {type(exc).__name__}"] += 1

    def median(values: list[float]) -> float | None:
        return round(statistics.median(values), 3) if values else None

    return {
        "fresh_ms": [round(v, 3) for v in fresh],
        "fresh_median_ms": median(fresh),
        "keepalive_ms": [round(v, 3) for v in keepalive],
        "keepalive_median_ms": median(keepalive),
        "failures": dict(failures),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    hold = sub.add_parser("hold", help="hold hostile connections open")
    probe_ = sub.add_parser("probe", help="time requests")
    for p in (hold, probe_):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, required=True)
    for kind in KINDS:
        hold.add_argument(f"--{kind}", type=int, default=0, help=f"{kind} connections to hold")
    hold.add_argument("--slowloris-interval", type=float, default=2.0, help="seconds between header bytes")
    hold.add_argument("--upload-rate", type=int, default=300, help="upload body bytes a second")
    hold.add_argument("--reconnect", action="store_true", help="replace every connection the server ends")
    hold.add_argument("--reconnect-delay", type=float, default=0.1, help="seconds before a replacement")
    hold.add_argument("--connect-timeout", type=float, default=5.0)
    hold.add_argument("--response-timeout", type=float, default=5.0)
    hold.add_argument("--ramp-concurrency", type=int, default=64, help="connections on their way at once")
    hold.add_argument("--ramp-timeout", type=float, default=20.0, help="seconds to reach the targets")
    hold.add_argument("--stall", type=float, default=4.0, help="seconds without progress that end the ramp")
    hold.add_argument("--settle", type=float, default=0.5, help="seconds to wait after the ramp")
    probe_.add_argument("--count", type=int, default=20)
    probe_.add_argument("--timeout", type=float, default=2.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "probe":
        emit(probe(args))
        return 0
    try:
        import uvloop  # the attacker shares a CPU with wrk: the cheaper its loop, the better
    except ImportError:
        asyncio.run(Holder(args).run())
    else:
        uvloop.run(Holder(args).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
