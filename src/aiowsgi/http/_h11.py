"""h11 adapter: h11 events -> ParserSink calls, h11 errors -> ProtocolError.

h11 is used only to parse requests; responses are written by `writer.py`, as for httptools. h11 will not
begin a second request until it has seen a response to the first, and it refuses HTTP/1.0 keep-alive, so
after each request its `trailing_data` moves into a fresh `h11.Connection`. Keep-alive is the connection
state machine's decision, not h11's.

Where h11 and llhttp differ, this adapter brings h11 to llhttp's answer, so that `connection.py` decides
from the same facts whichever parser runs:
- h11 accepts a bare LF as a line end and unfolds obs-fold: the head is scanned and both are refused
  (Invariant 4: ambiguous framing is rejected, not guessed).
- h11 refuses the empty lines RFC 9112 section 2.2 asks a server to skip before a request: they are skipped.
  It refuses runs of spaces between the parts of the request line, which llhttp (and section 3) accept:
  they are read as one space.
- h11 merges repeated Content-Length fields and judges Transfer-Encoding itself (always 501): the headers
  handed on are the head's own lines, as llhttp reports them, so connection.py sees every field and rules.
- h11 reads chunked bodies laxly: it takes whitespace after a chunk size, anything after a ";" (control
  characters, bare CR), bare LFs, obs-fold and control characters in trailers, and at most 20 hex digits
  for a size, however many are leading zeros. So once the head of a chunked request is read, this adapter
  reads the body itself (`_ChunkedBody`), with llhttp's grammar and llhttp's 64-bit limit on a size, and
  hands the bytes after it to a fresh h11.Connection.
"""

from __future__ import annotations

import enum
import re
from typing import NoReturn

import h11

from ..errors import ProtocolError
from .parser import FIELD_VALUE_CONTROL, HeadLimits, ParserSink

# A LF without its CR, or a line that starts with whitespace (obs-fold, or space before the first field).
# A CR without its LF is refused too: llhttp does at once, where h11 would wait for a line end forever.
_LENIENT_HEAD = re.compile(rb"(?<!\r)\n|\n[ \t]|\r[^\n]")
_SPACE_RUN = re.compile(rb"(?<=[^ ]) {2,}(?=[^ ])")
# A head whose every line is well-formed: h11 refused it for what it says, not how, so connection.py judges.
_TCHAR = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
_TOKEN = _TCHAR + rb"+"
_WELL_FORMED_HEAD = re.compile(
    rb"(%s) ([\x21-\x7e]+) HTTP/([0-9]\.[0-9])\r\n(?:%s:[\t\x20-\x7e\x80-\xff]*\r\n)*\r\n" % (_TOKEN, _TOKEN)
)
_CHUNKED_THEN_TAB = re.compile(rb"(?im)^transfer-encoding:.*chunked *\t[ \t]*\r$")
# llhttp's chunk-size line (RFC 9112 section 7.1.1 without the BWS, which llhttp refuses): hex digits, then
# extensions `;name`, `;name=token` or `;name="quoted"`, possessive so that no line costs more than a pass.
# Like llhttp, a name or a token value may be empty, a token may run into a quoted string, and a line may
# not end with ";". More than 16 significant hex digits cannot fit 64 bits.
_QUOTED = rb'"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*+"'
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]++)(?:;%s*+(?:=%s*+(?:%s)?+)?+)*+" % (_TCHAR, _TCHAR, _QUOTED))
_MAX_CHUNK_DIGITS = 16
_TRAILER_FIELD = re.compile(rb"(%s):[\t\x20-\x7e\x80-\xff]*+" % _TOKEN)
_BARE_CR = re.compile(rb"\r[^\n]")


