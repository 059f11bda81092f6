"""What the event loop does for one 16 KiB POST, counted in instructions: `valgrind` makes it repeatable.

The loop's side of a request without sockets, threads or a client: HttpProtocol.data_received on one read
holding a whole `POST /echo` with a 16 KiB body (parse, body buffer, hand-off to the pool's queue), the
body read back as the application reads wsgi.input, and the response handed back (output_finish). Run it
twice under callgrind, with no requests and with N, and divide the difference by N:

    valgrind --tool=callgrind --callgrind-out-file=/dev/null python benchmarks/post_loop_cost.py 0
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python benchmarks/post_loop_cost.py 2000

(each prints "Collected : N" on stderr). `--parser h11` measures the pure-Python parser. Without valgrind,
`python benchmarks/post_loop_cost.py` prints microseconds per request instead, which depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import timeit
from typing import Any

from aiowsgi.bridge import WorkerPool
from aiowsgi.config import Config
from aiowsgi.protocol import HttpProtocol, ServerState
from aiowsgi.server import request_limits

BODY = b"x" * 16384
REQUEST = (
    b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Length: 16384\r\n\r\n" + BODY
)


class NullTransport:
    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 5555)}.get(name, default)

    def set_write_buffer_limits(self, high: int | None = None) -> None: ...

    def write(self, data: bytes) -> None: ...

    def writelines(self, data: Any) -> None: ...

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def close(self) -> None: ...


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("requests", nargs="?", type=int, help="run this many and exit (for valgrind)")
    parser.add_argument("--parser", default="httptools", choices=("httptools", "h11"))
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    config = Config(port=0, access_log=False)
    pool = WorkerPool(1, loop)  # never started: the test takes each job off its queue itself
    state = ServerState(
        app=None,  # type: ignore[arg-type]
        config=config,
        pool=pool,
        loop=loop,
        parser_name=args.parser,
        limits=request_limits(config),
    )
    protocol = HttpProtocol(state)
    protocol.connection_made(NullTransport())  # type: ignore[arg-type]
    jobs = pool._queue
    answer = (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",)

    def one() -> None:
        protocol.data_received(REQUEST)
        exchange = jobs.get_nowait().args[3]  # type: ignore[union-attr]
        exchange.body.as_stream().read()
        exchange.body.close()
        protocol.output_finish(answer, True)

    for _ in range(200):  # warm: first-time imports and caches out of the count
        one()
    if args.requests is not None:
        for _ in range(args.requests):
            one()
        return 0
    best = min(timeit.repeat(one, number=20_000, repeat=5)) / 20_000
    print(f"{best * 1e6:.2f} us per 16 KiB POST on the loop ({args.parser})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
