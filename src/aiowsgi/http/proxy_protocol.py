"""The PROXY protocol header (HAProxy's, versions 1 and 2), sans-I/O: bytes in, the client's address out.

A load balancer in TCP mode (HAProxy with `send-proxy`, AWS NLB with proxy protocol v2) opens each
connection with one header that says whom it is relaying, then passes the client's bytes through untouched.
https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt is the specification.

`parse_proxy_header(data)` looks at the first bytes of a connection and returns `NEED_MORE` until the header
is complete, then a `ProxyHeader` whose `length` says how many bytes it took (what follows is the
request); anything that is not a well-formed header raises `ProtocolError`. It never asks for more than
`MAX_HEADER` bytes, so a caller that buffers until it has an answer buffers at most that much.
`signature(data)` only says whether the bytes start like a header, for peers whose header is not to be
believed.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

from ..errors import ProtocolError

V1_SIGNATURE = b"PROXY "
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
# "PROXY TCP6 " + two full IPv6 addresses + two ports + spaces + CRLF: the longest line the spec allows.
V1_MAX = 107
V2_FIXED = 16  # signature, version/command, family/protocol, length
# The spec allows 64 KiB of addresses and TLVs. The addresses take at most 216 bytes (two unix paths);
# the rest is TLVs, which we ignore: HAProxy sends none unless told to (proxy-v2-options), and AWS NLB's
# are a few dozen bytes. A proxy that sends more than this is misconfigured for us, and refusing it keeps
# what one half-open connection can make us hold to about a kilobyte.
V2_MAX_LENGTH = 1024
MAX_HEADER = V2_FIXED + V2_MAX_LENGTH

_V2_LOCAL = 0x20
_V2_PROXY = 0x21
_V2_UNSPEC = 0x00
_V2_TCP4 = 0x11
_V2_TCP6 = 0x21
_V2_ADDRESS_LENGTH = {_V2_TCP4: 12, _V2_TCP6: 36}


class NeedMore(enum.Enum):
    NEED_MORE = "need more"


NEED_MORE = NeedMore.NEED_MORE


@dataclass(frozen=True, slots=True)
class ProxyHeader:
    """A complete header. `source` is None when the header says nothing about the client (v1 UNKNOWN, v2
    LOCAL, a v2 family other than TCP over IPv4/IPv6): the connection's own peer is then the client."""

    version: int
    length: int  # bytes of the connection the header took
    source: tuple[str, int] | None = None
    destination: tuple[str, int] | None = None


def signature(data: bytes) -> int | None:
    """1 or 2 if `data` starts with that version's signature, 0 if it cannot, None if too short to tell."""
    for version, sig in ((1, V1_SIGNATURE), (2, V2_SIGNATURE)):
        if data.startswith(sig):
            return version
        if sig.startswith(data[: len(sig)]):
            return None
    return 0


def parse_proxy_header(data: bytes) -> ProxyHeader | NeedMore:
    """The header `data` starts with, or NEED_MORE; raises ProtocolError if it is not a valid one."""
    version = signature(data)
    if version is None:
        return NEED_MORE
    if version == 1:
        return _parse_v1(data)
    if version == 2:
        return _parse_v2(data)
    raise ProtocolError("the connection does not start with a PROXY protocol header")


def _parse_v1(data: bytes) -> ProxyHeader | NeedMore:
    end = data.find(b"\r\n", 0, V1_MAX)
    if end < 0:
        if len(data) >= V1_MAX:
            raise ProtocolError(f"PROXY v1 header longer than {V1_MAX} bytes")
        if b"\n" in data or b"\r" in data[:-1]:
            raise ProtocolError("PROXY v1 header with a bare CR or LF")
        return NEED_MORE
    length = end + 2
    try:
        line = data[len(V1_SIGNATURE) : end].decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("PROXY v1 header is not ASCII") from None
    parts = line.split(" ")
    if parts[0] == "UNKNOWN":
        return ProxyHeader(1, length)  # the rest of the line is to be ignored, says the spec
    if len(parts) != 5 or parts[0] not in ("TCP4", "TCP6"):
        raise ProtocolError(f"PROXY v1 header is malformed: {line[:60]!r}")
    family, src, dst, sport, dport = parts
    kind = ipaddress.IPv4Address if family == "TCP4" else ipaddress.IPv6Address
    try:
        if "%" in src or "%" in dst:  # no scoped IPv6 addresses
            raise ValueError
        source_ip, destination_ip = kind(src), kind(dst)
    except ValueError:
        raise ProtocolError(f"PROXY v1 header has a bad {family} address: {line[:60]!r}") from None
    return ProxyHeader(1, length, (str(source_ip), _v1_port(sport)), (str(destination_ip), _v1_port(dport)))


def _v1_port(text: str) -> int:
    # Decimal, 0-65535, without leading zeros or signs (int() alone would take "+80", " 80", "0080").
    if not (text.isdigit() and len(text) <= 5 and (text == "0" or text[0] != "0")) or int(text) > 65535:
        raise ProtocolError(f"PROXY v1 header has a bad port: {text[:8]!r}")
    return int(text)


def _parse_v2(data: bytes) -> ProxyHeader | NeedMore:
    if len(data) < V2_FIXED:
        return NEED_MORE
    command, family = data[12], data[13]
    length = int.from_bytes(data[14:16], "big")
    if command not in (_V2_LOCAL, _V2_PROXY):
        raise ProtocolError(f"PROXY v2 header with an unknown version/command byte 0x{command:02x}")
    if length > V2_MAX_LENGTH:
        raise ProtocolError(f"PROXY v2 header of {length} bytes, over our limit of {V2_MAX_LENGTH}")
    total = V2_FIXED + length
    if len(data) < total:
        return NEED_MORE
    if command == _V2_LOCAL:
        return ProxyHeader(2, total)  # the proxy's own connection (a health check): no client to report
    need = _V2_ADDRESS_LENGTH.get(family)
    if need is None:
        if family >> 4 > 3 or family & 0x0F > 2:
            raise ProtocolError(f"PROXY v2 header with an unknown family/protocol byte 0x{family:02x}")
        return ProxyHeader(2, total)  # UNSPEC, unix sockets, UDP: nothing that makes a TCP peer address
    if length < need:
        raise ProtocolError(f"PROXY v2 header of {length} bytes is too short for its addresses")
    body = data[V2_FIXED:total]
    if family == _V2_TCP4:
        src: str = str(ipaddress.IPv4Address(body[0:4]))
        dst: str = str(ipaddress.IPv4Address(body[4:8]))
        ports = body[8:12]
    else:
        src = str(ipaddress.IPv6Address(body[0:16]))
        dst = str(ipaddress.IPv6Address(body[16:32]))
        ports = body[32:36]
    sport, dport = int.from_bytes(ports[0:2], "big"), int.from_bytes(ports[2:4], "big")
    return ProxyHeader(2, total, (src, sport), (dst, dport))
