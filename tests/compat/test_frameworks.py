"""Falcon, Bottle and Pyramid: one small application each (falcon_app.py, bottle_app.py, pyramid_app.py),
with the same four routes, served by `python -m aiowsgi` in a child process (one per framework, shared by
the module's tests) and driven by `requests`.

A framework that is not installed is skipped, with the reason (`pip install -e '.[compat]'` adds them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.compat._http import Client, check_streamed_lines, framework_server, sha256

FRAMEWORKS = ["falcon", "bottle", "pyramid"]


@dataclass
class Served:
    name: str
    client: Client


@pytest.fixture(scope="module", params=FRAMEWORKS)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    name: str = request.param
    pytest.importorskip(name, reason=f"{name} is not installed (pip install -e '.[compat]')")
    with framework_server([f"tests.compat.{name}_app:app", "--body-spill-threshold", "65536"]) as client:
        yield Served(name, client)


def test_a_path_parameter(served: Served) -> None:
    response = served.client.get("/items/42", params={"q": "caf\u00e9"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"framework": served.name, "id": 42, "q": "caf\u00e9"}


def test_a_path_that_does_not_match_is_not_found(served: Served) -> None:
    assert served.client.get("/items/forty-two").status_code == 404
    assert served.client.get("/no/such/route").status_code == 404


def test_json_in_and_out(served: Served) -> None:
    payload = {"numbers": [1, 2, 3], "text": "\u00fcber", "nested": {"ok": True, "none": None}}
    response = served.client.post("/echo", json=payload)
    assert response.status_code == 201
    assert response.json() == {"framework": served.name, "received": payload}


def test_a_multipart_upload(served: Served) -> None:
    data = os.urandom(3 * 1024 * 1024 + 1)  # above the spill threshold: read from a temporary file
    response = served.client.post(
        "/upload", data={"note": "scan"}, files={"file": ("scan.tiff", data, "image/tiff")}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "framework": served.name,
        "filename": "scan.tiff",
        "size": len(data),
        "sha256": sha256(data),
        "note": "scan",
    }


def test_a_streamed_response(served: Served) -> None:
    response = served.client.get("/stream/30", stream=True)
    assert response.headers["Content-Type"].startswith("text/plain")
    check_streamed_lines(response, 30, served.name + " line {}")
