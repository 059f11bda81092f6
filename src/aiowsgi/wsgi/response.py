"""Running one WSGI call in a worker thread: start_response, write(), iteration and close(), per PEP 3333.

The rules, each enforced here and tested one by one:
- start_response returns write(); a second call without exc_info is an error; with exc_info it replaces the
  pending status and headers if nothing was sent yet, and re-raises exc_info once the head is out.
- start_response may come late, from inside the first iteration of a generator.
- wsgi.early_hints (Gunicorn's extension) sends 103 responses before the head, to HTTP/1.1 clients only.
- Status and headers are checked when start_response is called (the application can still see the error);
  anything that could split the response on the wire (non-str, CR/LF, non-latin-1, hop-by-hop) raises.
- The head goes out with the first non-empty body chunk (or at the end, for an empty body).
- Body items must be bytes. A body longer than its Content-Length is cut and the connection closed; a
  shorter one closes the connection too, since the client would otherwise wait for the rest.
- HEAD, 204 and 304 responses send no body, but the application's iterable is still run to its end.
- close() on the iterable always runs: after success, after an exception, after the client left.
- An exception before the head was sent becomes a 500; after it, the connection is closed. Either way it
  is logged with its traceback on aiowsgi.error.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, Protocol

from .._types import Environ, OptExcInfo, ResponseHeaders, WriteCallable, WSGIApp
from ..errors import ClientDisconnected, InvalidResponse
from ..http.connection import BodyFraming, plan_response
from ..http.events import RequestHead
from ..http.writer import (
    LAST_CHUNK,
    ResponseHead,
    check_response_head,
    chunk_parts,
    encode_early_hints,
    encode_head,
    error_response,
)

# Module globals for the BodyFraming members, as in http/connection.py (a lookup on an Enum class is slow
# on Python 3.11).
_BODY_NONE = BodyFraming.NONE
_BODY_LENGTH = BodyFraming.LENGTH
_BODY_CHUNKED = BodyFraming.CHUNKED


error_log = logging.getLogger("aiowsgi.error")

# A list result whose items add up to at most this is joined and sent with its head in one write.
_COALESCE_LIMIT = 64 * 1024
# Pieces of output up to this size in all are joined into one bytes; larger ones go to the loop as they
# are and are written with one writev. Copying a few KiB costs less than a writev of several buffers;
# copying 64 KiB costs more, in page faults on fresh memory as much as in the copy.
_JOIN_LIMIT = 8 * 1024


class ResponseSink(Protocol):
    """The worker's side of the channel to the connection's loop (implemented in aiowsgi.bridge)."""

    closing: bool  # the server is shutting down: answer with Connection: close
    can_sendfile: bool  # the loop and transport can send a file with zero copy

    def send(self, *parts: bytes) -> None:
        """Queue bytes for the client, in order; may wait for a slow client; raises ClientDisconnected."""

    def sendfile(self, fd: int, offset: int, count: int) -> None:
        """Send `count` bytes of `fd` from `offset` with zero copy; `fd` is duplicated, not kept."""

    def finish(self, *parts: bytes, keep_alive: bool) -> None:
        """The last bytes of the response; never waits."""

    def abort(self) -> None:
        """The response cannot be completed: close the connection."""


class FileWrapper:
    """wsgi.file_wrapper: iterates a file in blocks; the server may send it with sendfile instead."""

    def __init__(self, filelike: IO[bytes], block_size: int = 64 * 1024) -> None:
        self.filelike = filelike
        self.block_size = block_size
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> Iterator[bytes]:
        read = self.filelike.read
        while block := read(self.block_size):
            yield block


class Responder:
    """The state of one response while the application produces it."""

    def __init__(self, request: RequestHead, sink: ResponseSink, server_header: bool) -> None:
        self._request = request
        self._sink = self.sink = sink
        self.server_header = server_header
        self._pending: ResponseHead | None = None
        self.head_sent = False
        self._framing = _BODY_NONE
        self._keep_alive = False
        self._remaining: int | None = None  # bytes of a Content-Length body still to send
        self._overflowed = False
        self.status = 0
        self.body_bytes = 0

    @property
    def response_head(self) -> ResponseHead | None:
        """The status and headers the application gave start_response (checked); None before it did."""
        return self._pending

    # What the application calls.

    def start_response(
        self, status: str, headers: ResponseHeaders, exc_info: OptExcInfo = None
    ) -> WriteCallable:
        if exc_info:
            try:
                if self.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])  # type: ignore[union-attr]
            finally:
                exc_info = None  # no reference cycle through the traceback
        elif self._pending is not None:
            raise RuntimeError("start_response was called a second time without exc_info")
        self._pending = check_response_head(status, headers)
        self.status = self._pending.status_code
        return self.write

    def early_hints(self, headers: ResponseHeaders) -> None:
        """environ["wsgi.early_hints"] (Gunicorn's): send `103 Early Hints` with `headers` now.

        Only before the response has started, and only to an HTTP/1.1 client; otherwise it does nothing,
        as a client or a front end that does not expect an interim response may take it for the final one
        (HTTP/1.0 has none, and a uwsgi front end reads one response). Bad headers raise InvalidResponse.
        """
        hints = encode_early_hints(headers)
        request = self._request
        if self.head_sent or request.http_version != "1.1" or request.params is not None:
            return
        self._sink.send(hints)

    def write(self, data: bytes) -> None:
        if type(data) is not bytes:
            raise InvalidResponse(f"a response body item must be bytes, got {type(data).__name__}")
        if not data:
            return
        if self.head_sent:
            framed = self._frame(data)
            if framed:
                self._sink.send(*_joined_if_small(framed))
        else:
            head = self._head(None)
            self._sink.send(*_joined_if_small((head, *self._frame(data))))

    # What run_application calls.

    def send_whole(self, body: bytes) -> None:
        """A body known in full: the head and the body in one hand-off to the loop."""
        size = len(body)
        head = self._head(size)
        parts: tuple[bytes, ...]
        if self._remaining == size:  # a Content-Length body of the length declared: the usual case
            self._remaining = 0
            self.body_bytes = size
            parts = (head + body,) if len(head) + size <= _JOIN_LIMIT else (head, body)
        else:
            parts = _joined_if_small((head, *self._frame(body)))
        if self._remaining:
            self._warn_short()
            self._keep_alive = False
        self._sink.finish(*parts, keep_alive=self._keep_alive)

    def send_file(self, wrapper: FileWrapper, zero_copy: bool) -> bool:
        """Send the head of a file_wrapper result with its length and, if `zero_copy`, the file too.

        Returns whether the body is done; if not, the wrapper is iterated for it (after the head, when
        the file's size could be known, so the body still goes with a Content-Length).
        """
        try:
            fd = wrapper.filelike.fileno()
            offset = wrapper.filelike.tell()
            size = os.fstat(fd).st_size - offset
        except (AttributeError, OSError, ValueError):
            return False
        if size < 0:
            return False
        if self._pending is not None and self._pending.content_length is not None:
            size = min(size, self._pending.content_length)
        self._sink.send(self._head(size))
        if self._framing is not _BODY_LENGTH or not size:
            return True
        if not zero_copy:
            return False
        self._sink.sendfile(fd, offset, size)
        self.body_bytes = size
        self._remaining = (self._remaining or 0) - size
        return True

    def end(self) -> None:
        """The application's iterable is exhausted: complete the response."""
        if not self.head_sent:
            self.send_whole(b"")
        elif self._remaining:
            self._warn_short()
            self._sink.abort()
        else:
            last = (LAST_CHUNK,) if self._framing is _BODY_CHUNKED else ()
            self._sink.finish(*last, keep_alive=self._keep_alive)

    def _warn_short(self) -> None:
        error_log.warning(
            "%s %s: the application sent %d bytes less than its Content-Length; closing the connection",
            self._request.method, self._request.target.decode("latin-1"), self._remaining,
        )  # fmt: skip

    def _head(self, known_length: int | None) -> bytes:
        pending = self._pending
        if pending is None:
            raise RuntimeError("the application sent body data before calling start_response")
        length = pending.content_length if pending.content_length is not None else known_length
        close = pending.close_requested or self._sink.closing
        framing, keep_alive = plan_response(self._request, pending.status_code, length, close)
        # A HEAD response carries the length a GET would have; 204 and 304 get none made up for them.
        shown_length = length if framing is not _BODY_NONE or self._request.method == "HEAD" else None
        head = encode_head(
            pending, framing, keep_alive, self._request.http_version, self.server_header, shown_length
        )
        self._framing, self._keep_alive = framing, keep_alive
        self._remaining = length if framing is _BODY_LENGTH else None
        self.head_sent = True
        return head

    def _frame(self, data: bytes) -> tuple[bytes, ...]:
        """`data` as it goes on the wire in this response's framing, in pieces (none if nothing goes)."""
        framing = self._framing
        if framing is _BODY_NONE:
            return ()
        if self._remaining is not None:
            if len(data) > self._remaining:
                if not self._overflowed:
                    self._overflowed = True
                    self._keep_alive = False
                    error_log.error(
                        "%s %s: the application sent more than its Content-Length; the excess was dropped",
                        self._request.method, self._request.target.decode("latin-1"),
                    )  # fmt: skip
                data = data[: self._remaining]
            self._remaining -= len(data)
        self.body_bytes += len(data)
        if framing is _BODY_CHUNKED:
            return chunk_parts(data)
        return (data,) if data else ()


def _joined_if_small(parts: tuple[bytes, ...]) -> tuple[bytes, ...]:
    if len(parts) == 2:  # a head and a Content-Length body: the common case, without a join's overhead
        first, second = parts
        return (first + second,) if len(first) + len(second) <= _JOIN_LIMIT else parts
    if len(parts) > 1 and sum(map(len, parts)) <= _JOIN_LIMIT:
        return (b"".join(parts),)
    return parts


# Told of every request the application ran, once its response is done (the access log, the metrics):
# called in the worker thread with the environ, the request, the finished Responder (status, body_bytes)
# and the time.monotonic() at which the request was complete and queued for a thread.
RequestObserver = Callable[[Environ, RequestHead, "Responder", float], None]


def run_application(
    app: WSGIApp,
    environ: Environ,
    request: RequestHead,
    sink: ResponseSink,
    server_header: bool,
    started: float,
    observe: RequestObserver | None,
) -> None:
    """Call the application for one request and deliver its response through `sink`. Never raises."""
    responder = Responder(request, sink, server_header)
    environ["wsgi.early_hints"] = responder.early_hints
    result: Iterable[bytes] | None = None
    try:
        result = app(environ, responder.start_response)
        _deliver(result, responder)
    except ClientDisconnected:
        error_log.debug("client %s went away during %s", environ.get("REMOTE_ADDR"), request.method)
        sink.abort()
    except Exception:  # noqa: BLE001 - the application boundary: logged with its traceback in _fail
        _fail(responder, sink, request, environ)
    finally:
        if result is not None and hasattr(result, "close"):
            try:
                result.close()
            except Exception:  # noqa: BLE001 - the application boundary; logged
                error_log.exception("close() of the application's iterable raised")
        if observe is not None:
            observe(environ, request, responder, started)


def _deliver(result: Iterable[bytes], responder: Responder) -> None:
    # The shortcuts send the head with the body; once write() has sent the head, the result is only
    # more body and goes through the plain loop.
    if not responder.head_sent and _deliver_at_once(result, responder):
        return
    for chunk in result:
        responder.write(chunk)
    responder.end()


def _deliver_at_once(result: Iterable[bytes], responder: Responder) -> bool:
    """Send a small list of bytes as one write, or a file with sendfile; False if neither applies."""
    if type(result) is list or type(result) is tuple:
        if len(result) == 1 and type(result[0]) is bytes:
            responder.send_whole(result[0])
            return True
        if all(type(item) is bytes for item in result) and sum(map(len, result)) <= _COALESCE_LIMIT:
            responder.send_whole(b"".join(result))
            return True
    elif isinstance(result, FileWrapper) and responder.send_file(result, responder.sink.can_sendfile):
        responder.end()
        return True
    return False


def _fail(responder: Responder, sink: ResponseSink, request: RequestHead, environ: Environ) -> None:
    where = f"{request.method} {environ.get('REQUEST_URI', '')}"
    if responder.head_sent:
        error_log.exception("error in the application after the response started (%s); closing", where)
        sink.abort()
        return
    error_log.exception("error in the application (%s); answering 500", where)
    responder.status = 500
    responder._pending = None  # its headers were never sent: an access line must not show them
    sink.finish(error_response(500, responder.server_header), keep_alive=False)


def file_wrapper(filelike: IO[bytes], block_size: int = 64 * 1024) -> Any:
    return FileWrapper(filelike, block_size)
