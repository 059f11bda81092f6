"""h11 adapter: h11 events -> ParserSink calls, h11 errors -> ProtocolError.

h11 is used only to parse requests; responses are written by `writer.py`, as for httptools. h11 will not
begin a second request until it has seen a response to the first, and it refuses HTTP/1.0 keep-alive, so
after each request its `trailing_data` moves into a fresh `h11.Connection`. Keep-alive is the connection
state machine's decision, not h11's.

h11 is more lenient than llhttp about the head: it takes a bare LF as a line end and unfolds obs-fold, and
it refuses the empty lines RFC 9112 section 2.2 asks a server to skip before a request line. So that both
parsers answer the same bytes the same way, this adapter skips those empty lines and scans each head before
h11 sees it, refusing bare LF and obs-fold (Invariant 4: ambiguous framing is rejected, not guessed).
"""

from __future__ import annotations

import re

import h11

from ..errors import ProtocolError
from .parser import HeadLimits, ParserSink

# A LF without its CR, or a line that starts with whitespace (obs-fold, or space before the first field).
_LENIENT_HEAD = re.compile(rb"(?<!\r)\n|\n[ \t]")


class H11Parser:
    name = "h11"

    def __init__(self, sink: ParserSink, limits: HeadLimits) -> None:
        self._sink = sink
        self._limits = limits
        self._conn = self._new_connection()
        self._begun = False
        self._line_done = False
        # Between the first byte of a request and its h11.Request event; the scan's last bytes.
        self._in_head = True
        self._head_tail = b""

    def _new_connection(self) -> h11.Connection:
        return h11.Connection(h11.SERVER, max_incomplete_event_size=self._limits.head_size)

    def feed(self, data: bytes) -> None:
        if self._in_head:
            data = self._check_head(data)
            if not data:
                return
        conn = self._conn
        conn.receive_data(data)
        while True:
            if not self._line_done:
                self._watch_request_line(conn.trailing_data[0])
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                raise ProtocolError(f"malformed request: {exc}", exc.error_status_hint) from None
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                self._in_head = False
                self._sink.on_head(
                    event.method, event.target, event.http_version.decode("ascii"), list(event.headers)
                )
            elif isinstance(event, h11.Data):
                self._sink.on_body(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                leftover = conn.trailing_data[0]
                self._begun = self._line_done = False
                self._in_head, self._head_tail = True, b""
                self._sink.on_end()
                conn = self._conn = self._new_connection()
                leftover = self._check_head(leftover)
                if leftover:
                    conn.receive_data(leftover)
            # h11.ConnectionClosed cannot happen: h11 is never told about EOF.

    def _check_head(self, data: bytes) -> bytes:
        """Skip empty lines before a request and refuse bare LF and obs-fold in its head; return the rest."""
        if not self._begun and not self._head_tail:
            data = data.lstrip(b"\r\n")  # llhttp skips any CR and LF here too
            if not data:
                return data
        tail = self._head_tail
        window = tail + data
        end = window.find(b"\r\n\r\n")
        head = window if end < 0 else window[: end + 4]
        # Start one byte into the tail: a match there spans the reads; the lookbehind still sees the tail.
        if _LENIENT_HEAD.search(head, max(len(tail) - 1, 0)):
            raise ProtocolError("bare LF or obs-fold in the request head", 400)
        self._head_tail = head[-3:]
        return data

    def _watch_request_line(self, pending: bytes) -> None:
        """Report the start of a request, and answer an over-long request line with 414, not 431."""
        if not pending:
            return
        if not self._begun:
            self._begun = True
            self._sink.on_begin()
        if pending.find(b"\n", 0, self._limits.request_line + 2) >= 0:
            self._line_done = True
        elif len(pending) > self._limits.request_line + 1:
            raise ProtocolError("request line too long", 414)
