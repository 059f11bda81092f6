from __future__ import annotations

import pytest

from aiowsgi.http.parser import available_parsers

PARSERS = ["httptools", "h11"]


@pytest.fixture(params=PARSERS)
def parser_backend(request: pytest.FixtureRequest) -> str:
    """Run the test once per HTTP parser; a parser that is not installed is skipped, with the reason."""
    name: str = request.param
    if name not in available_parsers():
        pytest.skip(f"{name} is not installed")
    return name


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "uvloop":
        pytest.importorskip("uvloop", reason="uvloop is not installed")
    return name
