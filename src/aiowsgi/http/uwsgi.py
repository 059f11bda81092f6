"""The uwsgi protocol, as nginx's uwsgi_pass speaks it: bytes in, the same events as HTTP out.

A request is a 4-byte header (modifier1: u8, datasize: u16 little-endian, modifier2: u8), then `datasize`
bytes of variables, each a (key size: u16 LE, key, value size: u16 LE, value), then CONTENT_LENGTH bytes
of body. The response is a plain HTTP/1.x response, and the front end reads it until the connection closes.

`UwsgiConnection` has ServerConnection's interface (`receive_data`, `state`, `body_remaining`), so one
HttpProtocol serves both: the same timeouts, body spill, bridge and limits. The request becomes a
RequestHead of HTTP/1.0 without keep-alive, so the response is framed by Content-Length or by the close,
never chunked, and the connection closes after it. The variables ride along in `RequestHead.params`, and
the environ is made from them (wsgi/environ.py). The front end is trusted for what it says (REMOTE_ADDR,
HTTPS): the uwsgi port must be reachable by the front end only.
"""

from __future__ import annotations

from ..errors import ProtocolError
from .connection import _MAX_LENGTH_DIGITS, KNOWN_METHODS, ReadState, RequestLimits
from .events import END_OF_REQUEST, BodyChunk, Event, RequestHead
from .parser import FIELD_VALUE_CONTROL

# Module globals for the ReadState members, as in connection.py (a lookup on an Enum class is slow on 3.11).
_READ_BODY = ReadState.BODY
_READ_ERROR = ReadState.ERROR
_READ_HEAD = ReadState.HEAD
_READ_IDLE = ReadState.IDLE
_READ_MUST_CLOSE = ReadState.MUST_CLOSE


HEADER_SIZE = 4
# The header values a WSGI request has (uWSGI's "modifier1 0"); anything else is for another kind of
# application, or another request type altogether (uWSGI's pings, signals and spooler requests).
_WSGI_MODIFIER = 0


class UwsgiConnection:
    """The request side of one uwsgi connection: one request, then the connection closes."""

    __slots__ = ("_limits", "state", "_buffer", "_body_remaining")

    def __init__(self, limits: RequestLimits) -> None:
        self._limits = limits
        self.state = _READ_IDLE
        self._buffer = bytearray()  # the header and variables while they arrive: at most 4 + 65535 bytes
        self._body_remaining = 0

    @property
    def body_remaining(self) -> int:
        return self._body_remaining if self.state is _READ_BODY else 0

    def receive_data(self, data: bytes | memoryview) -> tuple[list[Event], ProtocolError | None]:
        """Feed bytes from the front end; as ServerConnection.receive_data.

        Bytes after the request's body are ignored: uwsgi does not pipeline.
        """
        if type(data) is memoryview:
            data = data.tobytes()  # pieces of it become body
        state = self.state
        if state is _READ_MUST_CLOSE or state is _READ_ERROR or not data:
            return [], None
        events: list[Event] = []
        if state is not _READ_BODY:
            self.state = _READ_HEAD
            buffer = self._buffer
            buffer += data
            if len(buffer) < HEADER_SIZE:
                return events, None
            size = buffer[1] | buffer[2] << 8
            if len(buffer) < HEADER_SIZE + size and buffer[0] == buffer[3] == _WSGI_MODIFIER:
                return events, None  # (a header that is not WSGI's is refused at once, not waited out)
            try:
                head = parse_packet(bytes(buffer[: HEADER_SIZE + size]), self._limits)
            except ProtocolError as exc:
                self.state = _READ_ERROR
                self._buffer = bytearray()
                return events, exc
            data = bytes(buffer[HEADER_SIZE + size :])
            self._buffer = bytearray()
            events.append(head)
            self._body_remaining = head.content_length or 0
            self.state = _READ_BODY
        if self._body_remaining and data:
            piece = data[: self._body_remaining] if len(data) > self._body_remaining else data
            self._body_remaining -= len(piece)
            events.append(BodyChunk(piece))
        if not self._body_remaining:
            self.state = _READ_MUST_CLOSE
            events.append(END_OF_REQUEST)
        return events, None


