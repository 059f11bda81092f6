"""What the connection reports about the request side of an HTTP/1.1 connection."""

from __future__ import annotations

from dataclasses import dataclass


# Not frozen: a frozen dataclass is built with object.__setattr__ per field, which more than doubles what
# making one costs, once per request. Nothing changes a RequestHead after validate_head makes it.
@dataclass(slots=True)
class RequestHead:
    """A validated request line and header section, with the framing facts derived from it.

    `headers` keeps the order and the original spelling of each name; names are lower-cased bytes.
    `content_length` is the declared body length (None for a chunked body or no body). `keep_alive` is
    the client's wish; the response may still close. `params` is None for HTTP; from a uwsgi front end
    it holds the request's CGI variables as sent, and the environ is made from them (wsgi/environ.py).
    """

    method: str
    target: bytes
    http_version: str
    headers: tuple[tuple[bytes, bytes], ...]
    content_length: int | None
    chunked: bool
    keep_alive: bool
    expect_continue: bool
    params: tuple[tuple[bytes, bytes], ...] | None = None


@dataclass(frozen=True, slots=True)
class BodyChunk:
    """Some bytes of the current request's body, already de-chunked."""

    data: bytes


@dataclass(frozen=True, slots=True)
class EndOfRequest:
    """The current request is complete (its trailers, if any, were read and dropped)."""


END_OF_REQUEST = EndOfRequest()

Event = RequestHead | BodyChunk | EndOfRequest
