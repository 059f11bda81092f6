"""Response bytes: status line, header checks, framing headers, chunks, error pages, a cached Date.

One writer serves both parsers, so a response is the same bytes whichever parser read the request.
`check_response_head` runs when the application calls start_response (PEP 3333 asks servers to reject bad
headers then, while the application can still see the error); `encode_head` runs once the body framing is
known. Both are pure and safe to call from worker threads.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus

from ..errors import InvalidResponse
from .connection import BodyFraming, plan_response
from .events import RequestHead

CONTINUE_RESPONSE = b"HTTP/1.1 100 Continue\r\n\r\n"
LAST_CHUNK = b"0\r\n\r\n"
SERVER_NAME = "aiowsgi"

_STATUS = re.compile(r"[2-5][0-9][0-9] [\t\x20-\x7e\x80-\xff]*")
# One pass over every header line the application gave: a token, ": ", then no control characters
# except tab. Anything else (CR, LF, NUL) could end the header section early and split the response.
_HEADER_BLOCK = re.compile(r"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+: [\t\x20-\x7e\x80-\xff]*\r\n)*")
# The block check alone would let a name carry ": " into the line ("X: a" + "v" reads as "X" = "a: v").
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# PEP 3333: an application must not send hop-by-hop headers; the server owns the connection's framing.
# "connection: close" is the exception we honour, as a request to close after this response.
_HOP_BY_HOP = frozenset(
    {"keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
     "transfer-encoding", "upgrade", "proxy-connection"}
)  # fmt: skip

# Module globals for the BodyFraming members, as in http/connection.py (a lookup on an Enum class is slow
# on Python 3.11).
_BODY_NONE = BodyFraming.NONE
_BODY_CHUNKED = BodyFraming.CHUNKED


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """An application's status and headers, checked, with the facts the framing needs."""

    status: str
    status_code: int
    header_block: str
    content_length: int | None
    close_requested: bool
    has_server: bool
    has_date: bool


# An application sends the same few status-and-header lists over and over; checking one costs a few
# microseconds, finding it again a fraction of one. Cleared when full, so an application whose headers
# are always new (a cookie, an ETag) pays only the failed lookup, and the memory stays bounded.
_CHECKED_HEADS_LIMIT = 256
_checked_heads: dict[tuple[object, ...], ResponseHead] = {}


def check_response_head(status: object, headers: object) -> ResponseHead:
    """Validate what the application passed to start_response, or raise InvalidResponse saying why.

    A status and headers equal to ones checked before give the same answer from a memo. A hit cannot let
    anything unchecked through: what goes on the wire is the checked ResponseHead's own strings.
    """
    if type(headers) is not list:
        return _check_response_head(status, headers)
    try:
        key = (status, *headers)
        known = _checked_heads.get(key)
    except TypeError:  # an unhashable item: certainly not a (str, str) tuple, as the check will say
        return _check_response_head(status, headers)
    if known is not None:
        return known
    head = _check_response_head(status, headers)
    if len(_checked_heads) >= _CHECKED_HEADS_LIMIT:
        _checked_heads.clear()
    _checked_heads[key] = head
    return head


def _check_response_head(status: object, headers: object) -> ResponseHead:
    if type(status) is not str:
        raise InvalidResponse(f"status must be a str, got {type(status).__name__}: {status!r}")
    if not _STATUS.fullmatch(status):
        raise InvalidResponse(f"status must be a 3-digit code from 200 to 599 and a reason: {status!r}")
    status_code = int(status[:3])
    block, content_length, close_requested, has_server, has_date = _check_headers(headers, status_code)
    return ResponseHead(
        status=status,
        status_code=status_code,
        header_block=block,
        content_length=content_length,
        close_requested=close_requested,
        has_server=has_server,
        has_date=has_date,
    )


