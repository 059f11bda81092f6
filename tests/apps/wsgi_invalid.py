"""Applications that answer with what the test gives them: invalid heads, bodies and lengths."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def respond_with(status: Any, headers: Any, body: Any) -> Any:
    """An application that calls start_response(status, headers) and returns `body` as it is."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response(status, headers)
        return body

    return app


def with_length(declared: int, chunks: list[bytes], as_list: bool) -> Any:
    """Declares Content-Length `declared`, then sends `chunks` as a list or from a generator."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(declared))])
        if as_list:
            return list(chunks)
        return _generate(chunks)

    return app


def _generate(chunks: list[bytes]) -> Iterator[bytes]:
    yield from chunks
