"""A small Falcon application with the routes test_frameworks.py drives (the same four in each framework)."""

from __future__ import annotations

from collections.abc import Iterator

import falcon

from tests.compat._digest import stream_digest

NAME = "falcon"


class Item:
    def on_get(self, req: falcon.Request, resp: falcon.Response, item_id: int) -> None:
        resp.media = {"framework": NAME, "id": item_id, "q": req.get_param("q")}


class Echo:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"framework": NAME, "received": req.get_media()}
        resp.status = falcon.HTTP_201


class Upload:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        found: dict[str, object] = {}
        for part in req.get_media():  # multipart/form-data, read part by part from wsgi.input
            if part.name == "file":
                size, sha256 = stream_digest(part.stream)
                found.update(filename=part.filename, size=size, sha256=sha256)
            else:
                found[part.name] = part.text
        resp.media = {"framework": NAME, **found}


class Stream:
    def on_get(self, req: falcon.Request, resp: falcon.Response, count: int) -> None:
        def lines() -> Iterator[bytes]:
            for index in range(count):
                yield f"{NAME} line {index}\n".encode()

        resp.content_type = falcon.MEDIA_TEXT
        resp.stream = lines()


app = falcon.App()
app.add_route("/items/{item_id:int}", Item())
app.add_route("/echo", Echo())
app.add_route("/upload", Upload())
app.add_route("/stream/{count:int}", Stream())
