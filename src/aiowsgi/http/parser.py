"""The parser interface: what a parser adapter does, and how one is chosen.

An adapter turns bytes into calls on a `ParserSink` (the connection) and raises `ProtocolError` for bytes
its library rejects. It decides nothing about HTTP semantics: keep-alive, limits, framing rules and
validation belong to `connection.py`, so both adapters behave the same. The only limits an adapter enforces
itself are the ones it must, to bound memory while a head is still incomplete (`HeadLimits`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

# Control characters other than tab may not appear in a field value (RFC 9110 section 5.5). llhttp refuses
# them itself; the h11 adapter and the uwsgi reader check with this, so that every way in answers alike.
FIELD_VALUE_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


class ParserSink(Protocol):
    def on_begin(self) -> None:
        """The first byte of a new request has arrived."""

    def on_head(self, method: bytes, target: bytes, version: str, headers: list[tuple[bytes, bytes]]) -> None:
        """The request line and header section are complete; header names are lower-cased."""

    def on_body(self, data: bytes) -> None:
        """Body bytes, de-chunked."""

    def on_trailer(self, name: bytes) -> None:
        """A field of a chunked body's trailer section (lower-cased name); its value is not kept."""

    def on_end(self) -> None:
        """The request (body and trailers) is complete."""


class Parser(Protocol):
    name: str

    def feed(self, data: bytes | memoryview) -> None:
        """Parse `data`, calling the sink; raise ProtocolError when it is not valid HTTP/1.1.

        `data` may be a view of a larger read (a slice of it, not copied): the sink is given bytes.
        """


@dataclass(frozen=True, slots=True)
class HeadLimits:
    request_line: int
    field_count: int
    field_size: int

    @property
    def head_size(self) -> int:
        """The most bytes a head within the other limits can take (line, fields, CRLFs)."""
        return self.request_line + 2 + self.field_count * (self.field_size + 4) + 2


def available_parsers() -> tuple[str, ...]:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return ("h11",)
    return ("httptools", "h11")


def resolve_parser_name(name: str) -> str:
    """'auto' becomes the fastest installed parser; an explicit name that is not installed is an error."""
    installed = available_parsers()
    if name == "auto":
        return installed[0]
    if name not in installed:
        raise ImportError(
            f"--http {name} needs the {name} package: pip install {name} (or aiowsgi[standard])"
        )
    return name


def make_parser(name: str, sink: ParserSink, limits: HeadLimits) -> Parser:
    """A new parser for one connection. `name` is "auto", "httptools" or "h11"."""
    resolved = resolve_parser_name(name)
    if resolved == "httptools":
        from ._httptools import HttptoolsParser

        return HttptoolsParser(sink, limits)
    from ._h11 import H11Parser

    return H11Parser(sink, limits)
