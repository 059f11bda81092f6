"""The same bytes get the same answer, byte for byte apart from the Date value, whichever parser runs.

Every request of the raw corpus goes over a real socket to two servers, one per parser, with the corpus
limits; the client then half-closes, so each server answers what it read and closes. The application
answers with everything of the environ that the request decides.
"""

from __future__ import annotations

import hashlib
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from aiowsgi.http.parser import available_parsers
from tests.requests.corpus import LIMITS, Case, all_cases
from tests.support import RunningServer, running_server

pytestmark = pytest.mark.skipif(len(available_parsers()) < 2, reason="needs both httptools and h11")

# Everything but what differs between two servers and two connections (ports, the input stream, the
# callables bound to one request).
_PER_SERVER = {
    "SERVER_PORT", "REMOTE_PORT", "wsgi.input", "wsgi.errors", "wsgi.file_wrapper", "wsgi.early_hints",
    "aiowsgi.client_disconnected",
}  # fmt: skip
_DATE = re.compile(rb"\r\nDate: [^\r\n]*\r\n")


def environ_echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    lines = [f"{key}={environ[key]!r}" for key in sorted(environ) if key not in _PER_SERVER]
    lines.append(f"body sha256={hashlib.sha256(body).hexdigest()} length={len(body)}")
    payload = "\n".join(lines).encode("utf-8", "backslashreplace")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(payload)))])
    return [payload]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, RunningServer]]:
    options = {
        "limit_request_line": LIMITS.head.request_line,
        "limit_request_fields": LIMITS.head.field_count,
        "limit_request_field_size": LIMITS.head.field_size,
        "limit_request_body": LIMITS.body,
    }
    with (
        running_server(environ_echo, http="httptools", **options) as fast,
        running_server(environ_echo, http="h11", **options) as pure,
    ):
        yield {"httptools": fast, "h11": pure}


def answer(server: RunningServer, data: bytes) -> bytes:
    with server.connect() as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered and closed before it had everything: read what it said
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    return _DATE.sub(b"\r\nDate: -\r\n", received)


@pytest.mark.parametrize("case", all_cases(), ids=lambda case: case.id)
def test_same_bytes_same_answer(servers: dict[str, RunningServer], case: Case) -> None:
    fast = answer(servers["httptools"], case.data)
    pure = answer(servers["h11"], case.data)
    assert fast == pure
