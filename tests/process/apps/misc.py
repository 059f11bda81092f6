"""Small WSGI apps and factories for the command-line tests (`tests.process.apps.misc:NAME`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

StartResponse = Callable[..., Any]

not_callable = "a string, not an application"


def echo_environ(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Answers the CGI keys a test may want to look at, as JSON."""
    keys = ("SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REMOTE_ADDR", "SERVER_PORT", "REQUEST_METHOD")
    body = json.dumps({key: environ.get(key) for key in keys}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def slow(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """`/?seconds=S&marker=PATH`: writes PATH as soon as it starts running, then sleeps S seconds."""
    query = parse_qs(environ["QUERY_STRING"])
    if "marker" in query:
        Path(query["marker"][0]).write_text("started")
    time.sleep(float(query.get("seconds", ["0"])[0]))
    body = b"finished"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def create_app() -> Callable[..., Iterable[bytes]]:
    """A factory for --factory: returns a fresh application."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = b"made by a factory"
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def broken_factory() -> Callable[..., Iterable[bytes]]:
    """A factory for --factory that fails, as one with a missing setting would."""
    raise RuntimeError("the factory could not find its settings")
