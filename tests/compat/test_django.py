"""A real Django project (tests/compat/django_project) served by aiowsgi and driven by `requests`.

The project's SQLite database and MEDIA_ROOT live in a temporary directory (COMPAT_DJANGO_DIR), migrated
once per module with `manage.py migrate` in a subprocess. Every check runs against three servers, each
started once: `python -m aiowsgi` (on asyncio's loop, so FileResponse goes out with loop.sendfile), the
same under `--workers 2` (on the default loop: uvloop, where installed, which iterates wsgi.file_wrapper),
and `aiowsgi.Server` embedded in this process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.compat._http import TIMEOUT, Client, check_streamed_lines, client_for, framework_server, sha256
from tests.process._proc import child_env
from tests.support import running_server

pytest.importorskip("django", reason="Django is not installed (pip install -e '.[compat]')")

PROJECT = Path(__file__).resolve().parent / "django_project"
APP = "compatsite.wsgi:application"
CSRF_INPUT = re.compile(r'<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)">')
DOWNLOAD_SIZE = 3 * 1024 * 1024 + 17  # a few MiB, not a multiple of any block size


def manage(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env=child_env({"COMPAT_DJANGO_DIR": str(data_dir)}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's database (migrated) and MEDIA_ROOT, with a file for FileResponse to send."""
    directory = tmp_path_factory.mktemp("django")
    result = manage(directory, "migrate", "--noinput")
    assert result.returncode == 0, result.stdout + result.stderr
    downloads = directory / "media" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "report.bin").write_bytes(os.urandom(DOWNLOAD_SIZE))
    return directory


def embedded_application(data_dir: Path, patch: pytest.MonkeyPatch) -> Callable[..., object]:
    """The project's WSGI application in this process (Django's settings are then set for the session)."""
    patch.setenv("COMPAT_DJANGO_DIR", str(data_dir))
    patch.setenv("DJANGO_SETTINGS_MODULE", "compatsite.settings")
    patch.syspath_prepend(str(PROJECT))
    from django.core.wsgi import get_wsgi_application

    local_zone = os.environ.get("TZ")
    application = get_wsgi_application()
    # Django's settings set TZ to TIME_ZONE and call time.tzset(): give this process its own local time
    # back, or every later test that formats a local time would see Django's zone.
    if local_zone is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = local_zone
    time.tzset()
    return application


@pytest.fixture(scope="module", params=["process", "workers", "embedded"])
def django_client(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[Client]:
    env = {"COMPAT_DJANGO_DIR": str(data_dir)}
    common = [APP, "--app-dir", str(PROJECT), "--body-spill-threshold", "65536"]
    if request.param == "process":
        with framework_server([*common, "--loop", "asyncio"], env=env) as client:
            yield client
    elif request.param == "workers":
        with framework_server([*common, "--workers", "2"], env=env) as client:
            yield client
    else:
        with pytest.MonkeyPatch.context() as patch:
            application = embedded_application(data_dir, patch)
            with running_server(application, body_spill_threshold=65536) as server:
                with client_for(server.url) as client:
                    yield client


def csrf_token(page: str) -> str:
    found = CSRF_INPUT.search(page)
    assert found, page
    return found[1]


def test_manage_py_check(data_dir: Path) -> None:
    result = manage(data_dir, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_admin_login_page(django_client: Client) -> None:
    response = django_client.get("/admin/login/", params={"next": "/admin/"})
    assert response.status_code == 200
    assert "Django administration" in response.text
    assert csrf_token(response.text)
    assert response.cookies.get("csrftoken")


def test_admin_redirects_to_its_login_page(django_client: Client) -> None:
    response = django_client.get("/admin/", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login/?next=/admin/"


def test_a_form_post_with_the_csrf_token_is_accepted(django_client: Client) -> None:
    with requests.Session() as browser:  # its own cookies
        form = browser.get(django_client.url + "/comment/", timeout=TIMEOUT)
        assert form.status_code == 200
        token = csrf_token(form.text)
        fields = {"csrfmiddlewaretoken": token, "text": "caf\u00e9"}
        response = browser.post(django_client.url + "/comment/", data=fields, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json() == {"accepted": "caf\u00e9"}


def test_a_form_post_without_the_csrf_token_is_refused(django_client: Client) -> None:
    with requests.Session() as browser:
        assert browser.get(django_client.url + "/comment/", timeout=TIMEOUT).cookies.get("csrftoken")
        with_cookie_only = browser.post(
            django_client.url + "/comment/", data={"text": "forged"}, timeout=TIMEOUT
        )
    assert with_cookie_only.status_code == 403
    assert "CSRF verification failed" in with_cookie_only.text
    without_anything = requests.post(
        django_client.url + "/comment/", data={"text": "forged"}, timeout=TIMEOUT
    )
    assert without_anything.status_code == 403


def test_an_upload_is_saved_to_media_root(django_client: Client, data_dir: Path) -> None:
    data = os.urandom(2 * 1024 * 1024 + 5)  # above FILE_UPLOAD_MAX_MEMORY_SIZE: a temporary file on the way
    response = django_client.post("/upload/", files={"file": ("scan.pdf", data, "application/pdf")})
    assert response.status_code == 200, response.text
    saved = response.json()
    assert (saved["size"], saved["sha256"]) == (len(data), sha256(data))
    path = Path(saved["path"])
    assert path.parent == data_dir / "media" / "uploads"
    assert path.read_bytes() == data


def test_streaming_http_response(django_client: Client) -> None:
    response = django_client.get("/stream/25/", stream=True)
    check_streamed_lines(response, 25, "chunk {}")


def test_file_response(django_client: Client, data_dir: Path) -> None:
    expected = (data_dir / "media" / "downloads" / "report.bin").read_bytes()
    response = django_client.get("/download/report.bin")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(DOWNLOAD_SIZE)
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.content == expected
    # The connection is still good after the file: the next request on it gets its answer.
    assert django_client.get("/download/missing.bin").status_code == 404
