"""What the framework tests share: a `requests` client for one server, and the checks every app answers.

`Client` wraps one `requests.Session` (so requests reuse a kept-alive connection, as a browser would)
and a base URL. `framework_server(args)` runs `python -m aiowsgi ARGS` through tests/process/_proc.py
`serving` and yields a Client for it; test modules wrap it in a module-scoped fixture, so that one child
process answers all of a module's read-only tests.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from tests.process._proc import ServerProcess, serving

TIMEOUT = 30.0  # the 20 MiB upload is hashed and saved on a shared 2-core machine


@dataclass
class Client:
    url: str
    session: requests.Session
    process: ServerProcess | None = None

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url + path, timeout=TIMEOUT, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url + path, timeout=TIMEOUT, **kwargs)


@contextlib.contextmanager
def client_for(url: str, process: ServerProcess | None = None) -> Iterator[Client]:
    with requests.Session() as session:
        yield Client(url, session, process)


@contextlib.contextmanager
def framework_server(args: Sequence[str], env: Mapping[str, str] | None = None) -> Iterator[Client]:
    """`python -m aiowsgi ARGS --no-access-log` on a free port, and a client for it."""
    with serving([*args, "--no-access-log"], env=env) as process:
        with client_for(f"http://127.0.0.1:{process.port}", process) as client:
            yield client


def read_chunks(response: requests.Response) -> list[bytes]:
    """The body of a `stream=True` response, one item per HTTP chunk as it was framed on the wire."""
    assert response.headers.get("Transfer-Encoding") == "chunked", response.headers
    assert "Content-Length" not in response.headers
    return list(response.raw.read_chunked(decode_content=False))


def check_streamed_lines(response: requests.Response, count: int, line: str) -> None:
    """A streamed response of `count` lines `line.format(index)`, each in a chunk of its own."""
    with response:
        assert response.status_code == 200, response.text
        chunks = read_chunks(response)
    assert chunks == [(line.format(index) + "\n").encode() for index in range(count)]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
