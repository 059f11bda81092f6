"""End to end behind a real nginx: proxy_pass to an HTTP server and uwsgi_pass to a --protocol uwsgi one.

nginx comes from the system (Debian's package); its config is generated here, with everything it writes
under tmp_path, and it runs in the foreground as this test's subprocess. docs/deployment.md shows the two
location blocks exactly as `nginx_config` writes them.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port, running_server, wait_for_port

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
UWSGI_PARAMS = "/etc/nginx/uwsgi_params"
pytestmark = [
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)"),
    pytest.mark.skipif(not os.path.exists(UWSGI_PARAMS), reason=f"{UWSGI_PARAMS} is missing (nginx-common)"),
]

UPLOAD_SIZE = 8 * 1024 * 1024
STREAM_BLOCK = 64 * 1024
STREAM_BLOCKS = 256  # 16 MiB


def stream_block(i: int) -> bytes:
    return hashlib.sha256(b"%d" % i).digest() * (STREAM_BLOCK // 32)


def app(environ: dict[str, Any], start_response: Any) -> Any:
    path = environ["PATH_INFO"].rsplit("/", 1)[-1]
    if path == "upload":
        digest, size = hashlib.sha256(), 0
        stream = environ["wsgi.input"]
        while block := stream.read(256 * 1024):
            digest.update(block)
            size += len(block)
        body = json.dumps({"sha256": digest.hexdigest(), "size": size}).encode()
    elif path == "stream":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])  # no length: streamed
        return (stream_block(i) for i in range(STREAM_BLOCKS))
    else:
        body = json.dumps({k: v for k, v in environ.items() if isinstance(v, str)}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def nginx_config(prefix: Path, port: int, http_port: int, uwsgi_port: int) -> str:
    temp = "\n".join(
        f"    {name}_temp_path {prefix}/{name}_temp;" for name in ("client_body", "proxy", "uwsgi")
    )
    # As root, nginx's workers would otherwise run as nobody, who cannot write under tmp_path.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
{temp}
    fastcgi_temp_path {prefix}/fastcgi_temp;
    scgi_temp_path {prefix}/scgi_temp;
    client_max_body_size 20m;
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
{locations(http_port, uwsgi_port)}
    }}
}}
"""


def locations(http_port: int, uwsgi_port: int) -> str:
    return f"""        location /http/ {{
            proxy_pass http://127.0.0.1:{http_port};
            proxy_http_version 1.1;
            proxy_set_header Connection "";            # keep-alive to aiowsgi
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_request_buffering off;               # stream uploads and responses through
            proxy_buffering off;
        }}
        location /uwsgi/ {{
            include /etc/nginx/uwsgi_params;
            uwsgi_pass 127.0.0.1:{uwsgi_port};
        }}"""


@pytest.fixture(scope="module")
def nginx_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    assert NGINX is not None
    prefix = tmp_path_factory.mktemp("nginx")
    with running_server(app) as http_server, running_server(app, protocol="uwsgi") as uwsgi_server:
        port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_config(prefix, port, http_server.port, uwsgi_server.port))
        command = [
            NGINX,
            "-e",
            str(prefix / "error.log"),
            "-c",
            str(conf),
            "-p",
            str(prefix),
            "-g",
            "daemon off;",
        ]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            problem = wait_for_port(port, process)
            if problem is not None:
                output = (
                    process.stdout.read().decode() if process.stdout and process.poll() is not None else ""
                )
                log = (prefix / "error.log").read_text() if (prefix / "error.log").exists() else ""
                pytest.fail(f"nginx {problem}: {output}\n{log}")
            yield port
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout:
                process.stdout.close()


def fetch(port: int, method: str, path: str, body: bytes | None = None, **headers: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={k.replace("_", "-"): v for k, v in headers.items()})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


UPSTREAMS = ["http", "uwsgi"]


@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_environ_through_nginx(nginx_port: int, upstream: str) -> None:
    status, body = fetch(
        nginx_port, "GET", f"/{upstream}/caf%C3%A9/a%20b?x=1&y=%20", X_Custom="v1", Cookie="a=1"
    )
    assert status == 200
    environ = json.loads(body)
    expected = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": f"/{upstream}/caf\u00c3\u00a9/a b",  # UTF-8 bytes as latin-1, as PEP 3333 has them
        "QUERY_STRING": "x=1&y=%20",
        "REQUEST_URI": f"/{upstream}/caf%C3%A9/a%20b?x=1&y=%20",
        "SCRIPT_NAME": "",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_X_CUSTOM": "v1",
        "HTTP_COOKIE": "a=1",
        "wsgi.url_scheme": "http",
    }
    assert {key: environ.get(key) for key in expected} == expected
    assert "CONTENT_LENGTH" not in environ
    assert "CONTENT_TYPE" not in environ
    if upstream == "uwsgi":
        # What the front end says about the request, not what the socket to aiowsgi says.
        assert environ["SERVER_PORT"] == str(nginx_port)
        assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
        assert environ["SERVER_NAME"] == "localhost"


def test_uwsgi_does_not_believe_forwarded_headers(nginx_port: int) -> None:
    status, body = fetch(
        nginx_port, "GET", "/uwsgi/echo", X_Forwarded_For="203.0.113.9", X_Forwarded_Proto="https"
    )
    environ = json.loads(body)
    assert (status, environ["REMOTE_ADDR"], environ["wsgi.url_scheme"]) == (200, "127.0.0.1", "http")
    assert environ["HTTP_X_FORWARDED_FOR"] == "203.0.113.9"


@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_large_upload_through_nginx(nginx_port: int, upstream: str) -> None:
    data = os.urandom(UPLOAD_SIZE)
    status, body = fetch(
        nginx_port, "POST", f"/{upstream}/upload", data, Content_Type="application/octet-stream"
    )
    assert status == 200
    assert json.loads(body) == {"sha256": hashlib.sha256(data).hexdigest(), "size": UPLOAD_SIZE}


@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_streamed_response_through_nginx(nginx_port: int, upstream: str) -> None:
    expected = hashlib.sha256(b"".join(stream_block(i) for i in range(STREAM_BLOCKS))).hexdigest()
    status, body = fetch(nginx_port, "GET", f"/{upstream}/stream")
    assert status == 200
    assert (len(body), hashlib.sha256(body).hexdigest()) == (STREAM_BLOCK * STREAM_BLOCKS, expected)


def test_deployment_docs_show_this_config() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "deployment.md").read_text()
    assert textwrap.dedent(locations(8000, 8001)) in docs


def test_the_startup_line_says_uwsgi(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, "aiowsgi.error"), running_server(app, protocol="uwsgi") as server:
        port = server.port
        line = next(r.getMessage() for r in caplog.records if "listening on" in r.getMessage())
    assert f"uwsgi://127.0.0.1:{port}" in line
    assert "(parser uwsgi," in line
