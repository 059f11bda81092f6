"""WSGI type aliases (PEP 3333), shared by the layers that speak WSGI."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, TypeAlias

Environ: TypeAlias = dict[str, Any]
ExcInfo: TypeAlias = tuple[type[BaseException], BaseException, TracebackType | None]
OptExcInfo: TypeAlias = ExcInfo | tuple[None, None, None] | None
ResponseHeaders: TypeAlias = list[tuple[str, str]]
WriteCallable: TypeAlias = Callable[[bytes], object]
StartResponse: TypeAlias = Callable[..., WriteCallable]
WSGIApp: TypeAlias = Callable[[Environ, StartResponse], Iterable[bytes]]
# How a request's access line is written: called with the finished line, without a newline (logs.py
# chooses how). The line is text, not a %-format: a "%" in it is the request's own.
AccessLog: TypeAlias = Callable[[str], None]
