"""Werkzeug's interactive debugger page, from a Flask app served by `python -m aiowsgi --reload`."""

from __future__ import annotations

import re
from pathlib import Path

from tests.compat._http import framework_server

DEBUGGER_JS = re.compile(r'src="(\?__debugger__=yes&amp;cmd=resource&amp;f=debugger\.js)"')


def test_the_werkzeug_debugger_page_renders_under_reload(tmp_path: Path) -> None:
    # Watch an empty directory, so that nothing but this test could restart the child.
    args = ["tests.compat.debugger_app:app", "--reload", "--reload-dir", str(tmp_path)]
    with framework_server(args) as client:
        assert client.get("/").text == "the debugger is on"

        response = client.get("/boom")
        assert response.status_code == 500
        assert response.headers["Content-Type"].startswith("text/html")
        page = response.text
        assert "Traceback <em>(most recent call last)</em>" in page
        assert "LookupError: compat-debugger-marker" in page
        assert "Werkzeug Debugger" in page
        assert "EVALEX = true" in page  # the console is offered: the host is trusted
        assert "__debugger__" in page

        # The page's own JavaScript is served by the debugger, through the same server.
        found = DEBUGGER_JS.search(page)
        assert found, page
        script = client.get("/" + found[1].replace("&amp;", "&"))
        assert script.status_code == 200
        assert "debugger" in script.text.lower()

        assert client.process is not None
        client.process.wait_for_line(r"reloader on \S+: restarting the server when files change in ")
