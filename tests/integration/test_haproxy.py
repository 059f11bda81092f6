"""--proxy-protocol behind a real HAProxy (tcp mode, send-proxy and send-proxy-v2), and over raw sockets.

HAProxy comes from the system's packages (Debian: `apt-get install haproxy`; .ci/run installs it); where it
is not installed, the HAProxy tests are skipped and say so. The client connects from 127.0.0.2, so that the
address HAProxy reports differs from HAProxy's own (127.0.0.1, a trusted proxy by default).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration._http_helpers import error_lines
from tests.support import TIMEOUT, ResponseReader, free_port, get, running_server, wait_for_port

HAPROXY = shutil.which("haproxy")
needs_haproxy = pytest.mark.skipif(
    HAPROXY is None, reason="haproxy is not installed (Debian: apt-get install haproxy; CI installs it)"
)

# docs/deployment.md shows this configuration, filled in with DOC_PORTS (test_the_documented_config_*).
HAPROXY_CONFIG = """\
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s

frontend via_proxy_v1
    bind 127.0.0.1:{v1_port}
    default_backend aiowsgi_v1

frontend via_proxy_v2
    bind 127.0.0.1:{v2_port}
    default_backend aiowsgi_v2

backend aiowsgi_v1
    server s1 127.0.0.1:{server_port} send-proxy

backend aiowsgi_v2
    server s1 127.0.0.1:{server_port} send-proxy-v2
"""
DOC_PORTS = {"v1_port": 8081, "v2_port": 8082, "server_port": 8000}
CLIENT_ADDRESS = "127.0.0.2"
KEYS = ("REMOTE_ADDR", "REMOTE_PORT", "SERVER_PORT", "PATH_INFO")


def environ_echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = json.dumps({key: environ.get(key) for key in KEYS}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


@contextlib.contextmanager
def running_haproxy(tmp_path: Path, server_port: int) -> Iterator[dict[str, int]]:
    """HAProxy in the foreground with HAPROXY_CONFIG, until every frontend accepts connections."""
    assert HAPROXY is not None
    ports = {"v1_port": free_port(), "v2_port": free_port(), "server_port": server_port}
    config = tmp_path / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(**ports))
    log = (tmp_path / "haproxy.log").open("w+")
    process = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        for port in (ports["v1_port"], ports["v2_port"]):
            problem = wait_for_port(port, process)
            if problem is not None:
                log.seek(0)
                pytest.fail(f"haproxy {problem}:\n{log.read()}")
        yield ports
    finally:
        process.terminate()
        try:
            process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def connect_from(address: str, port: int) -> socket.socket:
    sock = socket.socket()
    sock.settimeout(TIMEOUT)
    sock.bind((address, 0))
    sock.connect(("127.0.0.1", port))
    return sock


@needs_haproxy
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_remote_addr_is_the_client_behind_haproxy(tmp_path: Path, version: str, parser_backend: str) -> None:
    with (
        running_server(environ_echo, http=parser_backend, proxy_protocol=True) as server,
        running_haproxy(tmp_path, server.port) as ports,
    ):
        frontend = ports[f"{version}_port"]
        with connect_from(CLIENT_ADDRESS, frontend) as sock:
            client_port = sock.getsockname()[1]
            reader = ResponseReader(sock)
            seen = []
            for path in ("/one", "/two", "/three"):  # keep-alive through HAProxy
                sock.sendall(get(path))
                response = reader.read_response()
                assert response.status == 200
                seen.append(json.loads(response.body))
    assert seen == [
        {
            "REMOTE_ADDR": CLIENT_ADDRESS,
            "REMOTE_PORT": str(client_port),
            "SERVER_PORT": str(frontend),
            "PATH_INFO": path,
        }
        for path in ("/one", "/two", "/three")
    ]


def test_the_documented_config_is_the_tested_one() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "deployment.md").read_text()
    assert HAPROXY_CONFIG.format(**DOC_PORTS) in docs


# Raw sockets: what a trusted peer and an untrusted one may send.

V1 = b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n"
V2_LOCAL = b"\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00"


def send_and_read_all(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        parts = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                parts.append(chunk)
        return b"".join(parts)


@pytest.fixture
def error_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="aiowsgi.error")
    return caplog


def test_header_from_a_trusted_peer_byte_by_byte() -> None:
    with running_server(environ_echo, proxy_protocol=True) as server:
        with server.connect() as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for byte in V1:
                sock.send(bytes([byte]))
                time.sleep(0.001)
            sock.sendall(get("/", extra="Connection: close\r\n"))
            seen = json.loads(ResponseReader(sock).read_response().body)
    assert seen["REMOTE_ADDR"] == "192.0.2.7"
    assert seen["REMOTE_PORT"] == "56324"
    assert seen["SERVER_PORT"] == "443"


def test_v2_local_keeps_the_real_peer() -> None:
    with running_server(environ_echo, proxy_protocol=True) as server:
        reply = send_and_read_all(server.port, V2_LOCAL + get("/", extra="Connection: close\r\n"))
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert json.loads(reply.partition(b"\r\n\r\n")[2])["REMOTE_ADDR"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("data", "logged"),
    [
        (b"PROXY TCP4 192.0.2.7 198.51.100.1 99999 443\r\n" + get("/"), "bad port"),
        (b"PROXY TCP4 nonsense\r\n" + get("/"), "malformed"),
        (get("/"), "does not start with a PROXY protocol header"),  # a trusted peer must send one
    ],
)
def test_malformed_header_from_a_trusted_peer_closes(
    error_log: pytest.LogCaptureFixture, data: bytes, logged: str
) -> None:
    with running_server(environ_echo, proxy_protocol=True) as server:
        assert send_and_read_all(server.port, data) == b""
    lines = error_lines(error_log)
    assert len(lines) == 1
    assert "expected a PROXY protocol header" in lines[0]
    assert logged in lines[0]


@pytest.mark.parametrize("header", [V1, V2_LOCAL])
def test_header_from_an_untrusted_peer_closes(error_log: pytest.LogCaptureFixture, header: bytes) -> None:
    with running_server(environ_echo, proxy_protocol=True, forwarded_allow_ips=()) as server:
        assert send_and_read_all(server.port, header + get("/")) == b""
    lines = error_lines(error_log)
    assert len(lines) == 1
    assert "header from a peer not in --forwarded-allow-ips" in lines[0]


def test_untrusted_peer_without_a_header_is_served_as_usual() -> None:
    with running_server(environ_echo, proxy_protocol=True, forwarded_allow_ips=()) as server:
        with server.connect() as sock:
            reader = ResponseReader(sock)
            for path in ("/a", "/b"):
                sock.sendall(get(path))
                seen = json.loads(reader.read_response().body)
                assert seen["REMOTE_ADDR"] == "127.0.0.1"
                assert seen["PATH_INFO"] == path
