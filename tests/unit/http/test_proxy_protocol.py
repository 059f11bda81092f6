"""The PROXY protocol header parser: v1 and v2, whole and a byte at a time, good and malformed."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from aiowsgi.errors import ProtocolError
from aiowsgi.http.proxy_protocol import (
    MAX_HEADER,
    NEED_MORE,
    V1_MAX,
    V2_MAX_LENGTH,
    V2_SIGNATURE,
    ProxyHeader,
    parse_proxy_header,
    signature,
)

REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def v2(command: int = 0x21, family: int = 0x11, body: bytes = b"", length: int | None = None) -> bytes:
    size = len(body) if length is None else length
    return V2_SIGNATURE + bytes([command, family]) + struct.pack("!H", size) + body


def v2_tcp4(src: str, sport: int, dst: str, dport: int, tlvs: bytes = b"") -> bytes:
    addresses = ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed
    return v2(body=addresses + struct.pack("!HH", sport, dport) + tlvs)


def v2_tcp6(src: str, sport: int, dst: str, dport: int) -> bytes:
    addresses = ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed
    return v2(family=0x21, body=addresses + struct.pack("!HH", sport, dport))


def feed_bytewise(data: bytes) -> ProxyHeader:
    """Feed a growing prefix one byte at a time, as a caller buffering reads would; NEED_MORE until done."""
    for end in range(1, len(data) + 1):
        result = parse_proxy_header(data[:end])
        if result is not NEED_MORE:
            assert isinstance(result, ProxyHeader)
            return result
    raise AssertionError("never complete")


GOOD = [
    (
        b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n",
        ProxyHeader(1, 45, ("192.0.2.7", 56324), ("198.51.100.1", 443)),
    ),
    (
        b"PROXY TCP6 2001:db8::7 2001:db8::1 65535 0\r\n",
        ProxyHeader(1, 44, ("2001:db8::7", 65535), ("2001:db8::1", 0)),
    ),
    (
        b"PROXY TCP6 2001:0db8:0000:0000:0000:0000:0000:0007 ::1 1 80\r\n",
        ProxyHeader(1, 61, ("2001:db8::7", 1), ("::1", 80)),
    ),
    (b"PROXY UNKNOWN\r\n", ProxyHeader(1, 15)),
    (b"PROXY UNKNOWN ffff:f...f:ffff 65535 65535\r\n", ProxyHeader(1, 43)),
    (
        v2_tcp4("192.0.2.7", 56324, "198.51.100.1", 443),
        ProxyHeader(2, 28, ("192.0.2.7", 56324), ("198.51.100.1", 443)),
    ),
    (
        v2_tcp4("192.0.2.7", 1, "198.51.100.1", 2, tlvs=b"\xea\x00\x03abc"),  # a TLV, skipped
        ProxyHeader(2, 34, ("192.0.2.7", 1), ("198.51.100.1", 2)),
    ),
    (
        v2_tcp6("2001:db8::7", 4711, "2001:db8::1", 8443),
        ProxyHeader(2, 52, ("2001:db8::7", 4711), ("2001:db8::1", 8443)),
    ),
    (v2(command=0x20, family=0x00), ProxyHeader(2, 16)),  # LOCAL: a health check, keep the real peer
    (v2(command=0x20, family=0x11, body=bytes(12)), ProxyHeader(2, 28)),  # LOCAL ignores its addresses
    (v2(family=0x00, body=b"xyz"), ProxyHeader(2, 19)),  # UNSPEC
    (v2(family=0x31, body=bytes(216)), ProxyHeader(2, 232)),  # unix sockets: no TCP address
]


@pytest.mark.parametrize(("data", "expected"), GOOD)
def test_good_headers(data: bytes, expected: ProxyHeader) -> None:
    assert expected.length == len(data)
    assert parse_proxy_header(data) == expected
    assert parse_proxy_header(data + REQUEST) == expected  # what follows is left to the caller
    assert feed_bytewise(data + REQUEST) == expected
    assert (data + REQUEST)[expected.length :] == REQUEST


def test_every_strict_prefix_needs_more() -> None:
    for data, _ in GOOD:
        for end in range(len(data)):
            assert parse_proxy_header(data[:end]) is NEED_MORE


BAD = [
    b"GET / HTTP/1.1\r\n\r\n",
    b"PRI * HTTP/2.0\r\n",
    b"\r\n\r\n\x00\r\nQUIX\n" + bytes(4),
    b"PROXY\r\n",
    b"PROXY TCP4 192.0.2.7 198.51.100.1 56324\r\n",
    b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 443 extra\r\n",
    b"PROXY TCP4  192.0.2.7 198.51.100.1 56324 443\r\n",
    b"PROXY TCP5 192.0.2.7 198.51.100.1 56324 443\r\n",
    b"proxy TCP4 192.0.2.7 198.51.100.1 56324 443\r\n",
    b"PROXY TCP4 2001:db8::7 198.51.100.1 56324 443\r\n",
    b"PROXY TCP6 192.0.2.7 2001:db8::1 56324 443\r\n",
    b"PROXY TCP4 192.0.2.256 198.51.100.1 56324 443\r\n",
    b"PROXY TCP4 192.0.2.07 198.51.100.1 56324 443\r\n",
    b"PROXY TCP6 fe80::1%eth0 2001:db8::1 56324 443\r\n",
    b"PROXY TCP4 192.0.2.7 198.51.100.1 65536 443\r\n",
    b"PROXY TCP4 192.0.2.7 198.51.100.1 0443 443\r\n",
    b"PROXY TCP4 192.0.2.7 198.51.100.1 +443 443\r\n",
    b"PROXY TCP4 192.0.2.7 198.51.100.1 -1 443\r\n",
    b"PROXY TCP4 192.0.2.7 198.51.100.1 \xd9\xa1 443\r\n",
    b"PROXY TCP4 192.0.2.7 198.51.100.1 1 443\n",
    b"PROXY TCP4 192.0.2.7\r198.51.100.1 1 443\r\n",
    b"PROXY UNKNOWN \xff\r\n",
    b"PROXY TCP6 " + b"f" * 100 + b"\r\n",  # no CRLF within 107 bytes
    v2(command=0x22),
    v2(command=0x11),
    v2(command=0x31),
    v2(family=0x41, body=bytes(12)),
    v2(family=0x13, body=bytes(12)),
    v2(family=0x11, body=bytes(11)),  # too short for its addresses
    v2(family=0x21, body=bytes(35)),
    v2(length=V2_MAX_LENGTH + 1),
    v2(length=65535),
]


@pytest.mark.parametrize("data", BAD)
def test_malformed_headers_raise(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_proxy_header(data + REQUEST)
    # Fed a byte at a time, each prefix either needs more or raises: nothing is ever accepted.
    with pytest.raises(ProtocolError):
        feed_bytewise(data + REQUEST)


def test_v1_is_bounded_without_a_line_end() -> None:
    data = b"PROXY UNKNOWN " + b"x" * 200
    assert parse_proxy_header(data[: V1_MAX - 1]) is NEED_MORE
    with pytest.raises(ProtocolError, match="longer than 107"):
        parse_proxy_header(data[:V1_MAX])


def test_v2_is_bounded() -> None:
    # The length field is read from the fixed part: an oversized header fails before its body arrives.
    with pytest.raises(ProtocolError, match="over our limit"):
        parse_proxy_header(v2(length=V2_MAX_LENGTH + 1))
    largest = v2(family=0x00, body=bytes(V2_MAX_LENGTH))
    assert len(largest) == MAX_HEADER
    assert parse_proxy_header(largest[:-1]) is NEED_MORE
    assert parse_proxy_header(largest) == ProxyHeader(2, MAX_HEADER)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", None),
        (b"P", None),
        (b"PROXY", None),
        (b"PROXY ", 1),
        (b"PROXY TCP4", 1),
        (b"\r\n", None),
        (b"\r\n\r\n\x00\r\nQUIT", None),
        (V2_SIGNATURE, 2),
        (b"G", 0),
        (b"POST", 0),
        (b"PRI", 0),
        (b"\r\n\r\nGET", 0),
        (b"PROXYX", 0),
    ],
)
def test_signature(data: bytes, expected: int | None) -> None:
    assert signature(data) == expected


def test_errors_are_only_protocol_errors() -> None:
    # The parser's contract: garbage raises ProtocolError or asks for more, never anything else.
    import random

    rng = random.Random(1234)
    starts = [b"PROXY ", b"PROXY TCP4 ", b"PROXY TCP6 ", V2_SIGNATURE, V2_SIGNATURE + b"\x21\x11"]
    alphabet = b"PROXYTCP46UNKNOW0123456789abcdef.: \r\n\x00\xff"
    for _ in range(3000):
        data = rng.choice(starts) + bytes(rng.choice(alphabet) for _ in range(rng.randrange(60)))
        try:
            result = parse_proxy_header(data)
        except ProtocolError:
            continue
        assert result is NEED_MORE or isinstance(result, ProxyHeader)
