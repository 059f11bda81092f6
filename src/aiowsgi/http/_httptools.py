"""httptools (llhttp) adapter: llhttp callbacks -> ParserSink calls, llhttp errors -> ProtocolError."""

from __future__ import annotations

import httptools

from ..errors import ProtocolError
from .parser import HeadLimits, ParserSink

# llhttp errors that mean "not HTTP/1.x" rather than "malformed": answered 505, as h11's are (by the version
# check in connection.py). httptools raises a plain HttpParserError for both, so its message is all we have.
# Any other version, well-formed, is read (see _new_parser) and judged by connection.py, as h11's is.
_VERSION_ERRORS = frozenset({"Pause on PRI/Upgrade"})


def _new_parser(callbacks: object) -> httptools.HttpRequestParser:
    """An llhttp parser that reads any version of the form DIGIT.DIGIT, not only the ones it knows.

    llhttp refuses HTTP/1.2 outright, where RFC 9110 section 2.5 says to serve a higher minor version as
    the highest we implement (1.1): connection.py decides that for both parsers. The leniency is only about
    which digits; a version that is not DIGIT "." DIGIT is still malformed. (httptools 0.6.3 and newer.)
    """
    parser = httptools.HttpRequestParser(callbacks)
    parser.set_dangerous_leniencies(lenient_version=True)
    return parser


class HttptoolsParser:
    name = "httptools"
    __slots__ = (
        "_sink", "_limits", "_parser", "_url", "_headers", "_in_head", "_head_bytes", "_stopped",
        "_declared_body", "_body_parser",
    )  # fmt: skip

    def __init__(self, sink: ParserSink, limits: HeadLimits) -> None:
        self._sink = sink
        self._limits = limits
        self._parser = _new_parser(self)
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._in_head = False
        self._head_bytes = 0
        # After an Upgrade request llhttp stops parsing; the connection closes after answering it, so
        # whatever follows is never parsed as HTTP. llhttp also skips the body such a request declares
        # (it expects the new protocol to start at once), so that body is read by a second parser, fed a
        # head that declares only the same framing: `_body_parser`, with `_declared_body` its framing.
        self._stopped = False
        self._declared_body: bytes | None = None
        self._body_parser: httptools.HttpRequestParser | None = None

    def feed(self, data: bytes | memoryview) -> None:
        # llhttp reads a view as it reads bytes, and copies each piece of body it reports into bytes.
        if self._stopped:
            return
        was_in_head = self._in_head
        try:
            (self._body_parser or self._parser).feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._read_upgrade_body(data[exc.args[0] :])
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, ProtocolError):
                raise exc.__context__ from None
            raise
        except httptools.HttpParserError as exc:
            status = 505 if str(exc) in _VERSION_ERRORS else 400
            raise ProtocolError(f"malformed request: {exc}", status) from None
        # llhttp gathers a header's name and value before calling us, so a head that never ends is
        # bounded here instead: count every read that arrived wholly inside an unfinished head.
        if was_in_head and self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > self._limits.head_size:
                raise ProtocolError("request header section too large", 431)

    def _read_upgrade_body(self, rest: bytes | memoryview) -> None:
        if self._declared_body is None or self._body_parser is not None:
            self._stopped = True
            return
        self._body_parser = httptools.HttpRequestParser(_UpgradeBody(self))
        self._body_parser.feed_data(b"POST / HTTP/1.1\r\nHost: body\r\n" + self._declared_body + b"\r\n\r\n")
        if rest:
            self.feed(rest)

    # llhttp callbacks

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._in_head = True
        self._head_bytes = 0
        self._sink.on_begin()

    def on_url(self, fragment: bytes) -> None:
        self._url += fragment
        if len(self._url) > self._limits.request_line:
            raise ProtocolError("request line too long", 414)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_head:
            # A trailer field (llhttp reports them as headers): judged, not kept, and not counted against
            # the header limits, which h11 does not apply to trailers either (the framing limit bounds them).
            self._sink.on_trailer(name.lower())
            return
        # llhttp drops the whitespace before a value but keeps the whitespace after it, which is not
        # part of the value either (RFC 9110 section 5.5); h11 strips both.
        self._headers.append((name.lower(), value.rstrip(b" \t")))
        if len(self._headers) > self._limits.field_count:
            raise ProtocolError("too many header fields", 431)

    def on_headers_complete(self) -> None:
        self._in_head = False
        parser = self._parser
        url, headers = self._url, self._headers
        self._url, self._headers = b"", []  # not kept while the connection idles
        if parser.should_upgrade():
            self._declared_body = _declared_body(headers)
        self._sink.on_head(parser.get_method(), url, parser.get_http_version(), headers)

    def on_body(self, data: bytes) -> None:
        self._sink.on_body(data)

    def on_message_complete(self) -> None:
        if self._declared_body is not None and self._parser.should_upgrade():
            return  # not complete: its body comes through _read_upgrade_body
        self._sink.on_end()


def _declared_body(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The framing header of a request that has a body, as one header line; None for no body."""
    for name, value in headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip(b"0")):
            return name + b": " + value
    return None


class _UpgradeBody:
    """llhttp callbacks for the body of an Upgrade request, read after llhttp itself stopped."""

    def __init__(self, owner: HttptoolsParser) -> None:
        self._owner = owner

    def on_body(self, data: bytes) -> None:
        self._owner.on_body(data)

    def on_message_complete(self) -> None:
        self._owner._stopped = True
        self._owner._sink.on_end()
