"""What Responder hands its sink, piece by piece (the wire itself is tested over sockets in integration/)."""

from __future__ import annotations

from aiowsgi.http.events import RequestHead
from aiowsgi.wsgi.response import Responder

GET = RequestHead("GET", b"/", "1.1", ((b"host", b"t"),), None, False, True, False)


class RecordingSink:
    closing = False
    can_sendfile = False

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, ...]] = []
        self.finished: list[tuple[tuple[bytes, ...], bool]] = []

    def send(self, *parts: bytes) -> None:
        self.sent.append(parts)

    def sendfile(self, fd: int, offset: int, count: int) -> None:
        raise AssertionError("not expected")

    def finish(self, *parts: bytes, keep_alive: bool) -> None:
        self.finished.append((parts, keep_alive))

    def abort(self) -> None:
        raise AssertionError("not expected")


def test_a_small_head_and_body_go_as_one_piece() -> None:
    sink = RecordingSink()
    responder = Responder(GET, sink, server_header=False)
    responder.start_response("200 OK", [("Content-Length", "5")])
    responder.send_whole(b"hello")
    ((parts, keep_alive),) = sink.finished
    assert len(parts) == 1
    assert parts[0].endswith(b"\r\n\r\nhello")
    assert keep_alive


def test_a_large_body_goes_beside_its_head_uncopied() -> None:
    sink = RecordingSink()
    body = b"x" * (64 * 1024)
    responder = Responder(GET, sink, server_header=False)
    responder.start_response("200 OK", [("Content-Length", str(len(body)))])
    responder.send_whole(body)
    ((parts, _),) = sink.finished
    assert len(parts) == 2
    assert parts[1] is body


def test_a_large_chunk_goes_with_its_framing_beside_it() -> None:
    sink = RecordingSink()
    chunk = b"y" * (64 * 1024)
    responder = Responder(GET, sink, server_header=False)
    write = responder.start_response("200 OK", [])
    write(b"first")  # the head, framed as chunked
    write(chunk)
    assert sink.sent[1] == (b"10000\r\n", chunk, b"\r\n")
    assert sink.sent[1][1] is chunk


def test_nothing_is_sent_for_what_passes_the_content_length() -> None:
    sink = RecordingSink()
    responder = Responder(GET, sink, server_header=False)
    write = responder.start_response("200 OK", [("Content-Length", "3")])
    write(b"abcdef")
    write(b"more")
    write(b"and more")
    assert len(sink.sent) == 1, "the excess is dropped, not sent as empty pieces"
    assert sink.sent[0][-1].endswith(b"\r\n\r\nabc")
