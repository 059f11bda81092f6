"""A real Flask application served by aiowsgi on both parsers, driven by `requests` (an ordinary client)."""

from __future__ import annotations

import hashlib
import os
import wsgiref.validate
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.compat._http import TIMEOUT
from tests.compat.flask_app import create_app
from tests.support import running_server


@dataclass
class FlaskServer:
    url: str
    port: int
    session: requests.Session
    download: bytes
    multiprocess: bool = False  # what wsgi.multiprocess should say: True under --workers 2

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url + path, timeout=TIMEOUT, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url + path, timeout=TIMEOUT, **kwargs)


def serve_flask(tmp_path: Path, wrap: Any = None, **options: Any) -> Iterator[FlaskServer]:
    download = os.urandom(300_000)
    path = tmp_path / "report.bin"
    path.write_bytes(download)
    app: Any = create_app(str(path))
    if wrap is not None:
        app = wrap(app)
    with running_server(app, **options) as server, requests.Session() as session:
        yield FlaskServer(server.url, server.port, session, download)


@pytest.fixture
def flask_server(parser_backend: str, tmp_path: Path) -> Iterator[FlaskServer]:
    # A low spill threshold, so that the upload below is read from a temporary file.
    yield from serve_flask(tmp_path, http=parser_backend, body_spill_threshold=64 * 1024)


def check_query_args(client: FlaskServer) -> None:
    response = client.get("/search", params=[("q", "caf\u00e9 & more"), ("tag", "a"), ("tag", "b")])
    assert response.status_code == 200
    assert response.json() == {"q": "caf\u00e9 & more", "tags": ["a", "b"], "path": "/search"}


def check_form(client: FlaskServer) -> None:
    response = client.post("/form", data=[("name", "Ada Lovelace"), ("colour", "red"), ("colour", "blue")])
    assert response.status_code == 200
    assert response.json() == {"name": "Ada Lovelace", "colours": ["red", "blue"]}


def check_json(client: FlaskServer) -> None:
    response = client.post("/json", json={"numbers": [1, 2, 3], "text": "\u00fcber"})
    assert response.status_code == 201
    assert response.json() == {"received": {"numbers": [1, 2, 3], "text": "\u00fcber"}, "doubled": [2, 4, 6]}


def check_upload(client: FlaskServer) -> None:
    data = os.urandom(200_000)  # spills to a file with the fixture's threshold
    response = client.post(
        "/upload",
        files={"file": ("photo.jpg", data, "image/jpeg")},
        data={"note": "holiday"},
    )
    assert response.status_code == 200
    assert response.json() == {
        "filename": "photo.jpg",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "note": "holiday",
    }


def check_large_upload(client: FlaskServer) -> None:
    """20 MiB in one multipart body: spilled to a temporary file by aiowsgi, parsed by Werkzeug."""
    data = os.urandom(20 * 1024 * 1024)
    response = client.post("/upload", files={"file": ("video.bin", data)}, data={"note": "big"})
    assert response.status_code == 200
    assert response.json() == {
        "filename": "video.bin",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "note": "big",
    }


def check_stream(client: FlaskServer) -> None:
    with client.get("/stream", params={"count": "50", "prefix": "row"}, stream=True) as response:
        assert response.status_code == 200
        assert response.headers["Transfer-Encoding"] == "chunked"
        text = b"".join(response.iter_content(chunk_size=None)).decode()
    assert text == "".join(f"row {index}\n" for index in range(50))


def check_send_file(client: FlaskServer) -> None:
    response = client.get("/download")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(client.download))
    assert response.headers["Content-Disposition"] == "attachment; filename=report.bin"
    assert response.content == client.download


def check_not_found(client: FlaskServer) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Not Found" in response.text
    assert "compat-app has no page at /no/such/page" in response.text  # the registered handler's page


def check_abort_500(client: FlaskServer) -> None:
    response = client.get("/fail")
    assert response.status_code == 500
    assert "Internal Server Error" in response.text
    assert "compat-app error page (abort)" in response.text


def check_exception_500(client: FlaskServer) -> None:
    response = client.get("/crash")
    assert response.status_code == 500
    assert "compat-app error page (RuntimeError)" in response.text


def check_environ(client: FlaskServer) -> None:
    response = client.get("/environ", params={"x": "1 2"}, headers={"User-Agent": "compat-test"})
    assert response.status_code == 200
    env = response.json()
    assert env["method"] == "GET"
    assert env["script_name"] == ""
    assert env["path_info"] == "/environ"
    assert env["query_string"] == "x=1+2"
    assert env["server_port"] == str(client.port)
    assert env["url_scheme"] == "http"
    assert (env["multithread"], env["multiprocess"], env["run_once"]) == (True, client.multiprocess, False)
    assert env["input_terminated"] is True
    assert env["version"] == [1, 0]
    assert env["user_agent"] == "compat-test"
    assert set(env["types"].values()) == {"str"}
    assert env["url"] == f"{client.url}/environ?x=1+2"
    assert env["remote_addr"] == "127.0.0.1"


CHECKS = [
    check_query_args,
    check_form,
    check_json,
    check_upload,
    check_stream,
    check_send_file,
    check_not_found,
    check_abort_500,
    check_exception_500,
    check_environ,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
def test_flask(flask_server: FlaskServer, check: Any) -> None:
    check(flask_server)


def test_flask_large_upload(flask_server: FlaskServer) -> None:
    check_large_upload(flask_server)


def test_flask_keep_alive_session_runs_every_route(flask_server: FlaskServer) -> None:
    # One requests.Session: the routes above, in turn, over a kept-alive connection.
    for check in CHECKS * 2:
        check(flask_server)


def test_flask_under_a_root_path(parser_backend: str, tmp_path: Path) -> None:
    for client in serve_flask(tmp_path, http=parser_backend, root_path="/mounted"):
        env = client.get("/mounted/environ").json()
        assert (env["script_name"], env["path_info"]) == ("/mounted", "/environ")
        assert env["url"] == f"{client.url}/mounted/environ"
        assert client.get("/mounted/search", params={"q": "x"}).json()["q"] == "x"


# Werkzeug reads url-encoded forms and JSON with wsgi.input.read() and no size, which wsgi.input_terminated
# allows; wsgiref.validate predates that key and insists on read(size), so those two routes are left out.
VALIDATOR_CHECKS = [check for check in CHECKS if check not in (check_form, check_json)]


@pytest.mark.parametrize("check", VALIDATOR_CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
def test_flask_under_wsgiref_validator(tmp_path: Path, check: Any) -> None:
    # filterwarnings=error: any WSGIWarning from the validator becomes an error (a 500, or a failed test).
    for client in serve_flask(tmp_path, wrap=wsgiref.validate.validator):
        check(client)
