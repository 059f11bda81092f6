"""Fuzz the framing of requests: the bytes around Content-Length, Transfer-Encoding, chunk-size lines, chunk
data and trailers, where request smuggling lives.

Mutations put CR, LF, spaces, NUL and friends next to framing bytes, and the two parsers are compared: for
the same bytes they must complete the same requests. A request that one parser completes and the other does
not is exactly a smuggling bug. Statuses are compared by the corpus (tests/unit/http/test_corpus.py), not
here: a request with two faults can be refused for a different one first (400 from llhttp, which stops at
the first bad byte, 431 or 505 from the checks that run once h11 has the whole head), and a request cut off
after a bad byte can be refused by one parser while the other still waits for the line to end.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiowsgi.http.parser import available_parsers
from tests.fuzz.test_fuzz_http import check_stream, cut
from tests.requests.corpus import LIMITS, load_cases, replay

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Requests whose framing is worth breaking: a body, chunked or by length.
SEEDS = [
    case.data
    for case in load_cases("valid")
    if len(case.data) < 2048 and re.search(rb"(?i)content-length: *[1-9]|transfer-encoding", case.data)
]
# Where to break them: framing header lines, chunk-size lines, line ends, and the numbers themselves.
FRAMING = re.compile(
    rb"(?i)content-length|transfer-encoding|chunked|\r\n[0-9a-f]+[;\r]|\r\n\r\n|\r\n|: *|[0-9a-f]+\r\n|;"
)
SMALL = [
    b"\r", b"\n", b"\r\n", b" ", b"\t", b"\x00", b"\x0b", b"\x0c", b"\x7f", b"\x80", b"\xff", b";", b",",
    b"=", b'"', b":", b"0", b"5", b"f", b"-", b"+", b"x", b"\r\n ", b"\r\n\r\n", b"0\r\n\r\n",
]  # fmt: skip
HEADERS = [
    b"Content-Length: 5\r\n", b"Content-Length: 0\r\n", b"Transfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: gzip\r\n", b"Connection: close\r\n", b"Proxy-Connection: close\r\n",
]  # fmt: skip


@st.composite
def framing_mutations(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    spots = [m.start() for m in FRAMING.finditer(data)] + [m.end() for m in FRAMING.finditer(data)]
    for _ in range(draw(st.integers(1, 3))):
        at = min(draw(st.sampled_from(spots)) + draw(st.integers(-2, 2)), len(data)) if spots else 0
        at = max(at, 0)
        op = draw(st.sampled_from(["insert", "replace", "delete", "header"]))
        if op == "insert":
            data[at:at] = draw(st.sampled_from(SMALL))
        elif op == "replace" and at < len(data):
            data[at : at + 1] = draw(st.sampled_from(SMALL))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 3))]
        else:
            line_start = data.find(b"\r\n") + 2
            data[line_start:line_start] = draw(st.sampled_from(HEADERS))
    return bytes(data)


@FUZZ
@given(data=st.data(), raw=framing_mutations())
def test_framing_mutations(parser_backend: str, data: st.DataObject, raw: bytes) -> None:
    check_stream(parser_backend, data.draw(cut(raw)), LIMITS)


@FUZZ
@given(raw=framing_mutations())
def test_parsers_agree_on_framing(raw: bytes) -> None:
    if len(available_parsers()) < 2:
        return
    fast, pure = replay("httptools", [raw]), replay("h11", [raw])
    assert fast.requests == pure.requests, (fast.message, pure.message)
    if fast.status is None and pure.status is None:
        assert fast.partial == pure.partial
