"""A Flask app under Werkzeug's interactive debugger, as a developer runs it with `--reload`."""

from __future__ import annotations

from flask import Flask
from werkzeug.debug import DebuggedApplication

app = Flask(__name__)
# Let the exception reach the debugger middleware instead of becoming Flask's own 500 page.
app.config["PROPAGATE_EXCEPTIONS"] = True


@app.get("/")
def index() -> str:
    return "the debugger is on"


@app.get("/boom")
def boom() -> str:
    raise LookupError("compat-debugger-marker")


app.wsgi_app = DebuggedApplication(app.wsgi_app, evalex=True)  # type: ignore[method-assign]
