"""The applications the benchmark servers run; every server gets the very same callable.

Every server runs `bench`, which picks the application by the request path (one dict lookup, the same for
every server), so that one server process serves all the throughput scenarios:

| path | application | scenario |
|---|---|---|
| `/` (and any other path) | `hello`: 13 bytes, Content-Length | keepalive, close, the hostile clients |
| `/64k` | `large`: 64 KiB with a Content-Length | large |
| `/echo` | `echo`: the request body echoed back, with a Content-Length | post |
| `/stream` | `stream`: 1 MiB from a generator in 64 KiB chunks, no Content-Length | stream |
| `/sleep` | `sleep`: time.sleep(0.01), then hello | sleep |
| `/flask` | `benchmarks.flask_app:app`: Flask's hello | flask |
| `/cpu` | `cpu`: about 1 ms of pure-Python work, then a 13-byte answer | cpu |

`python -m benchmarks.apps` times the `cpu` application's work on this machine.
"""

import time

from benchmarks.flask_app import app as flask_app

HELLO = b"Hello, world!"
LARGE = b"x" * (64 * 1024)
CHUNK = b"y" * (64 * 1024)
STREAM_CHUNKS = 16  # 16 x 64 KiB = 1 MiB
SLEEP_SECONDS = 0.01
# A fixed amount of work (the same for every server, not recalibrated per process): about 1 ms on the
# benchmark machine with CPython 3.11. `python -m benchmarks.apps` prints what it takes here.
CPU_ITERATIONS = 17_000


def hello(environ, start_response):
    """13 bytes with a Content-Length: measures the server, not the application."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))])
    return [HELLO]


def large(environ, start_response):
    """64 KiB in one piece, with a Content-Length."""
    start_response(
        "200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(LARGE)))]
    )
    return [LARGE]


def echo(environ, start_response):
    """The request body, read with one read(Content-Length), sent back with a Content-Length."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    start_response(
        "200 OK",
        [
            ("Content-Type", environ.get("CONTENT_TYPE") or "application/octet-stream"),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


def _chunks():
    for _ in range(STREAM_CHUNKS):
        yield CHUNK


def stream(environ, start_response):
    """1 MiB from a generator, 64 KiB at a time, with no Content-Length (chunked on HTTP/1.1)."""
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return _chunks()


def sleep(environ, start_response):
    """A blocking application: 10 ms in time.sleep, then hello."""
    time.sleep(SLEEP_SECONDS)
    return hello(environ, start_response)


def work(iterations=CPU_ITERATIONS):
    """Deterministic pure-Python work: integer arithmetic in a loop (holds the GIL throughout)."""
    total = 0
    for i in range(iterations):
        total = (total + i * i) % 1_000_003
    return total


def cpu(environ, start_response):
    """About 1 ms of pure-Python work, then a small answer that depends on it."""
    body = b"%d" % work()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


ROUTES = {
    "/": hello,
    "/64k": large,
    "/echo": echo,
    "/stream": stream,
    "/sleep": sleep,
    "/flask": flask_app,
    "/cpu": cpu,
}


def bench(environ, start_response):
    """The application every server runs: the scenario's application, picked by PATH_INFO."""
    return ROUTES.get(environ.get("PATH_INFO"), hello)(environ, start_response)


def bench_a2wsgi():
    """bench for Uvicorn: a2wsgi's WSGIMiddleware, with BENCH_THREADS worker threads (the runner sets it)."""
    import os

    from a2wsgi import WSGIMiddleware

    return WSGIMiddleware(bench, workers=int(os.environ.get("BENCH_THREADS", "16")))


hello_a2wsgi = bench_a2wsgi  # the name earlier runs used


if __name__ == "__main__":
    import timeit

    runs = timeit.repeat(work, number=100, repeat=5)
    print(f"cpu: {CPU_ITERATIONS} iterations take {min(runs) / 100 * 1000:.3f} ms (best of 5 x 100)")