def _check_headers(headers: object, status_code: int) -> tuple[str, int | None, bool, bool, bool]:
    """The header lines in wire form, with what the framing needs: (block, Content-Length, Connection:
    close asked for, has Server, has Date); or InvalidResponse saying what is wrong."""
    if type(headers) is not list:
        raise InvalidResponse(f"headers must be a list of (name, value) tuples, got {type(headers).__name__}")
    content_length: int | None = None
    close_requested = has_server = has_date = False
    lines: list[str] = []
    for item in headers:
        if type(item) is not tuple or len(item) != 2:
            raise InvalidResponse(f"each header must be a (name, value) tuple, got {item!r}")
        name, value = item
        if type(name) is not str or type(value) is not str:
            raise InvalidResponse(f"header names and values must be str, got {item!r}")
        if not _TOKEN.fullmatch(name):
            raise InvalidResponse(f"header name is not an HTTP token: {name!r}")
        lowered = name.lower()
        if lowered == "content-length":
            if not value.isdigit() or not value.isascii():
                raise InvalidResponse(f"Content-Length must be a number of bytes, got {value!r}")
            if content_length is not None:
                # Two different lengths would frame the body two ways; the same one twice is just noise.
                if int(value) != content_length:
                    raise InvalidResponse(
                        f"two different Content-Length headers: {content_length} and {value}"
                    )
                continue
            content_length = int(value)
            if status_code == 204:
                continue  # RFC 9110 section 8.6: never sent with a 204
        elif lowered == "connection":
            close_requested = close_requested or "close" in value.lower()
            continue
        elif lowered in _HOP_BY_HOP:
            raise InvalidResponse(f"{name!r} is a hop-by-hop header, which a WSGI application must not send")
        elif lowered == "server":
            has_server = True
        elif lowered == "date":
            has_date = True
        lines.append(f"{name}: {value}\r\n")
    block = "".join(lines)
    # The count matters: a value holding "\r\n" and a well-formed line would pass the pattern on its own
    # ("a\r\nSet-Cookie: x") and split one header into two.
    if block.count("\r\n") != len(lines) or not _HEADER_BLOCK.fullmatch(block):
        bad = next(line for line in lines if line.count("\r\n") != 1 or not _HEADER_BLOCK.fullmatch(line))
        raise InvalidResponse(f"header has a character not allowed in HTTP (CR, LF or a control): {bad!r}")
    return block, content_length, close_requested, has_server, has_date


def encode_early_hints(headers: object) -> bytes:
    """A `103 Early Hints` response (RFC 8297) carrying `headers`, checked as a final response's are.

    An interim response frames nothing, so a Content-Length or Connection header in it is a mistake.
    """
    block, content_length, close_requested, _, _ = _check_headers(headers, 103)
    if content_length is not None or close_requested:
        raise InvalidResponse("103 Early Hints cannot carry Content-Length or Connection")
    try:
        return ("HTTP/1.1 103 Early Hints\r\n" + block + "\r\n").encode("latin-1")
    except UnicodeEncodeError as exc:
        raise InvalidResponse(f"header is not latin-1: {exc.object[exc.start : exc.end]!r}") from None


def encode_head(
    head: ResponseHead,
    framing: BodyFraming,
    keep_alive: bool,
    request_version: str,
    server_header: bool,
    inferred_length: int | None = None,
) -> bytes:
    """Status line and headers in one bytes object, with the framing and connection headers we own."""
    parts = ["HTTP/1.1 ", head.status, "\r\n", head.header_block]
    if head.content_length is None and inferred_length is not None:
        parts.append(f"Content-Length: {inferred_length}\r\n")
    if framing is _BODY_CHUNKED:
        parts.append("Transfer-Encoding: chunked\r\n")
    if not keep_alive:
        parts.append("Connection: close\r\n")
    elif request_version == "1.0":
        parts.append("Connection: keep-alive\r\n")
    if not head.has_date:
        parts.append(http_date_line())
    if server_header and not head.has_server:
        parts.append("Server: " + SERVER_NAME + "\r\n")
    parts.append("\r\n")
    try:
        return "".join(parts).encode("latin-1")
    except UnicodeEncodeError as exc:
        raise InvalidResponse(
            f"status or header is not latin-1: {exc.object[exc.start : exc.end]!r}"
        ) from None


def chunk_parts(data: bytes) -> tuple[bytes, bytes, bytes]:
    """`data` as one chunk of a chunked body, in pieces: the data itself is not copied."""
    return b"%x\r\n" % len(data), data, b"\r\n"


_date_cache: tuple[int, str] = (0, "")


def http_date_line() -> str:
    """'Date: ...\\r\\n' for the current second; formatted at most once a second, from any thread."""
    global _date_cache
    now = int(time.time())
    second, line = _date_cache
    if second != now:
        line = "Date: " + formatdate(now, usegmt=True) + "\r\n"
        _date_cache = (now, line)
    return line


def error_response(status: int, server_header: bool = True) -> bytes:
    """A complete plain-text error response that closes the connection.

    It names only the status: what exactly was wrong goes to the log. The wording of a parse error
    depends on which parser (or which of our checks) caught it, and the answer must not.
    """
    phrase = HTTPStatus(status).phrase
    body = f"{status} {phrase}\n".encode("ascii")
    head = (
        f"HTTP/1.1 {status} {phrase}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        + http_date_line()
        + ("Server: " + SERVER_NAME + "\r\n" if server_header else "")
        + ("Retry-After: 1\r\n" if status == 503 else "")
        + "\r\n"
    )
    return head.encode("latin-1") + body


_HEALTH_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")]


def health_response(request: RequestHead, ready: bool, server_header: bool) -> tuple[bytes, bool]:
    """The answer to --health-path: 200 while serving, 503 while draining; with whether to keep alive."""
    status, body = ("200 OK", b"ok\n") if ready else ("503 Service Unavailable", b"draining\n")
    head = check_response_head(status, _HEALTH_HEADERS)
    framing, keep_alive = plan_response(request, head.status_code, len(body), False)
    data = encode_head(head, framing, keep_alive, request.http_version, server_header, len(body))
    return (data if framing is _BODY_NONE else data + body), keep_alive
