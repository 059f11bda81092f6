"""The applications the benchmark servers run; every server gets the very same callable."""

HELLO = b"Hello, world!"


def hello(environ, start_response):
    """13 bytes with a Content-Length: measures the server, not the application."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))])
    return [HELLO]
