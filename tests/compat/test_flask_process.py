"""The Flask application of test_flask.py, served by `python -m aiowsgi` in a child process: alone and
under `--workers 2`. Each server is started once per module and answers every check."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compat._http import framework_server
from tests.compat.test_flask import CHECKS, FlaskServer, check_large_upload

APP = ["tests.compat.flask_app:app_from_environment", "--factory"]


@pytest.fixture(scope="module")
def download(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("flask") / "report.bin"
    path.write_bytes(os.urandom(300_000))
    return path


@pytest.fixture(scope="module", params=["process", "workers"])
def flask_process(request: pytest.FixtureRequest, download: Path) -> Iterator[FlaskServer]:
    workers = ["--workers", "2"] if request.param == "workers" else []
    env = {"COMPAT_FLASK_DOWNLOAD": str(download)}
    with framework_server([*APP, "--body-spill-threshold", "65536", *workers], env=env) as client:
        assert client.process is not None
        yield FlaskServer(
            client.url, client.process.port, client.session, download.read_bytes(), multiprocess=bool(workers)
        )


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
def test_flask_in_a_child_process(flask_process: FlaskServer, check: Any) -> None:
    check(flask_process)


def test_flask_large_upload_in_a_child_process(flask_process: FlaskServer) -> None:
    check_large_upload(flask_process)
