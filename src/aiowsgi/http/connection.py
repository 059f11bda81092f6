"""THE connection state machine: one per client connection, whichever parser runs underneath.

Theory of operation
-------------------
The parser adapter (httptools or h11) turns bytes into `on_begin`/`on_head`/`on_body`/`on_end` calls on this
object. Everything that is a *decision* rather than tokenising happens here, once, so that both parsers give
the same answer to the same bytes:

Rule 1. Framing is decided from the head, strictly (RFC 9112 section 6): one Content-Length of digits, or a
        Transfer-Encoding whose only coding is `chunked`; never both; no Transfer-Encoding in HTTP/1.0.
        Anything else is refused, never guessed, so no second request can be smuggled out of a body.
Rule 2. Limits are checked before the bytes they limit are kept: a declared Content-Length over the body
        limit is answered 413 before the body is read; a chunked body is cut off the moment it passes it.
Rule 3. Once a request that ends the connection has been read (Connection: close, HTTP/1.0 without
        keep-alive, an Upgrade we will not perform), nothing after it is parsed: the connection answers
        that request and closes.
Rule 4. After a ProtocolError the connection is in ERROR for good; the caller answers with the error's
        status and closes. Requests completed before the bad bytes are still answered first, in order.

The response side is planned by `plan_response`, a pure function of the request and the application's
status and headers, so the worker thread that runs the application can call it without touching any
connection state.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from ..errors import ProtocolError
from .events import END_OF_REQUEST, BodyChunk, Event, RequestHead
from .parser import HeadLimits, Parser, make_parser

# A Content-Length of more digits than this cannot fit any body limit we accept; refusing it early keeps
# int() away from attacker-sized strings.
_MAX_LENGTH_DIGITS = 18
# RFC 9110 section 7.2: Host = uri-host [ ":" port ], with uri-host an IP-literal, an IPv4 address or a
# reg-name (RFC 3986 section 3.2.2: unreserved, pct-encoded and sub-delims), possibly empty. RFC 9112 section
# 3.2: a Host of any other form is a 400. Neither llhttp nor h11 looks at the value, so it is checked here.
_HOST = re.compile(
    rb"(?:\[[0-9A-Za-z\-._~!$&'()*+,;=:]+\]|(?:[0-9A-Za-z\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?"
)
# A server hears the same few Host values over and over: one found valid is not matched again (the match
# costs about 5,000 instructions, a set lookup a few hundred). Cleared when full, so that a client sending a
# new Host each time pays only the failed lookup and the memory stays bounded. Loop thread only.
_VALID_HOSTS_LIMIT = 256
_valid_hosts: set[bytes] = set()
# Trailer fields that would change how this message is framed or what becomes of the connection (RFC 9110
# section 6.5.1: they are not allowed in a trailer). llhttp acts on some of them there (it refuses a
# Content-Length, and closes after a "Connection: close"); h11 ignores them all: both parsers refuse them.
_FRAMING_TRAILERS = frozenset(
    {b"content-length", b"transfer-encoding", b"connection", b"proxy-connection", b"upgrade"}
)
# "HTTP/1.1" and the two spaces around the target: what a request line adds to its method and target.
_REQUEST_LINE_OVERHEAD = 10
# The methods llhttp knows (CONNECT is refused separately). llhttp answers any other method as malformed,
# and cannot tell an unknown method from garbage, so h11 is held to the same list: one answer, 400.
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "COPY", "LOCK", "MKCOL", "MOVE",
     "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK", "BIND", "REBIND", "UNBIND", "ACL", "REPORT", "MKACTIVITY",
     "CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "PURGE", "MKCALENDAR", "LINK",
     "UNLINK", "SOURCE", "QUERY"}
)  # fmt: skip


# What `_events` is between calls of receive_data; nothing appends to it, as the parser calls back only
# while it is fed.
_IDLE_EVENTS: list[Event] = []


class ReadState(enum.Enum):
    IDLE = "idle"  # between requests: no byte of the next one yet
    HEAD = "head"  # some of a request head has arrived
    BODY = "body"  # the head is complete, the body is arriving
    MUST_CLOSE = "must-close"  # Rule 3
    ERROR = "error"  # Rule 4


# Python 3.11 cannot cache a lookup such as `ReadState.IDLE` (the Enum metaclass defines __getattr__):
# each costs about 900 instructions more than reading a module global (callgrind). Code that runs per
# request reads the members through these names.
_READ_IDLE = ReadState.IDLE
_READ_HEAD = ReadState.HEAD
_READ_BODY = ReadState.BODY
_READ_MUST_CLOSE = ReadState.MUST_CLOSE
_READ_ERROR = ReadState.ERROR


@dataclass(frozen=True, slots=True)
class RequestLimits:
    head: HeadLimits
    body: int
    chunked_framing: int = 64 * 1024


class ServerConnection:
    """The request side of one HTTP/1.1 server connection, fed by a parser adapter."""

    __slots__ = (
        "_limits", "_parser", "state", "_events", "_keep_alive", "_chunked", "_heads", "_body_received",
        "_framing", "_content_length",
    )  # fmt: skip

    def __init__(self, parser_name: str, limits: RequestLimits) -> None:
        self._limits = limits
        self._parser: Parser = make_parser(parser_name, self, limits.head)
        self.state = _READ_IDLE
        self._events: list[Event] = []
        self._keep_alive = True
        self._chunked = False
        self._heads = 0  # heads seen: tells one request's body from the next one's
        self._body_received = 0
        self._framing = 0  # bytes of chunked framing in the current body
        self._content_length = 0

    @property
    def body_remaining(self) -> int:
        """Bytes of a Content-Length body still to come (0 if unknown or none)."""
        if self.state is _READ_BODY and not self._chunked:
            return self._content_length - self._body_received
        return 0

    @property
    def parser_name(self) -> str:
        return self._parser.name

    def receive_data(self, data: bytes | memoryview) -> tuple[list[Event], ProtocolError | None]:
        """Feed bytes from the client.

        Returns the events they completed and, if the bytes were not acceptable, the ProtocolError to
        answer after those events' requests. Any other exception is a bug.
        """
        if self.state is _READ_MUST_CLOSE or self.state is _READ_ERROR or not data:
            # An empty read carries nothing, but h11 would take it for EOF and llhttp reports it as an
            # empty piece of body.
            return [], None
        events = self._events = []  # the sink callbacks below append to it, during feed() only
        in_chunked_body = self.state is _READ_BODY and self._chunked
        heads, received = self._heads, self._body_received
        try:
            self._parser.feed(data)
        except ProtocolError as exc:
            if self._must_close():
                # llhttp complains about bytes after a closing request; Rule 3 already ignores them.
                return events, None
            self.state = _READ_ERROR
            return events, exc
        finally:
            self._events = _IDLE_EVENTS  # an idle connection keeps no reference to its last request
        if in_chunked_body and self._heads == heads and self.state is _READ_BODY:
            # Rule 2 for what is not body data: chunk sizes, extensions and trailers are bounded too,
            # counted over reads that fell wholly inside the body (so within one read of exact).
            self._framing += len(data) - (self._body_received - received)
            if self._framing > self._limits.chunked_framing + self._body_received:
                self.state = _READ_ERROR
                return events, ProtocolError("too much chunked framing (chunk extensions?)", 400)
        return events, None

    def _must_close(self) -> bool:
        # A method, so that mypy does not narrow `state` across the parser callbacks that change it.
        return self.state is _READ_MUST_CLOSE

    # ParserSink: called by the adapter, inside receive_data.

    def on_begin(self) -> None:
        if self.state is _READ_IDLE:
            self.state = _READ_HEAD

    def on_head(self, method: bytes, target: bytes, version: str, headers: list[tuple[bytes, bytes]]) -> None:
        if self.state is _READ_MUST_CLOSE:
            return
        head = validate_head(method, target, version, headers, self._limits)
        self._keep_alive = head.keep_alive
        self._chunked = head.chunked
        self._content_length = head.content_length or 0
        self._heads += 1
        self._body_received = 0
        self._framing = 0
        self.state = _READ_BODY
        self._events.append(head)

    def on_body(self, data: bytes) -> None:
        if self.state is _READ_MUST_CLOSE:
            return
        self._body_received += len(data)
        if self._body_received > self._limits.body:
            raise ProtocolError(f"request body larger than the limit of {self._limits.body} bytes", 413)
        self._events.append(BodyChunk(data))

    def on_trailer(self, name: bytes) -> None:
        if self.state is _READ_MUST_CLOSE:
            return
        if name in _FRAMING_TRAILERS:
            raise ProtocolError(f"{name.decode('latin-1')} in the trailer section", 400)

    def on_end(self) -> None:
        if self.state is _READ_MUST_CLOSE:
            return
        self.state = _READ_IDLE if self._keep_alive else _READ_MUST_CLOSE
        self._events.append(END_OF_REQUEST)


def validate_head(
    method_bytes: bytes,
    target: bytes,
    version: str,
    headers: list[tuple[bytes, bytes]],
    limits: RequestLimits,
) -> RequestHead:
    """Check a parsed head against RFC 9112 and our limits, and derive its framing facts (Rule 1, 2)."""
    if version == "0.9":
        # llhttp reports "GET /" (no version at all) as 0.9 where h11 calls it malformed: answer both
        # the same way. An HTTP/0.9 client could not read a status line anyway.
        raise ProtocolError("request line without an HTTP/1.x version", 400)
    if version != "1.1" and version != "1.0":
        if version[0] != "1":
            raise ProtocolError(f"HTTP/{version} is not supported", 505)
        # RFC 9110 section 2.5: a higher minor version of the major one we speak is served as the highest
        # we implement. The response says HTTP/1.1, and the application sees SERVER_PROTOCOL HTTP/1.1.
        version = "1.1"
    # The adapters bound the line while it arrives (h11: the whole line; llhttp: the target only); this
    # makes the limit mean the whole request line for both.
    if len(method_bytes) + len(target) + _REQUEST_LINE_OVERHEAD > limits.head.request_line:
        raise ProtocolError("request line too long", 414)
    method = method_bytes.decode("ascii")
    if method == "CONNECT":
        raise ProtocolError("CONNECT is not supported", 501)
    if method not in KNOWN_METHODS:
        raise ProtocolError(f"unknown method {method!r}", 400)
    _check_target(method, target)
    if len(headers) > limits.head.field_count:
        raise ProtocolError("too many header fields", 431)

    content_length: int | None = None
    transfer_codings: list[bytes] = []
    connection_tokens: list[bytes] = []
    host_count = 0
    expect_continue = False
    upgrade = False
    field_size = limits.head.field_size
    for name, value in headers:
        if len(name) + len(value) > field_size:
            raise ProtocolError("header field too large", 431)
        if name == b"content-length":
            if content_length is not None:
                raise ProtocolError("more than one Content-Length", 400)
            if not value.isdigit() or len(value) > _MAX_LENGTH_DIGITS:
                raise ProtocolError("Content-Length is not a number", 400)
            content_length = int(value)
        elif name == b"transfer-encoding":
            transfer_codings.extend(c.strip().lower() for c in value.split(b","))
        elif name == b"host":
            host_count += 1
            if value not in _valid_hosts:
                if not _HOST.fullmatch(value):
                    raise ProtocolError("Host is not a host and port", 400)
                if len(_valid_hosts) >= _VALID_HOSTS_LIMIT:
                    _valid_hosts.clear()
                _valid_hosts.add(value)
        elif name == b"connection" or name == b"proxy-connection":
            # llhttp reads the unofficial Proxy-Connection as Connection (and refuses the bytes after a
            # "Proxy-Connection: close"), so the connection state machine does too, for both parsers.
            connection_tokens.extend(t.strip().lower() for t in value.split(b","))
        elif name == b"expect":
            expect_continue = value.lower() == b"100-continue"
        elif name == b"upgrade":
            upgrade = True

    chunked = False
    if transfer_codings:
        if version == "1.0":
            raise ProtocolError("Transfer-Encoding in an HTTP/1.0 request", 400)
        if content_length is not None:
            raise ProtocolError("both Content-Length and Transfer-Encoding", 400)
        # RFC 9112 section 6.3: a body whose end cannot be found is a 400; section 6.1: a coding we do not
        # know is a 501. Chunked more than once, or not last, or an empty coding: the end is unknowable.
        if b"" in transfer_codings or transfer_codings.count(b"chunked") > 1:
            raise ProtocolError("malformed Transfer-Encoding", 400)
        if b"chunked" in transfer_codings and transfer_codings[-1] != b"chunked":
            raise ProtocolError("chunked is not the final transfer coding", 400)
        if transfer_codings != [b"chunked"]:
            raise ProtocolError("unsupported transfer coding", 501)
        chunked = True
    if content_length is not None and content_length > limits.body:
        raise ProtocolError(f"Content-Length {content_length} is over the limit of {limits.body} bytes", 413)
    if host_count > 1 or (host_count == 0 and version == "1.1"):
        raise ProtocolError("an HTTP/1.1 request needs exactly one Host header", 400)

    if version == "1.1":
        keep_alive = b"close" not in connection_tokens
    else:
        keep_alive = b"keep-alive" in connection_tokens
    if upgrade and b"upgrade" in connection_tokens:
        keep_alive = False  # Rule 3: we answer it as plain HTTP, then the bytes after it are not HTTP.
    has_body = chunked or bool(content_length)
    return RequestHead(
        method=method,
        target=target,
        http_version=version,
        headers=tuple(headers),
        content_length=content_length,
        chunked=chunked,
        keep_alive=keep_alive,
        expect_continue=expect_continue and has_body and version == "1.1",
    )


def _check_target(method: str, target: bytes) -> None:
    if target.startswith(b"/"):
        return
    if target == b"*":
        if method != "OPTIONS":
            raise ProtocolError("'*' is only a valid target for OPTIONS", 400)
        return
    lowered = target[:8].lower()
    if lowered.startswith((b"http://", b"https://")):
        # RFC 9110 section 4.2: an http(s) URI has a host, and no userinfo; llhttp refuses some bytes in the
        # authority and h11 none, so the authority is held to the Host syntax here, for both.
        start = target.index(b"//") + 2
        end = len(target)
        for delimiter in b"/?":  # a "#" right after the authority is refused, as llhttp does
            found = target.find(bytes((delimiter,)), start)
            if 0 <= found < end:
                end = found
        if end == start or not _HOST.fullmatch(target, start, end):
            raise ProtocolError("absolute-form target without a valid host", 400)
        return
    raise ProtocolError("request target is not in origin, absolute or asterisk form", 400)


class BodyFraming(enum.Enum):
    NONE = "none"  # HEAD, 1xx, 204, 304: headers only
    LENGTH = "length"  # Content-Length
    CHUNKED = "chunked"  # HTTP/1.1 without a known length
    UNTIL_CLOSE = "until-close"  # HTTP/1.0 without a known length: the end of the body is the close


# Python 3.11 cannot cache a lookup such as `BodyFraming.NONE` (the Enum metaclass defines __getattr__):
# each costs about 900 instructions more than reading a module global (callgrind). Code that runs per
# request reads the members through these names.
_BODY_NONE = BodyFraming.NONE
_BODY_LENGTH = BodyFraming.LENGTH
_BODY_CHUNKED = BodyFraming.CHUNKED
_BODY_UNTIL_CLOSE = BodyFraming.UNTIL_CLOSE


def plan_response(
    request: RequestHead, status: int, content_length: int | None, close_requested: bool
) -> tuple[BodyFraming, bool]:
    """How the response body is delimited, and whether the connection stays open after it."""
    if request.method == "HEAD" or status < 200 or status == 204 or status == 304:
        framing = _BODY_NONE
    elif content_length is not None:
        framing = _BODY_LENGTH
    elif request.http_version == "1.1":
        framing = _BODY_CHUNKED
    else:
        framing = _BODY_UNTIL_CLOSE
    keep_alive = request.keep_alive and not close_requested and framing is not _BODY_UNTIL_CLOSE
    return framing, keep_alive
