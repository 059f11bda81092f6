"""Which event loop the command line and run() use: uvloop when it is installed, else asyncio's own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .errors import ConfigError


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """A factory for `name` ("auto", "uvloop" or "asyncio"), for asyncio.Runner(loop_factory=...)."""
    if name in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if name == "uvloop":
                raise ConfigError(
                    "--loop uvloop needs uvloop: pip install uvloop (or aiowsgi[standard])"
                ) from None
        else:
            factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
            return factory
    return asyncio.new_event_loop


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
