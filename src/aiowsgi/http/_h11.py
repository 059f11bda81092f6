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
- h11 reads chunk sizes of up to 20 hex digits and a bare LF at the end of the trailers; llhttp refuses a
  size that does not fit 64 bits and a chunked body that does not end in CRLF CRLF: so do we.
"""

from __future__ import annotations

import re
from typing import NoReturn

import h11

from ..errors import ProtocolError
from .parser import HeadLimits, ParserSink

# A LF without its CR, or a line that starts with whitespace (obs-fold, or space before the first field).
_LENIENT_HEAD = re.compile(rb"(?<!\r)\n|\n[ \t]")
_SPACE_RUN = re.compile(rb"(?<=[^ ]) {2,}(?=[^ ])")
# What may start the buffer where h11 expects a chunk-size line: the CRLF ending the chunk before, then the
# size. More than 16 significant hex digits cannot fit 64 bits.
_CHUNK_SIZE = re.compile(rb"(?:\r\n)?0*([0-9A-Fa-f]*)")
_MAX_CHUNK_DIGITS = 16
# A head whose every line is well-formed: h11 refused it for what it says, not how, so connection.py judges.
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_WELL_FORMED_HEAD = re.compile(
    rb"(%s) ([\x21-\x7e]+) HTTP/([0-9]\.[0-9])\r\n(?:%s:[\t\x20-\x7e\x80-\xff]*\r\n)*\r\n" % (_TOKEN, _TOKEN)
)


class H11Parser:
    name = "h11"
    __slots__ = (
        "_sink", "_limits", "_conn", "_fed_tail", "_begun", "_line", "_line_done", "_head", "_head_tail",
        "_in_head", "_chunked", "_at_chunk_size",
    )  # fmt: skip

    def __init__(self, sink: ParserSink, limits: HeadLimits) -> None:
        self._sink = sink
        self._limits = limits
        self._conn = self._new_connection()
        self._new_request()
        self._fed_tail = b""  # the last bytes given to h11, to see how a chunked body ended

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
        self._at_chunk_size = False  # h11's buffer starts where a chunk-size line goes

    def feed(self, data: bytes) -> None:
        if self._in_head:
            data = self._take_head_bytes(data)
            if not data:
                return
        self._give_h11(data)

    def _give_h11(self, data: bytes) -> None:
        fed_before = self._fed_tail
        self._fed_tail = (fed_before + data)[-4:] if len(data) < 4 else data[-4:]
        conn = self._conn
        conn.receive_data(data)
        while True:
            if self._at_chunk_size:
                self._check_chunk_size(conn.trailing_data[0])
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                self._refuse(exc)
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                self._in_head = False
                self._sink.on_head(
                    event.method, event.target, event.http_version.decode("ascii"), self._fields()
                )
                self._at_chunk_size = self._chunked
            elif isinstance(event, h11.Data):
                self._sink.on_body(bytes(event.data))
                self._at_chunk_size = self._chunked and event.chunk_end
            elif isinstance(event, h11.EndOfMessage):
                leftover = conn.trailing_data[0]
                if self._chunked and not _ends_with_crlf_crlf(fed_before, data, len(data) - len(leftover)):
                    raise ProtocolError("chunked body does not end with CRLF CRLF", 400)
                self._new_request()
                self._sink.on_end()
                conn = self._conn = self._new_connection()
                leftover = self._take_head_bytes(leftover)
                if not leftover:
                    return  # the usual case: asking the fresh h11.Connection would only say NEED_DATA
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
            raise ProtocolError("bare LF or obs-fold in the request head", 400)
        self._head_tail = head[-3:]

    def _fields(self) -> list[tuple[bytes, bytes]]:
        """The head's header fields as they were sent (h11 has checked their syntax already)."""
        fields = []
        for line in self._head[:-4].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.lower()
            if name == b"transfer-encoding":
                self._chunked = True  # connection.py refuses any other coding before the body starts
            fields.append((name, value.strip(b" \t")))
        return fields

    def _refuse(self, exc: h11.RemoteProtocolError) -> NoReturn:
        """h11 refused the request. If the head is well-formed, h11 objected to its framing headers
        (merged Content-Lengths, a Transfer-Encoding it does not take): connection.py rules on those, as it
        does for llhttp, and h11's own answer stands only if connection.py finds nothing wrong."""
        well_formed = self._in_head and _WELL_FORMED_HEAD.fullmatch(self._head)
        if well_formed:
            method, target, version = well_formed.groups()
            self._sink.on_head(method, target, version.decode("ascii"), self._fields())
        raise ProtocolError(f"malformed request: {exc}", exc.error_status_hint) from None

    # The body ------------------------------------------------------------------------------------------

    def _check_chunk_size(self, pending: bytes) -> None:
        if pending == b"" or pending == b"\r":
            return  # not even the CRLF before the size yet
        digits = _CHUNK_SIZE.match(pending)
        if digits is not None and len(digits.group(1)) > _MAX_CHUNK_DIGITS:
            raise ProtocolError("chunk size does not fit in 64 bits", 400)
        if digits is not None and digits.end() < len(pending):
            self._at_chunk_size = False  # the size is complete; h11 reads the chunk from here


def _ends_with_crlf_crlf(fed_before: bytes, data: bytes, end: int) -> bool:
    """Whether the bytes given to h11 up to data[:end] (after `fed_before`) end with CRLF CRLF."""
    last = data[max(end - 4, 0) : end]
    if len(last) < 4:
        last = (fed_before + data[:end])[-4:]
    return last == b"\r\n\r\n"
