"""HTTPS with real certificates (trustme) and a real TLS client, client certificates included."""

from __future__ import annotations

import json
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from aiowsgi import Config, ConfigError
from aiowsgi.config import config_secret_env, config_to_argv
from tests.support import ResponseReader, get, running_server


def scheme_echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = json.dumps({"scheme": environ["wsgi.url_scheme"], "path": environ["PATH_INFO"]}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_files(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("tls")
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = directory / "cert.pem", directory / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    for extra in leaf.cert_chain_pems[1:]:
        extra.write_to_path(str(cert), append=True)
    leaf.private_key_pem.write_to_path(str(key))
    return {"cert": str(cert), "key": str(key)}


def tls_get(port: int, context: ssl.SSLContext, path: str = "/") -> tuple[int, dict[str, Any]]:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
    ):
        sock.sendall(get(path))
        response = ResponseReader(sock).read_response()  # type: ignore[arg-type]
    return response.status, json.loads(response.body)


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def test_https_on_both_loops(ca: trustme.CA, server_files: dict[str, str], loop_name: str) -> None:
    options = {"ssl_certfile": server_files["cert"], "ssl_keyfile": server_files["key"], "loop": loop_name}
    with running_server(scheme_echo, **options) as server:
        status, seen = tls_get(server.port, client_context(ca), "/secure")
    assert status == 200
    assert seen == {"scheme": "https", "path": "/secure"}


def test_plain_http_to_a_tls_port_gets_no_response(server_files: dict[str, str]) -> None:
    with running_server(
        scheme_echo, ssl_certfile=server_files["cert"], ssl_keyfile=server_files["key"]
    ) as server:
        with server.connect() as sock:
            sock.sendall(get("/"))
            sock.settimeout(5)
            data = b""
            try:
                while chunk := sock.recv(4096):
                    data += chunk
            except ConnectionResetError:
                pass
        assert not data.startswith(b"HTTP/1.1 200")


@pytest.fixture(scope="module")
def client_ca() -> trustme.CA:
    return trustme.CA()


def test_client_certificate_required(
    ca: trustme.CA, client_ca: trustme.CA, server_files: dict[str, str], tmp_path: Path
) -> None:
    ca_file = tmp_path / "client-ca.pem"
    client_ca.cert_pem.write_to_path(str(ca_file))
    options = {
        "ssl_certfile": server_files["cert"],
        "ssl_keyfile": server_files["key"],
        "ssl_ca_certs": str(ca_file),
        "ssl_cert_reqs": "required",
    }
    with running_server(scheme_echo, **options) as server:
        with_cert = client_context(ca)
        client_ca.issue_cert("client@example.com").configure_cert(with_cert)
        assert tls_get(server.port, with_cert)[0] == 200
        with pytest.raises((ssl.SSLError, ConnectionError)):
            tls_get(server.port, client_context(ca))


def test_encrypted_key_with_its_password(ca: trustme.CA, tmp_path: Path) -> None:
    leaf = ca.issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    private = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"s3cret"),
        )
    )
    options = {"ssl_certfile": str(cert), "ssl_keyfile": str(key), "ssl_keyfile_password": "s3cret"}
    with running_server(scheme_echo, **options) as server:
        assert tls_get(server.port, client_context(ca))[0] == 200
    with (
        pytest.raises(ConfigError, match="wrong password"),
        running_server(scheme_echo, **{**options, "ssl_keyfile_password": "nope"}),
    ):
        pass


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ssl_certfile": "/nonexistent/cert.pem"}, "--ssl-certfile: no file '/nonexistent/cert.pem'"),
        ({"ssl_keyfile": "/tmp/key.pem"}, "need --ssl-certfile"),
        ({"ssl_cert_reqs": "required"}, "needs --ssl-ca-certs"),
    ],
)
def test_bad_tls_options_are_clear_errors(
    server_files: dict[str, str], options: dict[str, str], message: str
) -> None:
    if "ssl_certfile" not in options and "ssl_keyfile" not in options:
        options = {**options, "ssl_certfile": server_files["cert"], "ssl_keyfile": server_files["key"]}
    with pytest.raises(ConfigError, match=message), running_server(scheme_echo, **options):
        pass


def test_key_password_never_goes_on_a_command_line() -> None:
    config = Config(ssl_certfile="c.pem", ssl_keyfile_password="s3cret")
    assert "s3cret" not in config_to_argv(config)
    assert config_secret_env(config) == {"AIOWSGI_SSL_KEYFILE_PASSWORD": "s3cret"}
