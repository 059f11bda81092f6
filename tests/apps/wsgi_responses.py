"""One application per start_response / write() / iteration rule of PEP 3333."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from typing import Any

TEXT = [("Content-Type", "text/plain")]


def write_then_list(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """write() output must reach the client before the returned iterable's."""
    write = start_response("200 OK", list(TEXT))
    write(b"first,")
    write(b"")
    write(b"second,")
    return [b"third"]


def write_then_generator(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    write = start_response("200 OK", list(TEXT))
    write(b"first,")
    yield b"second,"
    yield b"third"


def write_with_length(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    write = start_response("200 OK", [*TEXT, ("Content-Length", "11")])
    write(b"first,")
    return [b"third"]


def start_response_twice(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", list(TEXT))
    start_response("201 Created", list(TEXT))  # no exc_info: an error
    return [b"should not be sent"]


def exc_info_before_output(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The application catches its own error and replaces the pending status and headers."""
    start_response("200 OK", [*TEXT, ("X-First", "yes")])
    try:
        raise ValueError("the application failed after start_response")
    except ValueError:
        start_response("503 Service Unavailable", [*TEXT, ("X-Second", "yes")], sys.exc_info())
    return [b"sorry"]


def exc_info_after_output(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    """Once the head is out, start_response(..., exc_info) must re-raise: the error cannot be reported."""
    start_response("200 OK", list(TEXT))
    yield b"partial"
    try:
        raise ValueError("failed mid-stream")
    except ValueError:
        start_response("500 Internal Server Error", list(TEXT), sys.exc_info())
    yield b"never sent"


def late_start_response(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    """A generator application: start_response runs inside the first iteration."""
    start_response("200 OK", [*TEXT, ("X-Late", "yes")])
    yield b"late "
    yield b"start"


def empty_chunks_first(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    start_response("201 Created", list(TEXT))
    yield b""
    yield b""
    yield b"data"


def empty_then_raise(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    """Nothing real was produced before the error, so the head was never sent: a clean 500 is possible."""
    start_response("200 OK", list(TEXT))
    yield b""
    raise ValueError("failed before any output")


def empty_body(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", list(TEXT))
    return []


def stream(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    start_response("200 OK", list(TEXT))
    for index in range(5):
        yield b"chunk %d;" % index


def write_then_file_wrapper(environ: dict[str, Any], start_response: Any) -> Any:
    """write() output, then a file_wrapper over a real file (which the server may send with sendfile)."""
    write = start_response("200 OK", list(TEXT))
    write(b"first,")
    file = tempfile.TemporaryFile()
    file.write(b"second,third")
    file.seek(0)
    return environ["wsgi.file_wrapper"](file)
