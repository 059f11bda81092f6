"""A small Pyramid application with the routes test_frameworks.py drives (the same four in each framework)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response

from tests.compat._digest import stream_digest

NAME = "pyramid"


def item(request: Request) -> dict[str, Any]:
    return {"framework": NAME, "id": int(request.matchdict["item_id"]), "q": request.params.get("q")}


def echo(request: Request) -> dict[str, Any]:
    request.response.status_int = 201
    return {"framework": NAME, "received": request.json_body}


def upload(request: Request) -> dict[str, Any]:
    received = request.POST["file"]
    size, sha256 = stream_digest(received.file)
    return {
        "framework": NAME,
        "filename": received.filename,
        "size": size,
        "sha256": sha256,
        "note": request.POST.get("note"),
    }


def stream(request: Request) -> Response:
    count = int(request.matchdict["count"])

    def lines() -> Iterator[bytes]:
        for index in range(count):
            yield f"{NAME} line {index}\n".encode()

    return Response(app_iter=lines(), content_type="text/plain")


with Configurator() as config:
    config.add_route("item", r"/items/{item_id:\d+}")
    config.add_route("echo", "/echo")
    config.add_route("upload", "/upload")
    config.add_route("stream", r"/stream/{count:\d+}")
    config.add_view(item, route_name="item", request_method="GET", renderer="json")
    config.add_view(echo, route_name="echo", request_method="POST", renderer="json")
    config.add_view(upload, route_name="upload", request_method="POST", renderer="json")
    config.add_view(stream, route_name="stream", request_method="GET")
    app = config.make_wsgi_app()
