"""Streams a large numbered body, recording how far it got and whether close() ran.

GET /yield produces the body from a generator; GET /write pushes it through start_response's write()
and records the exception write() raises, if any. Both set a Content-Length; GET /chunked is /yield
without one, so the body goes chunked. Any other path answers a short b"ok".
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

KiB = 1024
MiB = 1024 * KiB


def block(index: int, size: int) -> bytes:
    """Block `index` of the body: numbered, so that a lost, doubled or reordered block changes the hash."""
    return (b"%012d" % index).ljust(size, b".")


def expected_sha256(total: int, size: int) -> str:
    digest = hashlib.sha256()
    for index in range(total // size):
        digest.update(block(index, size))
    return digest.hexdigest()


class _Closing:
    def __init__(self, owner: BigStream, chunks: Iterator[bytes]) -> None:
        self._owner = owner
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        self._owner.closed.set()


class BigStream:
    def __init__(self, total: int = 20 * MiB, block_size: int = 64 * KiB) -> None:
        assert total % block_size == 0
        self.total = total
        self.block_size = block_size
        self.produced = 0  # bytes handed to the server so far
        self.finished = threading.Event()  # every byte was handed over
        self.closed = threading.Event()  # the server called close() on the iterable
        self.write_failed = threading.Event()
        self.write_error: BaseException | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        if path not in ("/yield", "/write", "/chunked"):
            start_response("200 OK", [("Content-Length", "2")])
            return [b"ok"]
        headers = [("Content-Type", "application/octet-stream")]
        if path != "/chunked":
            headers.append(("Content-Length", str(self.total)))
        write = start_response("200 OK", headers)
        if path in ("/yield", "/chunked"):
            return _Closing(self, self._chunks())
        try:
            for chunk in self._chunks():
                write(chunk)
        except OSError as exc:
            self.write_error = exc
            self.write_failed.set()
            raise
        return _Closing(self, iter(()))

    def _chunks(self) -> Iterator[bytes]:
        for index in range(self.total // self.block_size):
            chunk = block(index, self.block_size)
            yield chunk
            self.produced += len(chunk)
        self.finished.set()
