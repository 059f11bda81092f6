"""aiowsgi inside your own asyncio program, next to other services on the same event loop.

    python examples/embedded.py                      # WSGI on 127.0.0.1:8000, echo on 127.0.0.1:8001
    python examples/embedded.py --http-port 0 --echo-port 0   # free ports, printed on the "ready" line

One process runs three things on one loop:
  - aiowsgi.Server serving a WSGI app (its worker threads run only the app),
  - a TCP echo server made with asyncio.start_server,
  - a task that logs a counter every second.

aiowsgi installs no signal handlers and configures no logging when embedded: both are this program's job,
and it does them below. Ctrl-C or SIGTERM stops everything cleanly and exits with status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal

import aiowsgi

log = logging.getLogger("embedded")


def app(environ, start_response):
    body = f"Hello from aiowsgi, next to an echo server ({environ['PATH_INFO']})\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


echo_clients: set[asyncio.StreamWriter] = set()


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    echo_clients.add(writer)
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        echo_clients.discard(writer)
        writer.close()


async def tick() -> None:
    count = 0
    while True:
        await asyncio.sleep(1)
        count += 1
        log.info("tick %d", count)


async def main(host: str, http_port: int, echo_port: int, threads: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    echo_server = await asyncio.start_server(echo, host, echo_port)
    async with echo_server, aiowsgi.Server(app, host=host, port=http_port, threads=threads) as server:
        ticker = asyncio.create_task(tick())
        http_bound = server.sockets[0].getsockname()[1]
        echo_bound = echo_server.sockets[0].getsockname()[1]
        # One line that a supervisor or a test can wait for: both services are accepting.
        print(f"ready http={host}:{http_bound} echo={host}:{echo_bound}", flush=True)
        await stop.wait()
        log.info("stopping")
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        for writer in list(echo_clients):
            writer.close()  # on Python 3.12+, closing the echo server waits for its clients to leave
    # Leaving the block shut aiowsgi down gracefully (requests in flight finish), then closed the echo server.
    log.info("stopped")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    env = os.environ.get
    parser.add_argument("--host", default=env("EMBEDDED_HOST", "127.0.0.1"))
    parser.add_argument("--http-port", type=int, default=int(env("EMBEDDED_HTTP_PORT", "8000")))
    parser.add_argument("--echo-port", type=int, default=int(env("EMBEDDED_ECHO_PORT", "8001")))
    parser.add_argument("--threads", type=int, default=4, help="aiowsgi worker threads")
    parser.add_argument(
        "--loop",
        choices=("auto", "uvloop", "asyncio"),
        default="auto",
        help="auto: uvloop if installed. aiowsgi runs on whichever loop you choose.",
    )
    return parser.parse_args()


def loop_factory(name: str):
    if name != "asyncio":
        try:
            import uvloop
        except ImportError:
            if name == "uvloop":
                raise SystemExit("--loop uvloop: uvloop is not installed") from None
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


if __name__ == "__main__":
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    with asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner:
        runner.run(main(args.host, args.http_port, args.echo_port, args.threads))