def parse_packet(packet: bytes, limits: RequestLimits) -> RequestHead:
    """A complete header and its variables -> the request's head, checked against the HTTP limits."""
    if packet[0] != _WSGI_MODIFIER or packet[3] != _WSGI_MODIFIER:
        raise ProtocolError(f"uwsgi modifiers {packet[0]}/{packet[3]} are not a WSGI request", 400)
    params = parse_vars(packet, HEADER_SIZE)
    if len(params) > limits.head.field_count + len(_CGI_VARS):
        raise ProtocolError("too many uwsgi variables", 431)
    found: dict[bytes, bytes] = {}
    headers: list[tuple[bytes, bytes]] = []
    for key, value in params:
        if len(key) + len(value) > limits.head.field_size:
            raise ProtocolError("uwsgi variable too large", 431)
        if (key.startswith(b"HTTP_") or key in _HEADER_VARS) and value:
            if FIELD_VALUE_CONTROL.search(value):
                raise ProtocolError(f"control character in the value of {key!r}", 400)
            name = _HEADER_VARS.get(key) or key[5:].lower().replace(b"_", b"-")
            headers.append((name, value))
        found[key] = value

    method = found.get(b"REQUEST_METHOD", b"").decode("latin-1")
    if method == "CONNECT":
        raise ProtocolError("CONNECT is not supported", 501)
    if method not in KNOWN_METHODS:
        raise ProtocolError(f"unknown or missing REQUEST_METHOD {method!r}", 400)
    target = found.get(b"REQUEST_URI")
    if target is None:
        path = found.get(b"PATH_INFO")
        if path is None:
            raise ProtocolError("neither REQUEST_URI nor PATH_INFO", 400)
        query = found.get(b"QUERY_STRING")
        target = path + b"?" + query if query else path
    if len(method) + len(target) + 10 > limits.head.request_line:
        raise ProtocolError("REQUEST_URI too long", 414)

    length_text = found.get(b"CONTENT_LENGTH", b"")
    content_length: int | None = None
    if length_text:
        if not length_text.isdigit() or len(length_text) > _MAX_LENGTH_DIGITS:
            raise ProtocolError("CONTENT_LENGTH is not a number", 400)
        content_length = int(length_text)
        if content_length > limits.body:
            raise ProtocolError(
                f"CONTENT_LENGTH {content_length} is over the limit of {limits.body} bytes", 413
            )
    return RequestHead(
        method=method,
        target=target,
        http_version="1.0",  # framed by length or by the close, and the connection closes after it
        headers=tuple(headers),
        content_length=content_length,
        chunked=False,
        keep_alive=False,
        expect_continue=False,
        params=params,
    )


def parse_vars(packet: bytes, start: int) -> tuple[tuple[bytes, bytes], ...]:
    """The (key, value) pairs from `start` to the end of `packet`; a pair that overruns it is a 400."""
    params: list[tuple[bytes, bytes]] = []
    end = len(packet)
    pos = start
    while pos < end:
        if pos + 2 > end:
            raise ProtocolError("truncated uwsgi variable", 400)
        key_end = pos + 2 + (packet[pos] | packet[pos + 1] << 8)
        if key_end + 2 > end or key_end == pos + 2:
            raise ProtocolError("truncated uwsgi variable or empty key", 400)
        value_end = key_end + 2 + (packet[key_end] | packet[key_end + 1] << 8)
        if value_end > end:
            raise ProtocolError("truncated uwsgi variable", 400)
        params.append((packet[pos + 2 : key_end], packet[key_end + 2 : value_end]))
        pos = value_end
    return tuple(params)


# The variables of a request that are not headers: what nginx's uwsgi_params sends, and a few more a front
# end may add. The field-count limit allows for them on top of the headers.
_CGI_VARS = frozenset(
    {b"QUERY_STRING", b"REQUEST_METHOD", b"CONTENT_TYPE", b"CONTENT_LENGTH", b"REQUEST_URI", b"PATH_INFO",
     b"DOCUMENT_ROOT", b"SERVER_PROTOCOL", b"REQUEST_SCHEME", b"HTTPS", b"REMOTE_ADDR", b"REMOTE_PORT",
     b"SERVER_PORT", b"SERVER_NAME", b"SCRIPT_NAME", b"UWSGI_SCHEME", b"SERVER_SOFTWARE",
     b"GATEWAY_INTERFACE", b"REMOTE_USER", b"AUTH_TYPE", b"PATH_TRANSLATED", b"SCRIPT_FILENAME",
     b"DOCUMENT_URI"}
)  # fmt: skip
_HEADER_VARS = {b"CONTENT_TYPE": b"content-type", b"CONTENT_LENGTH": b"content-length"}


def encode_packet(
    params: list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...], body: bytes = b""
) -> bytes:
    """A uwsgi request, as a front end sends it (for tests and tools)."""
    data = b"".join(
        len(key).to_bytes(2, "little") + key + len(value).to_bytes(2, "little") + value
        for key, value in params
    )
    return bytes((0,)) + len(data).to_bytes(2, "little") + bytes((0,)) + data + body