class H11Parser:
    name = "h11"
    __slots__ = (
        "_sink", "_limits", "_conn", "_begun", "_line", "_line_done", "_head", "_head_tail", "_in_head",
        "_chunked", "_body",
    )  # fmt: skip

    def __init__(self, sink: ParserSink, limits: HeadLimits) -> None:
        self._sink = sink
        self._limits = limits
        self._conn = self._new_connection()
        self._new_request()

    def _new_connection(self) -> h11.Connection:
        return h11.Connection(h11.SERVER, max_incomplete_event_size=self._limits.head_size)

    def _new_request(self) -> None:
        self._begun = False  # a byte of this request has arrived
        self._line = b""  # the request line, held back until it is complete (to read runs of spaces)
        self._line_done = False
        self._head = b""  # the head as given to h11, up to its blank line
        self._head_tail = b""  # the last bytes scanned for bare LF / obs-fold
        self._in_head = True
        self._chunked = False
        self._body: _ChunkedBody | None = None  # reads a chunked body in h11's place

    def feed(self, data: bytes | memoryview) -> None:
        if type(data) is memoryview:
            data = data.tobytes()  # h11 and the chunked reader slice it, and pieces of it become body
        # A loop, not recursion: one read may hold any number of pipelined requests.
        while data:
            if self._body is not None:
                rest = self._body.feed(data)
                if rest is None:
                    return
                self._new_request()
                self._sink.on_end()
                self._conn = self._new_connection()
                data = rest
                continue
            if self._in_head:
                data = self._take_head_bytes(data)
                if not data:
                    return
            data = self._give_h11(data)

    def _give_h11(self, data: bytes) -> bytes:
        """Parse with h11; returns the bytes after a chunked request's head, for `_body` to read."""
        conn = self._conn
        conn.receive_data(data)
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                self._refuse(exc)
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return b""
            if isinstance(event, h11.Request):
                self._in_head = False
                self._sink.on_head(
                    event.method, event.target, event.http_version.decode("ascii"), self._fields()
                )
                if self._chunked:
                    if _CHUNKED_THEN_TAB.search(self._head):
                        # llhttp does not read "chunked<TAB>" as chunked, and refuses the body: so do we.
                        raise ProtocolError(
                            "malformed request: a tab after chunked in Transfer-Encoding", 400
                        )
                    self._body = _ChunkedBody(self._sink)
                    return bytes(conn.trailing_data[0])
            elif isinstance(event, h11.Data):
                self._sink.on_body(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                leftover = conn.trailing_data[0]
                self._new_request()
                self._sink.on_end()
                conn = self._conn = self._new_connection()
                leftover = self._take_head_bytes(leftover)
                if not leftover:
                    return b""  # the usual case: asking the fresh h11.Connection would only say NEED_DATA
                conn.receive_data(leftover)
            # h11.ConnectionClosed cannot happen: h11 is never told about EOF.

    # The head ------------------------------------------------------------------------------------------

    def _take_head_bytes(self, data: bytes) -> bytes:
        """Scan head bytes; hold the request line until it is whole. Returns what h11 may have now."""
        if not self._begun:
            data = data.lstrip(b"\r\n")  # llhttp skips any CR and LF here too
            if not data:
                return data
            self._begun = True
            self._sink.on_begin()
        self._scan(data)
        if not self._line_done:
            line = self._line + data
            end = line.find(b"\n", 0, self._limits.request_line + 2)
            if end < 0:
                if len(line) > self._limits.request_line + 1:
                    raise ProtocolError("request line too long", 414)
                self._line = line
                return b""
            self._line_done, self._line = True, b""
            data = _SPACE_RUN.sub(b" ", line[:end]) + line[end:]
        if not self._head.endswith(b"\r\n\r\n"):
            searched = max(len(self._head) - 3, 0)
            self._head += data
            end = self._head.find(b"\r\n\r\n", searched)
            if end >= 0:
                self._head = self._head[: end + 4]  # not the body that came with it
        return data

    def _scan(self, data: bytes) -> None:
        tail = self._head_tail
        window = tail + data
        end = window.find(b"\r\n\r\n")
        head = window if end < 0 else window[: end + 4]
        # Start one byte into the tail: a match there spans the reads; the lookbehind still sees the tail.
        if _LENIENT_HEAD.search(head, max(len(tail) - 1, 0)):
            raise ProtocolError("malformed request: bare LF, bare CR or obs-fold in the head", 400)
        self._head_tail = head[-3:]

    def _fields(self) -> list[tuple[bytes, bytes]]:
        """The head's header fields as they were sent (h11 has checked their syntax already)."""
        fields = []
        for line in self._head[:-4].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.lower()
            if name == b"transfer-encoding":
                self._chunked = True  # connection.py refuses any other coding before the body starts
            value = value.strip(b" \t")
            if FIELD_VALUE_CONTROL.search(value):  # h11 lets most of them through; llhttp refuses them
                raise ProtocolError(f"control character in the value of header {name!r}", 400)
            fields.append((name, value))
        return fields

    def _refuse(self, exc: h11.RemoteProtocolError) -> NoReturn:
        """h11 refused the request. If the head is well-formed, h11 objected to its framing headers
        (merged Content-Lengths, a Transfer-Encoding it does not take): connection.py rules on those, as it
        does for llhttp, and h11's own answer stands only if connection.py finds nothing wrong. A complete
        head that is not well-formed is a 400, as llhttp answers, whatever h11 objected to first (it judges
        Transfer-Encoding, 501, before it looks at the bytes of the other fields)."""
        status = exc.error_status_hint
        if self._in_head and self._head.endswith(b"\r\n\r\n"):
            well_formed = _WELL_FORMED_HEAD.fullmatch(self._head)
            if well_formed is None:
                status = 400  # whatever its version: connection.py judges the version of a well-formed head
            else:
                method, target, version = well_formed.groups()
                self._sink.on_head(method, target, version.decode("ascii"), self._fields())
        raise ProtocolError(f"malformed request: {exc}", status) from None


class _ChunkedBody:
    """A chunked body and its trailer section, read as llhttp reads them (RFC 9112 section 7.1, strictly)."""

    __slots__ = ("_sink", "_state", "_line", "_left")

    def __init__(self, sink: ParserSink) -> None:
        self._sink = sink
        self._state = _Read.SIZE_LINE
        self._line = b""  # an unfinished chunk-size or trailer line
        self._left = 0  # bytes of chunk data still to come

    def feed(self, data: bytes) -> bytes | None:
        """Read `data`; returns None while the body goes on, else the bytes after it (maybe b"")."""
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state is _Read.DATA:
                take = min(self._left, end - pos)
                self._sink.on_body(data[pos : pos + take])
                pos += take
                self._left -= take
                if not self._left:
                    self._state = _Read.DATA_CR
            elif state is _Read.DATA_CR or state is _Read.DATA_LF:
                if data[pos] != (13 if state is _Read.DATA_CR else 10):
                    raise ProtocolError("malformed chunked body: chunk data not followed by CRLF", 400)
                pos += 1
                self._state = _Read.DATA_LF if state is _Read.DATA_CR else _Read.SIZE_LINE
            else:
                lf = data.find(b"\n", pos)
                piece = data[pos:] if lf < 0 else data[pos : lf + 1]
                if _BARE_CR.search(self._line[-1:] + piece):
                    raise ProtocolError("malformed chunked body: bare CR", 400)
                self._line += piece
                if lf < 0:
                    return None
                pos = lf + 1
                line, self._line = self._line, b""
                if not line.endswith(b"\r\n"):
                    raise ProtocolError("malformed chunked body: bare LF", 400)
                if state is _Read.SIZE_LINE:
                    self._read_size(line[:-2])
                elif line == b"\r\n":
                    return data[pos:]
                else:
                    self._read_trailer(line[:-2])
        return None

    def _read_size(self, line: bytes) -> None:
        match = _CHUNK_LINE.fullmatch(line)
        if match is None or line.endswith(b";"):
            raise ProtocolError("malformed chunked body: bad chunk-size line", 400)
        digits = match.group(1).lstrip(b"0")
        if len(digits) > _MAX_CHUNK_DIGITS:
            raise ProtocolError("malformed chunked body: chunk size does not fit in 64 bits", 400)
        self._left = int(digits or b"0", 16)
        self._state = _Read.DATA if self._left else _Read.TRAILER_LINE

    def _read_trailer(self, line: bytes) -> None:
        match = _TRAILER_FIELD.fullmatch(line)
        if match is None:
            raise ProtocolError("malformed chunked body: bad trailer field", 400)
        self._sink.on_trailer(match.group(1).lower())


class _Read(enum.Enum):
    SIZE_LINE = "size-line"
    DATA = "data"
    DATA_CR = "data-cr"  # the CRLF after a chunk's data
    DATA_LF = "data-lf"
    TRAILER_LINE = "trailer-line"  # a trailer field, or the empty line that ends the body
