"""A small but real Flask application: query args, forms, JSON, uploads, streaming, send_file, errors.

`create_app(path)` for embedding; `python -m aiowsgi --factory tests.compat.flask_app:app_from_environment`
for a child process, which takes the download's path from COMPAT_FLASK_DOWNLOAD.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, abort, jsonify, request, send_file, stream_with_context
from werkzeug.exceptions import InternalServerError, NotFound


def create_app(download_path: str) -> Flask:
    app = Flask(__name__)

    @app.get("/search")
    def search() -> Any:
        return jsonify(q=request.args.get("q"), tags=request.args.getlist("tag"), path=request.path)

    @app.post("/form")
    def form() -> Any:
        return jsonify(name=request.form["name"], colours=request.form.getlist("colour"))

    @app.post("/json")
    def json_body() -> Any:
        payload = request.get_json()
        return jsonify(received=payload, doubled=[n * 2 for n in payload["numbers"]]), 201

    @app.post("/upload")
    def upload() -> Any:
        upload = request.files["file"]
        data = upload.read()
        return jsonify(
            filename=upload.filename,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            note=request.form.get("note"),
        )

    @app.get("/stream")
    def stream() -> Response:
        count = int(request.args.get("count", "5"))

        def generate() -> Iterator[str]:
            # stream_with_context keeps `request` usable while the response is being iterated.
            for index in range(count):
                yield f"{request.args.get('prefix', 'line')} {index}\n"

        return Response(stream_with_context(generate()), mimetype="text/plain")

    @app.get("/download")
    def download() -> Response:
        return send_file(download_path, mimetype="application/octet-stream", as_attachment=True)

    @app.get("/fail")
    def fail() -> Any:
        abort(500)

    @app.get("/crash")
    def crash() -> Any:
        raise RuntimeError("the view failed")

    # Registered error pages: Flask calls these for abort(404), an unknown URL, abort(500) and an exception.
    @app.errorhandler(NotFound)
    def not_found(error: NotFound) -> Any:
        return f"<h1>Not Found</h1><p>compat-app has no page at {request.path}</p>", 404

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError) -> Any:
        cause = type(error.original_exception).__name__ if error.original_exception else "abort"
        return f"<h1>Internal Server Error</h1><p>compat-app error page ({cause})</p>", 500

    @app.get("/environ")
    def environ() -> Any:
        env = request.environ
        return jsonify(
            method=env["REQUEST_METHOD"],
            script_name=env["SCRIPT_NAME"],
            path_info=env["PATH_INFO"],
            query_string=env["QUERY_STRING"],
            server_port=env["SERVER_PORT"],
            url_scheme=env["wsgi.url_scheme"],
            multithread=env["wsgi.multithread"],
            multiprocess=env["wsgi.multiprocess"],
            run_once=env["wsgi.run_once"],
            input_terminated=env.get("wsgi.input_terminated"),
            version=list(env["wsgi.version"]),
            user_agent=env.get("HTTP_USER_AGENT"),
            types={k: type(v).__name__ for k, v in env.items() if "." not in k},  # CGI keys only
            url=request.url,
            remote_addr=request.remote_addr,
        )

    return app


def app_from_environment() -> Flask:
    """The --factory entry point for a child process: the download's path comes from the environment."""
    return create_app(os.environ["COMPAT_FLASK_DOWNLOAD"])
