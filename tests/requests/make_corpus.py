"""Write the raw-request corpus (valid/*.http, invalid/*.http and their .json sidecars) from Python literals.

Run `python tests/requests/make_corpus.py` after editing a case here; the generated files are committed, so
the exact bytes (CRLFs, NULs, bare LFs) never pass through an editor. See `corpus.py` for the format and
`LIMITS` there for the limits the limit cases exceed (request line 8190, 100 fields, field 8190, body 64 KiB).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
H = b"Host: example.com\r\n"
HOST = ["host", "example.com"]
BODY_LIMIT = 64 * 1024


def req(
    method: str = "GET",
    target: str = "/",
    headers: list[list[str]] | None = None,
    body: bytes = b"",
    version: str = "1.1",
    keep_alive: bool = True,
    chunked: bool = False,
    content_length: int | None = None,
    expect_continue: bool = False,
) -> dict[str, Any]:
    return {
        "method": method,
        "target": target,
        "http_version": version,
        "headers": [HOST] if headers is None else headers,
        "keep_alive": keep_alive,
        "chunked": chunked,
        "content_length": content_length,
        "expect_continue": expect_continue,
        "body": body.decode("latin-1"),
    }


def get(target: str = "/", extra: bytes = b"") -> bytes:
    return b"GET " + target.encode("latin-1") + b" HTTP/1.1\r\n" + H + extra + b"\r\n"


def post_chunked(chunks: bytes, extra: bytes = b"") -> bytes:
    return b"POST /upload HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n" + extra + b"\r\n" + chunks


def post_cl(body: bytes, length: bytes | None = None) -> bytes:
    length = b"%d" % len(body) if length is None else length
    return b"POST / HTTP/1.1\r\n" + H + b"Content-Length: " + length + b"\r\n\r\n" + body


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


def chunked_req(body: bytes, headers: list[list[str]] | None = None, **kw: Any) -> dict[str, Any]:
    hdrs = [HOST, ["transfer-encoding", "chunked"]] if headers is None else headers
    return req("POST", "/upload", hdrs, body, chunked=True, **kw)


def long_target(line_length: int) -> str:
    """An origin-form target that makes "GET <target> HTTP/1.1" exactly `line_length` bytes long."""
    return "/" + "a" * (line_length - len("GET / HTTP/1.1"))


SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: example.com\r\n\r\n"
HUNDRED_HEADERS = b"".join(b"X-H%02d: v\r\n" % i for i in range(99))
BIG_CHUNK = 0x4000

VALID: list[tuple[str, bytes, list[dict[str, Any]]]] = [
    ("get_simple", get(), [req()]),
    (
        "get_query",
        get("/search?q=a+b&x=%20y&empty=&flag"),
        [req(target="/search?q=a+b&x=%20y&empty=&flag")],
    ),
    (
        "get_percent_encoded",
        get("/caf%C3%A9/a%2Fb/%3F?x=%25&y=%"),
        [req(target="/caf%C3%A9/a%2Fb/%3F?x=%25&y=%")],
    ),
    (
        "absolute_form",
        b"GET http://example.com:8080/p/q?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
        [req(target="http://example.com:8080/p/q?x=1", headers=[["host", "example.com:8080"]])],
    ),
    (
        "absolute_form_https_upper",
        b"GET HTTPS://Example.COM/ HTTP/1.1\r\n" + H + b"\r\n",
        [req(target="HTTPS://Example.COM/")],
    ),
    ("options_asterisk", b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n", [req("OPTIONS", "*")]),
    ("http10_simple", b"GET / HTTP/1.0\r\n\r\n", [req(version="1.0", headers=[], keep_alive=False)]),
    (
        "http10_keep_alive_then_close",
        # The second request asks for no keep-alive, so the third is never parsed (Rule 3).
        b"GET /1 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\nGET /3 HTTP/1.0\r\n\r\n",
        [
            req(target="/1", version="1.0", headers=[["connection", "Keep-Alive"]]),
            req(target="/2", version="1.0", headers=[], keep_alive=False),
        ],
    ),
    (
        "pipelined_gets",
        get("/a") + get("/b") + get("/c"),
        [req(target="/a"), req(target="/b"), req(target="/c")],
    ),
    (
        "post_content_length",
        b"POST /form HTTP/1.1\r\n" + H + b"Content-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world",
        [
            req(
                "POST",
                "/form",
                [HOST, ["content-type", "text/plain"], ["content-length", "11"]],
                b"hello world",
                content_length=11,
            )
        ],
    ),
    (
        "post_content_length_zero",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 0\r\n\r\n",
        [req("POST", "/", [HOST, ["content-length", "0"]], content_length=0)],
    ),
    (
        "content_length_leading_zeros",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 005\r\n\r\nhello",
        [req("POST", "/", [HOST, ["content-length", "005"]], b"hello", content_length=5)],
    ),
    (
        "pipelined_posts",
        b"POST /1 HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n\r\nabc"
        b"POST /2 HTTP/1.1\r\n" + H + b"Content-Length: 4\r\n\r\ndefg" + get("/3"),
        [
            req("POST", "/1", [HOST, ["content-length", "3"]], b"abc", content_length=3),
            req("POST", "/2", [HOST, ["content-length", "4"]], b"defg", content_length=4),
            req(target="/3"),
        ],
    ),
    (
        "chunked_simple",
        post_chunked(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
        [chunked_req(b"hello world")],
    ),
    (
        "chunked_extensions",
        post_chunked(b'5;name=value\r\nhello\r\n1;a;b=c;q="quoted ; value"\r\n!\r\n0;last\r\n\r\n'),
        [chunked_req(b"hello!")],
    ),
    (
        "chunked_trailers",
        post_chunked(b"4\r\ndata\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"),
        [chunked_req(b"data")],
    ),
    (
        "chunked_hex_sizes",
        post_chunked(b"A\r\n0123456789\r\n00000f\r\nabcdefghijklmno\r\n000\r\n\r\n"),
        [chunked_req(b"0123456789abcdefghijklmno")],
    ),
    ("chunked_empty", post_chunked(b"0\r\n\r\n"), [chunked_req(b"")]),
    (
        "chunked_then_pipelined",
        post_chunked(b"3\r\nabc\r\n0\r\n\r\n") + get("/next"),
        [chunked_req(b"abc"), req(target="/next")],
    ),
    (
        "chunked_whitespace",
        b"POST /upload HTTP/1.1\r\n" + H + b"Transfer-Encoding: \t chunked \r\n\r\n2\r\nok\r\n0\r\n\r\n",
        [chunked_req(b"ok")],
    ),
    (
        "chunked_body_looks_like_end",
        # The chunk *data* contains a last-chunk and a request; it is body, nothing more.
        post_chunked(b"1d\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n0\r\n\r\n"),
        [chunked_req(b"0\r\n\r\nGET /smuggled HTTP/1.1\r\n")],
    ),
    (
        "chunked_large_chunks",
        post_chunked(
            b"%x\r\n" % BIG_CHUNK
            + b"x" * BIG_CHUNK
            + b"\r\n%x\r\n" % BIG_CHUNK
            + b"y" * BIG_CHUNK
            + b"\r\n0\r\n\r\n"
        ),
        [chunked_req(b"x" * BIG_CHUNK + b"y" * BIG_CHUNK)],
    ),
    (
        "expect_continue_content_length",
        b"PUT /f HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 4\r\n\r\nbody",
        [
            req(
                "PUT",
                "/f",
                [HOST, ["expect", "100-continue"], ["content-length", "4"]],
                b"body",
                content_length=4,
                expect_continue=True,
            )
        ],
    ),
    (
        "expect_continue_chunked",
        post_chunked(b"4\r\nbody\r\n0\r\n\r\n", b"Expect: 100-Continue\r\n"),
        [
            chunked_req(
                b"body",
                [HOST, ["transfer-encoding", "chunked"], ["expect", "100-Continue"]],
                expect_continue=True,
            )
        ],
    ),
    (
        "expect_continue_without_body",
        get("/", b"Expect: 100-continue\r\n"),
        [req(headers=[HOST, ["expect", "100-continue"]])],
    ),
    (
        "expect_continue_http10",
        b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
        [
            req(
                "POST",
                "/",
                [["expect", "100-continue"], ["content-length", "2"]],
                b"hi",
                version="1.0",
                keep_alive=False,
                content_length=2,
            )
        ],
    ),
    (
        "expect_other_value",
        b"POST / HTTP/1.1\r\n" + H + b"Expect: something\r\nContent-Length: 2\r\n\r\nhi",
        [req("POST", "/", [HOST, ["expect", "something"], ["content-length", "2"]], b"hi", content_length=2)],
    ),
    (
        "repeated_headers",
        get("/", b"Accept: text/html\r\nCookie: a=1\r\nAccept: application/json\r\nCookie: b=2\r\n"),
        [
            req(
                headers=[
                    HOST,
                    ["accept", "text/html"],
                    ["cookie", "a=1"],
                    ["accept", "application/json"],
                    ["cookie", "b=2"],
                ]
            )
        ],
    ),
    (
        "header_value_whitespace",
        get("/", b"X-Pad:   a  b \t\r\nX-Tab:\tv\t\r\nX-Empty:\r\nX-Spaces:    \r\n"),
        [req(headers=[HOST, ["x-pad", "a  b"], ["x-tab", "v"], ["x-empty", ""], ["x-spaces", ""]])],
    ),
    (
        "header_name_case",
        b"POST / HTTP/1.1\r\nhOsT: example.com\r\nCONTENT-length: 1\r\nX-MiXeD: V\r\n\r\nz",
        [
            req(
                "POST",
                "/",
                [["host", "example.com"], ["content-length", "1"], ["x-mixed", "V"]],
                b"z",
                content_length=1,
            )
        ],
    ),
    (
        "header_value_obs_text",
        get("/", b"X-Latin: caf\xe9 \xff\r\n"),
        [req(headers=[HOST, ["x-latin", "caf\xe9 \xff"]])],
    ),
    (
        "header_token_characters",
        get("/", b"X-!#$%&'*+-.^_`|~09: v\r\n"),
        [req(headers=[HOST, ["x-!#$%&'*+-.^_`|~09", "v"]])],
    ),
    ("long_request_line", get(long_target(8190)), [req(target=long_target(8190))]),
    (
        "long_header_field",
        get("/", b"X-Long: " + b"v" * (8190 - len("x-long")) + b"\r\n"),
        [req(headers=[HOST, ["x-long", "v" * (8190 - len("x-long"))]])],
    ),
    (
        "hundred_headers",
        get("/", HUNDRED_HEADERS),
        [req(headers=[HOST] + [[f"x-h{i:02d}", "v"] for i in range(99)])],
    ),
    (
        "connection_close_then_garbage",
        get("/", b"Connection: close\r\n") + b"\x00\x01 not http at all\r\n\r\n",
        [req(headers=[HOST, ["connection", "close"]], keep_alive=False)],
    ),
    (
        "connection_close_then_request",
        get("/1", b"Connection: close\r\n") + get("/2"),
        [req(target="/1", headers=[HOST, ["connection", "close"]], keep_alive=False)],
    ),
    (
        "connection_tokens_mixed",
        get("/", b"Connection: keep-alive, CLOSE\r\n") + get("/ignored"),
        [req(headers=[HOST, ["connection", "keep-alive, CLOSE"]], keep_alive=False)],
    ),
    (
        "upgrade_websocket",
        # Answered as plain HTTP, then the connection closes; the frames after it are never parsed.
        get("/ws", b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n")
        + b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
        [
            req(
                target="/ws",
                headers=[
                    HOST,
                    ["upgrade", "websocket"],
                    ["connection", "Upgrade"],
                    ["sec-websocket-version", "13"],
                ],
                keep_alive=False,
            )
        ],
    ),
    (
        "upgrade_h2c_with_body",
        # What `curl --http2 -d hi` sends to a plain-HTTP URL: the body belongs to this request.
        b"POST /h2c HTTP/1.1\r\n" + H + b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        b"HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nContent-Length: 2\r\n\r\nhi",
        [
            req(
                "POST",
                "/h2c",
                [
                    HOST,
                    ["connection", "Upgrade, HTTP2-Settings"],
                    ["upgrade", "h2c"],
                    ["http2-settings", "AAMAAABkAAQAoAAAAAIAAAAA"],
                    ["content-length", "2"],
                ],
                b"hi",
                keep_alive=False,
                content_length=2,
            )
        ],
    ),
    (
        "upgrade_header_without_connection_token",
        get("/1", b"Upgrade: h2c\r\n") + get("/2"),
        [req(target="/1", headers=[HOST, ["upgrade", "h2c"]]), req(target="/2")],
    ),
    (
        "methods_pipelined",
        b"HEAD /h HTTP/1.1\r\n" + H + b"\r\n"
        b"PUT /p HTTP/1.1\r\n" + H + b"Content-Length: 1\r\n\r\nP"
        b"DELETE /d HTTP/1.1\r\n" + H + b"\r\n"
        b"PATCH /x HTTP/1.1\r\n" + H + b"Content-Length: 2\r\n\r\nPA",
        [
            req("HEAD", "/h"),
            req("PUT", "/p", [HOST, ["content-length", "1"]], b"P", content_length=1),
            req("DELETE", "/d"),
            req("PATCH", "/x", [HOST, ["content-length", "2"]], b"PA", content_length=2),
        ],
    ),
    (
        "target_sub_delims",
        get("/a;b,c@d!$&'()*+=:~/-._"),
        [req(target="/a;b,c@d!$&'()*+=:~/-._")],
    ),
    (
        "leading_empty_lines",
        # RFC 9112 section 2.2: a server SHOULD ignore at least one empty line before a request line.
        b"\r\n\r\n" + get("/"),
        [req()],
    ),
    (
        "crlf_between_pipelined",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 2\r\n\r\nok\r\n" + get("/after"),
        [req("POST", "/", [HOST, ["content-length", "2"]], b"ok", content_length=2), req(target="/after")],
    ),
    (
        "body_looks_like_request",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 33\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n",
        [
            req(
                "POST",
                "/",
                [HOST, ["content-length", "33"]],
                b"GET /smuggled HTTP/1.1\r\nHost: x\r\n",
                content_length=33,
            )
        ],
    ),
    (
        "http10_post",
        b"POST / HTTP/1.0\r\nContent-Length: 4\r\n\r\ndata",
        [
            req(
                "POST",
                "/",
                [["content-length", "4"]],
                b"data",
                version="1.0",
                keep_alive=False,
                content_length=4,
            )
        ],
    ),
    (
        "http10_keep_alive_pipelined_bodies",
        b"POST /1 HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nA"
        b"POST /2 HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nB",
        [
            req(
                "POST",
                "/1",
                [["connection", "keep-alive"], ["content-length", "1"]],
                b"A",
                "1.0",
                content_length=1,
            ),
            req(
                "POST",
                "/2",
                [["connection", "keep-alive"], ["content-length", "1"]],
                b"B",
                "1.0",
                content_length=1,
            ),
        ],
    ),  # fmt: skip
    (
        "get_with_body",
        b"GET / HTTP/1.1\r\n" + H + b"Content-Length: 2\r\n\r\nhi",
        [req(headers=[HOST, ["content-length", "2"]], body=b"hi", content_length=2)],
    ),
    (
        "content_length_trailing_whitespace",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5 \t\r\n\r\nhello",
        [req("POST", "/", [HOST, ["content-length", "5"]], b"hello", content_length=5)],
    ),
    ("host_empty", b"GET / HTTP/1.1\r\nHost:\r\n\r\n", [req(headers=[["host", ""]])]),
    (
        "body_at_limit",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: %d\r\n\r\n" % BODY_LIMIT + b"b" * BODY_LIMIT,
        [
            req(
                "POST",
                "/",
                [HOST, ["content-length", str(BODY_LIMIT)]],
                b"b" * BODY_LIMIT,
                content_length=BODY_LIMIT,
            )
        ],
    ),
    (
        "chunked_uppercase",
        b"POST /upload HTTP/1.1\r\n" + H + b"Transfer-Encoding: CHUNKED\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        [chunked_req(b"ok", [HOST, ["transfer-encoding", "CHUNKED"]])],
    ),
    ("extension_method_known", b"PURGE /cache HTTP/1.1\r\n" + H + b"\r\n", [req("PURGE", "/cache")]),
    (
        "http10_host_and_absolute_form",
        b"GET http://example.com/x HTTP/1.0\r\nHost: example.com\r\n\r\n",
        [req(target="http://example.com/x", version="1.0", keep_alive=False)],
    ),
    # RFC 9112 section 3 lets a server split the request line on runs of spaces; llhttp does.
    ("request_line_space_runs", b"GET  /x   HTTP/1.1\r\n" + H + b"\r\n", [req(target="/x")]),
    (
        "chunk_size_leading_zeros",
        post_chunked(b"000000000000005\r\nhello\r\n0\r\n\r\n"),
        [chunked_req(b"hello")],
    ),
    # Smuggling: a complete request inside a body is body, and the request after the body is the next one.
    (
        "content_length_body_holds_request",
        post_cl(SMUGGLED) + get("/next"),
        [
            req(
                "POST",
                "/",
                [HOST, ["content-length", str(len(SMUGGLED))]],
                SMUGGLED,
                content_length=len(SMUGGLED),
            ),
            req(target="/next"),
        ],
    ),  # fmt: skip
    (
        "chunked_body_holds_request",
        post_chunked(chunk(SMUGGLED) + b"0\r\n\r\n") + get("/next"),
        [chunked_req(SMUGGLED), req(target="/next")],
    ),
    (
        "chunked_body_holds_chunked_request",
        post_chunked(chunk(post_chunked(b"0\r\n\r\n")) + b"0\r\n\r\n"),
        [chunked_req(post_chunked(b"0\r\n\r\n"))],
    ),
    (
        "transfer_encoding_underscore_is_another_field",
        # Not Transfer-Encoding: the Content-Length frames the body (and the WSGI layer drops the field).
        b"POST / HTTP/1.1\r\n" + H + b"Transfer_Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        [
            req(
                "POST",
                "/",
                [HOST, ["transfer_encoding", "chunked"], ["content-length", "5"]],
                b"0\r\n\r\n",
                content_length=5,
            )
        ],
    ),  # fmt: skip
    # llhttp's chunk-extension leniencies (an empty name or value, an empty extension before another, a token
    # running into a quoted string): they change nothing about framing, and h11 is held to the same grammar.
    (
        "chunk_extension_llhttp_forms",
        post_chunked(
            b'1;=b\r\na\r\n1;a=\r\nb\r\n1;a;;b\r\nc\r\n1;a=b"c;d"\r\nd\r\n1;a="\\"\\\t"\r\ne\r\n0;z\r\n\r\n'
        ),
        [chunked_req(b"abcde")],
    ),
    (
        "chunk_size_25_digits_leading_zeros",
        post_chunked(b"%025x\r\nhello\r\n%025x\r\n\r\n" % (5, 0)),
        [chunked_req(b"hello")],
    ),  # fmt: skip
    (
        "chunk_size_16_digits",
        post_chunked(b"0000000000000005\r\nhello\r\n0\r\n\r\n"),
        [chunked_req(b"hello")],
    ),
    (
        "trailer_fields",
        post_chunked(b'0\r\nX-A:v\r\nX-B: \t\r\nHost: other\r\nX-C: caf\xe9 "q"\t \r\n\r\n'),
        [chunked_req(b"")],
    ),
    # Host forms of RFC 9110 section 7.2 / RFC 3986 section 3.2.2.
    (
        "host_forms",
        b"".join(
            b"GET / HTTP/1.1\r\nHost: " + host.encode() + b"\r\n\r\n"
            for host in (
                "127.0.0.1:8000",
                "[::1]:80",
                "[v1.fe80::a+en1]",
                "example.com:",
                "ex%41mple.com",
                "a!$&'()*+,;=b",
            )
        ),
        [
            req(headers=[["host", host]])
            for host in (
                "127.0.0.1:8000",
                "[::1]:80",
                "[v1.fe80::a+en1]",
                "example.com:",
                "ex%41mple.com",
                "a!$&'()*+,;=b",
            )
        ],
    ),  # fmt: skip
    (
        "proxy_connection_close",
        # llhttp reads Proxy-Connection as Connection: so does aiowsgi, whichever the parser.
        get("/1", b"Proxy-Connection: close\r\n") + get("/2"),
        [req(target="/1", headers=[HOST, ["proxy-connection", "close"]], keep_alive=False)],
    ),
    (
        "http10_proxy_connection_keep_alive",
        b"GET /1 HTTP/1.0\r\nProxy-Connection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
        [
            req(target="/1", version="1.0", headers=[["proxy-connection", "keep-alive"]]),
            req(target="/2", version="1.0", headers=[], keep_alive=False),
        ],
    ),  # fmt: skip
    ("target_lenient_characters", get('/a"b{c}|d^e`f\\g#h'), [req(target='/a"b{c}|d^e`f\\g#h')]),
    # RFC 9110 section 2.5: a higher minor version is served as HTTP/1.1, keep-alive and all.
    ("http12_as_http11", b"GET / HTTP/1.2\r\n" + H + b"\r\n", [req()]),
    (
        "http19_pipelined_chunked_as_http11",
        b"POST /a HTTP/1.9\r\n"
        + H
        + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        + b"GET /b HTTP/1.2\r\n"
        + H
        + b"Connection: close\r\n\r\n",
        [
            req("POST", "/a", headers=[HOST, ["transfer-encoding", "chunked"]], body=b"hello", chunked=True),
            req(target="/b", headers=[HOST, ["connection", "close"]], keep_alive=False),
        ],
    ),  # fmt: skip
]

CL_TE = b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"

INVALID: list[tuple[str, bytes, int, list[dict[str, Any]]]] = [
    # Framing: RFC 9112 section 6 (and the smuggling classes of section 11.2).
    ("cl_and_te", b"POST / HTTP/1.1\r\n" + H + CL_TE + b"\r\n0\r\n\r\n", 400, []),
    (
        "te_and_cl",
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
        400,
        [],
    ),
    (
        "two_content_lengths",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        400,
        [],
    ),
    (
        "two_content_lengths_same",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        400,
        [],
    ),
    ("content_length_list", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5, 5\r\n\r\nhello", 400, []),
    ("content_length_plus", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: +5\r\n\r\nhello", 400, []),
    ("content_length_negative", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: -5\r\n\r\nhello", 400, []),
    ("content_length_inner_space", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 1 0\r\n\r\nhello", 400, []),
    ("content_length_hex", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 0x5\r\n\r\nhello", 400, []),
    ("content_length_empty", b"POST / HTTP/1.1\r\n" + H + b"Content-Length:\r\n\r\n", 400, []),
    (
        "content_length_unicode_digit",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: \xb2\r\n\r\nhello",
        400,
        [],
    ),
    (
        "content_length_overflow",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 184467440737095516160\r\n\r\n",
        400,
        [],
    ),
    ("te_chunked_not_last", post_chunked(b"0\r\n\r\n").replace(b"chunked", b"chunked, gzip"), 400, []),
    ("te_chunked_twice", post_chunked(b"0\r\n\r\n").replace(b"chunked", b"chunked, chunked"), 400, []),
    ("te_two_fields", post_chunked(b"0\r\n\r\n", b"Transfer-Encoding: chunked\r\n"), 400, []),
    ("te_empty", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding:\r\n\r\n", 400, []),
    ("te_gzip", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\n", 501, []),
    ("te_identity", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: identity\r\n\r\n", 501, []),
    ("te_gzip_chunked", post_chunked(b"0\r\n\r\n").replace(b"chunked", b"gzip, chunked"), 501, []),
    ("te_xchunked", post_chunked(b"0\r\n\r\n").replace(b"chunked", b"xchunked"), 501, []),
    ("te_http10", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, []),
    # Chunked framing: RFC 9112 section 7.1.
    ("chunk_size_not_hex", post_chunked(b"zz\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_size_negative", post_chunked(b"-5\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_size_0x", post_chunked(b"0x5\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_size_empty", post_chunked(b"\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_size_overflow", post_chunked(b"10000000000000005\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_size_space_before_ext", post_chunked(b"5 ;a=b\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_data_longer_than_size", post_chunked(b"3\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_missing_crlf", post_chunked(b"5\r\nhello0\r\n\r\n"), 400, []),
    ("chunk_size_bare_lf", post_chunked(b"5\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_data_bare_lf", post_chunked(b"5\r\nhello\n0\r\n\r\n"), 400, []),
    ("last_chunk_bare_lf", post_chunked(b"5\r\nhello\r\n0\n\r\n"), 400, []),
    ("chunk_ext_bad_quote", post_chunked(b'5;a="x\r\ny"\r\nhello\r\n0\r\n\r\n'), 400, []),
    ("trailer_bad_field", post_chunked(b"0\r\nnot a field\r\n\r\n"), 400, []),
    ("trailer_end_bare_lf", post_chunked(b"5\r\nhello\r\n0\r\n\n"), 400, []),
    # The head: RFC 9112 sections 2, 3 and 5.
    ("obs_fold", get("/", b"X-Folded: a\r\n b\r\n"), 400, []),
    ("obs_fold_tab", get("/", b"X-Folded: a\r\n\tb\r\n"), 400, []),
    ("whitespace_before_colon", b"GET / HTTP/1.1\r\nHost : example.com\r\n\r\n", 400, []),
    ("whitespace_before_first_field", b"GET / HTTP/1.1\r\n Host: example.com\r\n\r\n", 400, []),
    ("bare_lf_request_line", b"GET / HTTP/1.1\n" + H + b"\r\n", 400, []),
    ("bare_lf_field", b"GET / HTTP/1.1\r\nHost: example.com\nX-A: 1\r\n\r\n", 400, []),
    ("bare_lf_end_of_head", b"GET / HTTP/1.1\r\n" + H + b"\n", 400, []),
    ("bare_lf_everywhere", b"GET / HTTP/1.1\nHost: example.com\n\n", 400, []),
    ("bare_cr", b"GET / HTTP/1.1\rHost: example.com\r\n\r\n", 400, []),
    ("nul_in_value", get("/", b"X-A: a\x00b\r\n"), 400, []),
    ("cr_in_value", get("/", b"X-A: a\rb\r\n"), 400, []),
    ("control_in_value", get("/", b"X-A: a\x01b\r\n"), 400, []),
    ("del_in_value", get("/", b"X-A: a\x7fb\r\n"), 400, []),
    ("bad_field_name", get("/", b"X(y): 1\r\n"), 400, []),
    ("field_without_colon", get("/", b"X-No-Colon\r\n"), 400, []),
    ("empty_field_name", get("/", b": 1\r\n"), 400, []),
    ("missing_host", b"GET / HTTP/1.1\r\n\r\n", 400, []),
    ("two_hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, []),
    ("http20", b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505, []),
    # RFC 9110 section 2.5: another major version is refused (a higher minor one is served: see VALID).
    ("http21", b"GET / HTTP/2.1\r\n" + H + b"\r\n", 505, []),
    ("http2_preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, []),
    ("http09_no_version", b"GET /\r\n\r\n", 400, []),
    ("version_lowercase", b"GET / http/1.1\r\n" + H + b"\r\n", 400, []),
    ("version_two_digits", b"GET / HTTP/1.10\r\n" + H + b"\r\n", 400, []),
    ("tab_request_line", b"GET\t/ HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("space_after_version", b"GET / HTTP/1.1 \r\n" + H + b"\r\n", 400, []),
    ("tls_handshake", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32)), 400, []),
    # Targets: RFC 9112 section 3.2.
    ("connect", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501, []),
    ("asterisk_with_get", b"GET * HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("authority_form_with_get", b"GET example.com:80 HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("relative_target", b"GET foo/bar HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("ftp_target", b"GET ftp://example.com/x HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("space_in_target", b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("control_in_target", b"GET /a\x01b HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("non_ascii_target", b"GET /caf\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    # Limits.
    ("request_line_too_long", get(long_target(8191)), 414, []),
    ("target_too_long", get("/" + "a" * 9000), 414, []),
    ("request_line_way_too_long", get("/" + "a" * 20_000), 414, []),
    ("too_many_fields", get("/", HUNDRED_HEADERS + b"X-One-Too-Many: 1\r\n"), 431, []),
    ("field_too_large", get("/", b"X-Long: " + b"v" * (8191 - len("x-long")) + b"\r\n"), 431, []),
    (
        "content_length_over_limit",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: %d\r\n\r\n" % (BODY_LIMIT + 1),
        413,
        [],
    ),
    (
        "chunked_over_limit",
        post_chunked(chunk(b"a" * (BODY_LIMIT // 2)) + chunk(b"b" * (BODY_LIMIT // 2 + 1)) + b"0\r\n\r\n"),
        413,
        [],
    ),
    # A good request first: it is still reported, the bad one after it is not.
    (
        "good_then_cl_and_te",
        get("/good") + b"POST /bad HTTP/1.1\r\n" + H + CL_TE + b"\r\n0\r\n\r\n",
        400,
        [req(target="/good")],
    ),
    (
        "good_post_then_obs_fold",
        b"POST /good HTTP/1.1\r\n" + H + b"Content-Length: 2\r\n\r\nok" + get("/bad", b"X: a\r\n b\r\n"),
        400,
        [req("POST", "/good", [HOST, ["content-length", "2"]], b"ok", content_length=2)],
    ),
    (
        "good_chunked_then_http20",
        post_chunked(b"2\r\nok\r\n0\r\n\r\n") + b"GET / HTTP/2.0\r\n" + H + b"\r\n",
        505,
        [chunked_req(b"ok")],
    ),
    (
        "good_then_too_many_fields",
        get("/good") + get("/bad", HUNDRED_HEADERS + b"X-One-Too-Many: 1\r\n"),
        431,
        [req(target="/good")],
    ),
    # llhttp knows a fixed list of methods and cannot tell another token from garbage: 400 on both.
    ("method_unknown", b"BREW /pot HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("method_lowercase", b"get / HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    (
        "te_gzip_then_chunked",
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        501,
        [],
    ),
    ("chunk_size_17_digits", post_chunked(b"10000000000000000\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("trailer_bare_lf_terminator", post_chunked(b"0\r\nX-T: 1\r\n\n"), 400, []),
    # Content-Length: RFC 9112 section 6.3 (1*DIGIT, one value, nothing else).
    ("content_length_inner_space_5_0", post_cl(b"hello", b"5 0"), 400, []),
    ("content_length_inner_tab", post_cl(b"hello", b"5\t0"), 400, []),
    ("content_length_underscore", post_cl(b"0123456789", b"1_0"), 400, []),
    ("content_length_arabic_indic_digit", post_cl(b"hello", "\u0665".encode()), 400, []),
    ("content_length_fullwidth_digit", post_cl(b"hello", "\uff15".encode()), 400, []),
    ("content_length_list_no_space", post_cl(b"hello", b"5,5"), 400, []),
    ("content_length_list_differing", post_cl(b"hello", b"5, 6"), 400, []),
    ("content_length_hex_upper", post_cl(b"hello", b"0X5"), 400, []),
    ("content_length_exponent", post_cl(b"hello", b"5e0"), 400, []),
    ("content_length_decimal", post_cl(b"hello", b"5.0"), 400, []),
    ("content_length_spaces_only", post_cl(b"", b"   "), 400, []),
    ("content_length_vertical_tab", post_cl(b"hello", b"5\x0b"), 400, []),
    ("content_length_nul", post_cl(b"hello", b"5\x00"), 400, []),
    ("content_length_2_pow_64", post_cl(b"", b"18446744073709551621"), 400, []),
    ("content_length_two_fields_apart", post_cl(b"hello", b"5\r\nX-A: 1\r\nContent-Length: 5"), 400, []),
    # Content-Length with Transfer-Encoding, however they are spread out.
    (
        "cl_and_te_apart",
        b"POST / HTTP/1.1\r\n"
        + H
        + b"Content-Length: 5\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        [],
    ),
    (
        "te_then_cl_second_te",
        post_chunked(b"0\r\n\r\n", b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
        400,
        [],
    ),
    (
        "cl_and_te_zero",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        [],
    ),
    (
        "cl_and_te_gzip",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\nhello",
        400,
        [],
    ),
    (
        "te_and_cl_http10",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello",
        400,
        [],
    ),
    (
        "cl_te_smuggle_classic",
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
        400,
        [],
    ),
    # Transfer-Encoding: RFC 9112 section 6.1 (chunked once, last; other codings are 501).
    ("te_chunked_then_gzip_field", post_chunked(b"0\r\n\r\n", b"Transfer-Encoding: gzip\r\n"), 400, []),
    (
        "te_chunked_then_identity_field",
        post_chunked(b"0\r\n\r\n", b"Transfer-Encoding: identity\r\n"),
        400,
        [],
    ),
    (
        "te_gzip_field_then_chunked_field",
        b"POST / HTTP/1.1\r\n"
        + H
        + b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        501,
        [],
    ),
    ("te_trailing_comma", post_chunked(b"0\r\n\r\n").replace(b"chunked", b"chunked,"), 400, []),
    ("te_leading_comma", post_chunked(b"0\r\n\r\n").replace(b"chunked", b", chunked"), 400, []),
    ("te_chunked_with_parameter", post_chunked(b"0\r\n\r\n").replace(b"chunked", b"chunked;q=1"), 501, []),
    ("te_quoted_chunked", post_chunked(b"0\r\n\r\n").replace(b"chunked", b'"chunked"'), 501, []),
    ("te_vertical_tab", post_chunked(b"0\r\n\r\n").replace(b"chunked", b"\x0bchunked"), 400, []),
    (
        "te_space_before_colon",
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        400,
        [],
    ),
    (
        "te_deflate_compress",
        post_chunked(b"0\r\n\r\n").replace(b"chunked", b"deflate, compress, chunked"),
        501,
        [],
    ),
    ("te_http10_gzip", b"POST / HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n", 400, []),
    # Chunk sizes: RFC 9112 section 7.1 (1*HEXDIG, which must fit 64 bits here, as in llhttp).
    ("chunk_size_17_f", post_chunked(b"FFFFFFFFFFFFFFFF1\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_size_space_before", post_chunked(b" 5\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_size_tab_before", post_chunked(b"\t5\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_size_space_after", post_chunked(b"5 \r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_size_tab_after", post_chunked(b"5\t\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_size_plus", post_chunked(b"+5\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_size_underscore", post_chunked(b"0_5\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_size_0X", post_chunked(b"0X5\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_size_fullwidth", post_chunked("\uff15\r\nhello\r\n0\r\n\r\n".encode()), 400, []),
    ("last_chunk_size_empty", post_chunked(b"5\r\nhello\r\n\r\n\r\n"), 400, []),
    ("chunk_size_nul", post_chunked(b"5\x00\r\nhello\r\n0\r\n\r\n"), 400, []),
    # Chunk data and its CRLF.
    ("chunk_data_longer_by_one", post_chunked(b"5\r\nhello!\r\n0\r\n\r\n"), 400, []),
    ("chunk_data_shorter", post_chunked(b"6\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_data_no_crlf_then_chunk", post_chunked(b"5\r\nhello5\r\nworld\r\n0\r\n\r\n"), 400, []),
    ("chunk_data_bare_cr", post_chunked(b"5\r\nhello\r0\r\n\r\n"), 400, []),
    ("chunk_data_lf_cr", post_chunked(b"5\r\nhello\n\r0\r\n\r\n"), 400, []),
    (
        "chunk_data_smuggle_in_missing_crlf",
        post_chunked(b"5\r\nhelloGET /smuggled HTTP/1.1\r\n" + H + b"\r\n"),
        400,
        [],
    ),
    # Bare CR / bare LF in chunk-size lines and trailers.
    ("chunk_size_bare_cr", post_chunked(b"5\rhello\r\n0\r\n\r\n"), 400, []),
    ("last_chunk_bare_cr", post_chunked(b"5\r\nhello\r\n0\r\r\n"), 400, []),
    ("last_chunk_lf_only", post_chunked(b"0\n\n"), 400, []),
    ("trailer_end_bare_cr", post_chunked(b"0\r\n\rX"), 400, []),
    ("trailer_field_bare_lf", post_chunked(b"0\r\nX-T: 1\nX-U: 2\r\n\r\n"), 400, []),
    ("trailer_field_bare_cr", post_chunked(b"0\r\nX-T: 1\rX-U: 2\r\n\r\n"), 400, []),
    ("trailer_obs_fold", post_chunked(b"0\r\nX-T: 1\r\n 2\r\n\r\n"), 400, []),
    ("trailer_first_line_space", post_chunked(b"0\r\n X-T: 1\r\n\r\n"), 400, []),
    ("trailer_space_before_colon", post_chunked(b"0\r\nX-T : 1\r\n\r\n"), 400, []),
    ("trailer_nul", post_chunked(b"0\r\nX-T: 1\x002\r\n\r\n"), 400, []),
    ("trailer_control", post_chunked(b"0\r\nX-T: a\x01b\r\n\r\n"), 400, []),
    ("trailer_del", post_chunked(b"0\r\nX-T: a\x7fb\r\n\r\n"), 400, []),
    # Trailer fields that would reframe the message or change the connection (RFC 9110 section 6.5.1).
    ("trailer_content_length", post_chunked(b"0\r\nContent-Length: 5\r\n\r\n"), 400, []),
    ("trailer_transfer_encoding", post_chunked(b"0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400, []),
    ("trailer_connection_close", post_chunked(b"0\r\nConnection: close\r\n\r\n") + get("/next"), 400, []),
    (
        "trailer_proxy_connection",
        post_chunked(b"0\r\nProxy-Connection: close\r\n\r\n") + get("/next"),
        400,
        [],
    ),
    ("trailer_upgrade", post_chunked(b"0\r\nUpgrade: h2c\r\n\r\n") + get("/next"), 400, []),
    # Chunk extensions: names are tokens, values tokens or quoted strings; no controls, no bare CR or LF.
    ("chunk_ext_nul_value", post_chunked(b"5;a=\x00\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_ext_del_value", post_chunked(b"5;a=\x7f\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_ext_nul_name", post_chunked(b"5;\x00\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_ext_del_name", post_chunked(b"5;a\x7f\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_ext_quoted_nul", post_chunked(b'5;a="\x00"\r\nhello\r\n0\r\n\r\n'), 400, []),
    ("chunk_ext_quoted_del", post_chunked(b'5;a="\x7f"\r\nhello\r\n0\r\n\r\n'), 400, []),
    ("chunk_ext_bare_cr", post_chunked(b"5;a=b\rc\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_ext_bare_lf", post_chunked(b"5;a=b\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_ext_quoted_bare_cr", post_chunked(b'5;a="b\rc"\r\nhello\r\n0\r\n\r\n'), 400, []),
    ("chunk_ext_last_chunk_nul", post_chunked(b"5\r\nhello\r\n0;a\x00\r\n\r\n"), 400, []),
    ("chunk_ext_raw_non_ascii", post_chunked(b"5;a=\xff\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_ext_tab_value", post_chunked(b"5;a=\tb\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_ext_empty", post_chunked(b"5;\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_ext_trailing_semicolon", post_chunked(b"5;a;\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_ext_quoted_then_token", post_chunked(b'5;a="b"c\r\nhello\r\n0\r\n\r\n'), 400, []),
    ("chunk_ext_two_equals", post_chunked(b"5;a==b\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_ext_unterminated_quote", post_chunked(b'5;a="b\r\nhello\r\n0\r\n\r\n'), 400, []),
    # BWS around ";" and "=" (RFC 9112 section 7.1.1 allows it; llhttp refuses it, and so do we).
    ("chunk_ext_space_after_semicolon", post_chunked(b"5; a=b\r\nhello\r\n0\r\n\r\n"), 400, []),
    ("chunk_ext_space_around_equals", post_chunked(b"5;a = b\r\nhello\r\n0\r\n\r\n"), 400, []),
    # The head: bare CR, whitespace and controls in names, invalid bytes in values and targets.
    ("bare_cr_end_of_head", b"GET / HTTP/1.1\r\n" + H + b"\r\r\n", 400, []),
    ("bare_cr_end_of_request_line", b"GET / HTTP/1.1\r\r\n" + H + b"\r\n", 400, []),
    ("bare_cr_in_target", b"GET /\r HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("bare_cr_end_of_field", get("/", b"X-A: a\r\r\n"), 400, []),
    ("bare_lf_between_fields", get("/", b"X-A: 1\nX-B: 2\r\n"), 400, []),
    ("tab_before_colon", b"GET / HTTP/1.1\r\nHost\t: example.com\r\n\r\n", 400, []),
    ("space_in_field_name", get("/", b"X Y: 1\r\n"), 400, []),
    ("nul_in_field_name", get("/", b"X\x00Y: 1\r\n"), 400, []),
    ("control_in_field_name", get("/", b"X\x01Y: 1\r\n"), 400, []),
    ("del_in_field_name", get("/", b"X\x7fY: 1\r\n"), 400, []),
    ("non_ascii_field_name", get("/", b"X\xffY: 1\r\n"), 400, []),
    ("cr_in_field_name", get("/", b"X\rY: 1\r\n"), 400, []),
    ("nul_at_end_of_value", get("/", b"X-A: a\x00\r\n"), 400, []),
    ("vertical_tab_in_value", get("/", b"X-A: a\x0bb\r\n"), 400, []),
    ("nul_in_target", b"GET /a\x00b HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("del_in_target", b"GET /a\x7fb HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("tab_in_target", b"GET /a\tb HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("non_ascii_byte_in_target", b"GET /\xff HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("space_in_query", b"GET /?a=b c HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    # Host: exactly one, of the form uri-host [ ":" port ] (RFC 9112 section 3.2, RFC 9110 section 7.2).
    ("host_with_space", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, []),
    ("host_with_slash", b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, []),
    ("host_with_userinfo", b"GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400, []),
    ("host_with_bad_port", b"GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", 400, []),
    ("host_with_two_ports", b"GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", 400, []),
    ("host_list", b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 400, []),
    ("host_with_query", b"GET / HTTP/1.1\r\nHost: a?b\r\n\r\n", 400, []),
    ("host_with_fragment", b"GET / HTTP/1.1\r\nHost: a#b\r\n\r\n", 400, []),
    ("host_with_backslash", b"GET / HTTP/1.1\r\nHost: a\\b\r\n\r\n", 400, []),
    ("host_bad_percent", b"GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400, []),
    ("host_raw_non_ascii", b"GET / HTTP/1.1\r\nHost: caf\xc3\xa9.example\r\n\r\n", 400, []),
    ("host_ipv6_unclosed", b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400, []),
    ("host_nul", b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", 400, []),
    ("host_two_same", b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, []),
    ("host_two_http10", b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400, []),
    ("host_invalid_http10", b"GET / HTTP/1.0\r\nHost: a b\r\n\r\n", 400, []),
    ("host_invalid_absolute_form", b"GET http://a/ HTTP/1.1\r\nHost: a b\r\n\r\n", 400, []),
    # Methods: tokens, case-sensitive, from llhttp's list (see method_unknown).
    ("method_mixed_case", b"Get / HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("method_non_token", b"G(T / HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("method_at_sign", b"GE@T / HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("method_empty", b" / HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("method_nul", b"GET\x00 / HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("method_known_prefix", b"GETX / HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("method_non_ascii", b"G\xc3\x89T / HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    # Versions: RFC 9112 section 2.3 (HTTP-version = "HTTP/" DIGIT "." DIGIT); other majors are 505.
    ("http2_no_minor", b"GET / HTTP/2\r\n" + H + b"\r\n", 400, []),
    ("http30", b"GET / HTTP/3.0\r\n" + H + b"\r\n", 505, []),
    ("http09_version", b"GET / HTTP/0.9\r\n" + H + b"\r\n", 400, []),
    ("version_trailing_garbage", b"GET / HTTP/1.1x\r\n" + H + b"\r\n", 400, []),
    ("version_leading_zero", b"GET / HTTP/01.1\r\n" + H + b"\r\n", 400, []),
    ("version_no_minor", b"GET / HTTP/1\r\n" + H + b"\r\n", 400, []),
    ("version_no_minor_digit", b"GET / HTTP/1.\r\n" + H + b"\r\n", 400, []),
    ("version_space_inside", b"GET / HTTP /1.1\r\n" + H + b"\r\n", 400, []),
    ("version_https", b"GET / HTTPS/1.1\r\n" + H + b"\r\n", 400, []),
    ("version_empty", b"GET / \r\n" + H + b"\r\n", 400, []),
    ("http09_with_header", b"GET /\r\n" + H + b"\r\n", 400, []),
    ("http09_bare_lf", b"GET /\n\r\n", 400, []),
    ("te_chunked_then_tab", post_chunked(b"0\r\n\r\n").replace(b"chunked", b"chunked\t"), 400, []),
    ("absolute_form_bad_authority", b"GET http://<xample.com/ HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    (
        "absolute_form_fragment_after_authority",
        b"GET http://example.com#f HTTP/1.1\r\n" + H + b"\r\n",
        400,
        [],
    ),
    ("absolute_form_userinfo", b"GET http://user@example.com/ HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("absolute_form_empty_host", b"GET http:///x HTTP/1.1\r\n" + H + b"\r\n", 400, []),
    ("control_in_te_value", post_chunked(b"0\r\n\r\n").replace(b"chunked", b"\x7f chunked"), 400, []),
    # Not DIGIT "." DIGIT (RFC 9112 section 2.3): malformed, not an unsupported version.
    ("version_three_digits", b"GET / HTTP/1.51\r\n" + H + b"\r\n", 400, []),
    # A complete request behind a bad one is never reached.
    ("bad_chunk_then_request", post_chunked(b"5 \r\nhello\r\n0\r\n\r\n") + get("/smuggled"), 400, []),
]


def write_case(directory: Path, number: int, name: str, data: bytes, expected: dict[str, Any]) -> None:
    stem = f"{number:03d}_{name}"
    (directory / f"{stem}.http").write_bytes(data)
    (directory / f"{stem}.json").write_text(json.dumps(expected, indent=1) + "\n", encoding="utf-8")


def main() -> int:
    for kind in ("valid", "invalid"):
        directory = HERE / kind
        directory.mkdir(exist_ok=True)
        for old in [*directory.glob("*.http"), *directory.glob("*.json")]:
            old.unlink()
    for number, (name, data, requests) in enumerate(VALID, 1):
        write_case(HERE / "valid", number, name, data, {"requests": requests})
    for number, (name, data, status, before) in enumerate(INVALID, 1):
        write_case(HERE / "invalid", number, name, data, {"status": status, "requests": before})
    return 0


if __name__ == "__main__":
    sys.exit(main())
