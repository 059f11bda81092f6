"""A real Flask application, served through `python -m aiowsgi tests.process.apps.flask_app:app`."""

from __future__ import annotations

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "hello from flask"


@app.post("/echo")
def echo() -> object:
    return jsonify(json=request.get_json(), script_root=request.script_root, path=request.path)


@app.get("/missing-on-purpose")
def not_found() -> tuple[str, int]:
    return "nothing here", 404
