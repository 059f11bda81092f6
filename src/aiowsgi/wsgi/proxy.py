"""Proxy headers from trusted peers: who the client really is, and how it reached the proxy.

A reverse proxy says, in headers, what the application cannot see from the connection: the client's address
(X-Forwarded-For, or RFC 7239 Forwarded "for="), the scheme (X-Forwarded-Proto, "proto="), the host and port
the client used (X-Forwarded-Host, X-Forwarded-Port, "host="), and the path prefix it strips
(X-Forwarded-Prefix). Any client can send these headers, so they count only when the connection comes from a
trusted proxy (--forwarded-allow-ips), and in a chain of proxies only the hops the trusted ones added count:
the client is the rightmost address that is not itself a trusted proxy (everything left of it could have
been written by the client).
"""

from __future__ import annotations

from .._types import Environ
from ..trusted import TrustedProxies


def apply_proxy_headers(environ: Environ, trusted: TrustedProxies) -> None:
    """Rewrite the environ from the proxy headers of a request that came through a trusted proxy.

    Forwarded (RFC 7239) wins over the X-Forwarded-* headers when both are present.
    """
    forwarded = environ.get("HTTP_FORWARDED")
    if forwarded is not None:
        hops = [_forwarded_element(element) for element in forwarded.split(",")]
        client = _client_hop(hops, trusted, "for")
        if client is not None:
            _set_client(environ, _unquote_node(client.get("for", "")))
            _set_scheme(environ, client.get("proto"))
            _set_host(environ, client.get("host"))
        return
    forwarded_for = environ.get("HTTP_X_FORWARDED_FOR")
    if forwarded_for is not None:
        addresses = [{"for": part.strip()} for part in forwarded_for.split(",")]
        client = _client_hop(addresses, trusted, "for")
        if client is not None:
            _set_client(environ, client["for"])
    _set_scheme(environ, _last(environ.get("HTTP_X_FORWARDED_PROTO")))
    _set_host(environ, _last(environ.get("HTTP_X_FORWARDED_HOST")))
    port = _last(environ.get("HTTP_X_FORWARDED_PORT"))
    if port is not None and port.isdigit():
        environ["SERVER_PORT"] = port
    prefix = _last(environ.get("HTTP_X_FORWARDED_PREFIX"))
    if prefix:
        environ["SCRIPT_NAME"] = "/" + prefix.strip("/") + environ["SCRIPT_NAME"]


def _client_hop(hops: list[dict[str, str]], trusted: TrustedProxies, key: str) -> dict[str, str] | None:
    """The rightmost hop whose address is not a trusted proxy's (the leftmost if all are)."""
    for hop in reversed(hops):
        if not trusted.trusts_address(_unquote_node(hop.get(key, ""))):
            return hop
    return hops[0] if hops else None


def _forwarded_element(element: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for pair in element.split(";"):
        name, sep, value = pair.partition("=")
        if sep:
            pairs[name.strip().lower()] = value.strip().strip('"')
    return pairs


def _unquote_node(node: str) -> str:
    """RFC 7239 node: '192.0.2.1', '192.0.2.1:80', '[2001:db8::1]:80' -> the address alone."""
    if node.startswith("["):
        return node[1 : node.find("]")] if "]" in node else node
    if node.count(":") == 1:
        return node.partition(":")[0]
    return node


def _last(value: str | None) -> str | None:
    """The value the nearest proxy added, when several proxies appended theirs."""
    if value is None:
        return None
    return value.rpartition(",")[2].strip() or None


def _set_client(environ: Environ, address: str) -> None:
    if address and address.lower() != "unknown" and not address.startswith("_"):
        environ["REMOTE_ADDR"] = address
        environ["REMOTE_PORT"] = ""


def _set_scheme(environ: Environ, scheme: str | None) -> None:
    if scheme is not None and scheme.lower() in ("http", "https"):
        environ["wsgi.url_scheme"] = scheme.lower()


def _set_host(environ: Environ, host: str | None) -> None:
    if host:
        environ["HTTP_HOST"] = host
