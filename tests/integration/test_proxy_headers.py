"""Proxy headers over real sockets: believed from the trusted local proxy, ignored from anyone else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import get, request, running_server

KEYS = ("REMOTE_ADDR", "wsgi.url_scheme", "HTTP_HOST", "SERVER_PORT", "SCRIPT_NAME", "PATH_INFO")


def environ_echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = json.dumps({key: environ.get(key) for key in KEYS}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


HEADERS = (
    "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: example.com\r\n"
    "X-Forwarded-Port: 443\r\nX-Forwarded-Prefix: /app\r\n"
)


def test_headers_from_the_default_trusted_proxy_are_applied(parser_backend: str) -> None:
    with running_server(environ_echo, http=parser_backend) as server:
        seen = json.loads(request(server, get("/x", extra=HEADERS)).body)
    assert seen == {
        "REMOTE_ADDR": "203.0.113.9",
        "wsgi.url_scheme": "https",
        "HTTP_HOST": "example.com",
        "SERVER_PORT": "443",
        "SCRIPT_NAME": "/app",
        "PATH_INFO": "/x",
    }


@pytest.mark.parametrize("allowed", [(), ("10.0.0.0/8",)])
def test_headers_from_an_untrusted_peer_are_left_alone(allowed: tuple[str, ...]) -> None:
    with running_server(environ_echo, forwarded_allow_ips=allowed) as server:
        seen = json.loads(request(server, get("/x", extra=HEADERS)).body)
    assert seen["REMOTE_ADDR"] == "127.0.0.1"
    assert seen["wsgi.url_scheme"] == "http"
    assert seen["HTTP_HOST"] == "test"
    assert seen["SCRIPT_NAME"] == ""


def test_rfc_7239_forwarded(parser_backend: str) -> None:
    extra = 'Forwarded: for="[2001:db8::7]:4711";proto=https;host=example.org\r\n'
    with running_server(environ_echo, http=parser_backend) as server:
        seen = json.loads(request(server, get("/", extra=extra)).body)
    assert seen["REMOTE_ADDR"] == "2001:db8::7"
    assert seen["wsgi.url_scheme"] == "https"
    assert seen["HTTP_HOST"] == "example.org"


def test_bad_allow_list_is_a_config_error() -> None:
    from aiowsgi import Config, ConfigError

    with pytest.raises(ConfigError, match="forwarded_allow_ips"):
        Config(forwarded_allow_ips=("not-an-address",))
