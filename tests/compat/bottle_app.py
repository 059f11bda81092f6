"""A small Bottle application with the routes test_frameworks.py drives (the same four in each framework)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import bottle

from tests.compat._digest import stream_digest

NAME = "bottle"
app = bottle.Bottle()


@app.get("/items/<item_id:int>")
def item(item_id: int) -> dict[str, Any]:
    # getunicode: Bottle's .get gives the latin-1 "native" string PEP 3333 carries, not the UTF-8 text.
    return {"framework": NAME, "id": item_id, "q": bottle.request.query.getunicode("q")}


@app.post("/echo")
def echo() -> dict[str, Any]:
    bottle.response.status = 201
    return {"framework": NAME, "received": bottle.request.json}


@app.post("/upload")
def upload() -> dict[str, Any]:
    received = bottle.request.files.get("file")
    size, sha256 = stream_digest(received.file)
    return {
        "framework": NAME,
        "filename": received.raw_filename,
        "size": size,
        "sha256": sha256,
        "note": bottle.request.forms.getunicode("note"),
    }


@app.get("/stream/<count:int>")
def stream(count: int) -> Iterator[bytes]:
    bottle.response.content_type = "text/plain"
    for index in range(count):
        yield f"{NAME} line {index}\n".encode()
