"""The applications the benchmark servers run; every server gets the very same callable."""

HELLO = b"Hello, world!"


def hello(environ, start_response):
    """13 bytes with a Content-Length: measures the server, not the application."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))])
    return [HELLO]


def hello_a2wsgi():
    """hello for Uvicorn: a2wsgi's WSGIMiddleware, with BENCH_THREADS worker threads (the runner sets it)."""
    import os

    from a2wsgi import WSGIMiddleware

    return WSGIMiddleware(hello, workers=int(os.environ.get("BENCH_THREADS", "16")))
