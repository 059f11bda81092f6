"""WSGI apps for the --workers tests (`tests.process.apps.workers:NAME`): each answers its process ID."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

StartResponse = Callable[..., Any]


def pid(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Answers os.getpid(). `/?seconds=S&marker=PATH` writes PATH when it starts, then sleeps S seconds."""
    query = parse_qs(environ["QUERY_STRING"])
    if "marker" in query:
        Path(query["marker"][0]).write_text("started")
    time.sleep(float(query.get("seconds", ["0"])[0]))
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def block_loop(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """`/block?seconds=S` blocks this process's event loop (not the worker thread) for S seconds.

    A WSGI application has no handle on the loop, so it finds it among live objects: fine for a test of
    what a blocked loop looks like to the supervisor. Other paths answer the process ID.
    """
    if environ["PATH_INFO"] == "/block":
        seconds = float(parse_qs(environ["QUERY_STRING"]).get("seconds", ["60"])[0])
        loops = [obj for obj in gc.get_objects() if isinstance(obj, asyncio.AbstractEventLoop)]
        for loop in loops:
            if loop.is_running():
                loop.call_soon_threadsafe(time.sleep, seconds)
    return pid(environ, start_response)
