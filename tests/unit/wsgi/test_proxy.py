"""Proxy headers count only from trusted peers, and only the hops trusted proxies added."""

from __future__ import annotations

from typing import Any

import pytest

from aiowsgi.trusted import TrustedProxies
from aiowsgi.wsgi.proxy import apply_proxy_headers

LOCAL = TrustedProxies(["127.0.0.1", "unix"])


def environ(**headers: str) -> dict[str, Any]:
    base: dict[str, Any] = {
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "5000",
        "SERVER_PORT": "8000",
        "SCRIPT_NAME": "",
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "internal:8000",
    }
    base.update({"HTTP_" + name.upper(): value for name, value in headers.items()})
    return base


@pytest.mark.parametrize(
    ("entries", "peer", "trusted"),
    [
        (["127.0.0.1"], ("127.0.0.1", 1), True),
        (["127.0.0.1"], ("127.0.0.2", 1), False),
        (["10.0.0.0/8"], ("10.1.2.3", 1), True),
        (["10.0.0.0/8"], ("11.0.0.1", 1), False),
        (["::1"], ("::1", 1, 0, 0), True),
        (["127.0.0.1"], ("::ffff:127.0.0.1", 1, 0, 0), True),
        (["fd00::/8"], ("fd12::1", 1, 0, 0), True),
        (["*"], ("203.0.113.9", 1), True),
        (["unix"], "/run/app.sock", True),
        (["unix"], "", True),
        (["127.0.0.1"], "/run/app.sock", False),
        ([], ("127.0.0.1", 1), False),
    ],
)
def test_who_is_trusted(entries: list[str], peer: Any, trusted: bool) -> None:
    assert TrustedProxies(entries).trusts_peer(peer) is trusted


def test_bad_entry_is_refused() -> None:
    with pytest.raises(ValueError, match="nonsense"):
        TrustedProxies(["nonsense"])


def test_x_forwarded_headers_from_one_proxy() -> None:
    env = environ(
        x_forwarded_for="203.0.113.9",
        x_forwarded_proto="https",
        x_forwarded_host="example.com",
        x_forwarded_port="443",
        x_forwarded_prefix="/app/",
    )
    apply_proxy_headers(env, LOCAL)
    assert env["REMOTE_ADDR"] == "203.0.113.9"
    assert env["wsgi.url_scheme"] == "https"
    assert env["HTTP_HOST"] == "example.com"
    assert env["SERVER_PORT"] == "443"
    assert env["SCRIPT_NAME"] == "/app"


def test_the_client_is_the_rightmost_untrusted_hop() -> None:
    # The client wrote "1.1.1.1" itself; the trusted proxy at 10.0.0.2 appended the real client, then the
    # load balancer 10.0.0.1 (also trusted) connected to us.
    trusted = TrustedProxies(["127.0.0.1", "10.0.0.0/8"])
    env = environ(x_forwarded_for="1.1.1.1, 198.51.100.7, 10.0.0.2")
    apply_proxy_headers(env, trusted)
    assert env["REMOTE_ADDR"] == "198.51.100.7"


def test_all_hops_trusted_gives_the_leftmost() -> None:
    env = environ(x_forwarded_for="127.0.0.1, 127.0.0.1")
    apply_proxy_headers(env, LOCAL)
    assert env["REMOTE_ADDR"] == "127.0.0.1"


def test_rfc_7239_forwarded_wins_over_x_forwarded() -> None:
    env = environ(
        forwarded='for="[2001:db8::7]:4711";proto=https;host=example.org, for=127.0.0.1',
        x_forwarded_for="192.0.2.1",
        x_forwarded_proto="http",
    )
    apply_proxy_headers(env, LOCAL)
    assert env["REMOTE_ADDR"] == "2001:db8::7"
    assert env["wsgi.url_scheme"] == "https"
    assert env["HTTP_HOST"] == "example.org"


@pytest.mark.parametrize("scheme", ["ftp", "javascript", ""])
def test_only_http_schemes_are_taken(scheme: str) -> None:
    env = environ(x_forwarded_proto=scheme)
    apply_proxy_headers(env, LOCAL)
    assert env["wsgi.url_scheme"] == "http"


def test_obfuscated_or_unknown_clients_leave_the_address() -> None:
    env = environ(forwarded="for=unknown")
    apply_proxy_headers(env, LOCAL)
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    env = environ(forwarded="for=_hidden")
    apply_proxy_headers(env, LOCAL)
    assert env["REMOTE_ADDR"] == "127.0.0.1"


def test_non_numeric_port_is_ignored() -> None:
    env = environ(x_forwarded_port="443; evil")
    apply_proxy_headers(env, LOCAL)
    assert env["SERVER_PORT"] == "8000"
