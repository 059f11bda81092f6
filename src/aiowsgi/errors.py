"""Error types shared by every layer.

`ProtocolError` is the only exception the sans-I/O HTTP layer raises on purpose: it means the peer sent
something we will not accept, and `status_hint` says which HTTP status answers it. Any other exception out
of `aiowsgi.http` is a bug (the fuzz tests assert exactly that).
"""

from __future__ import annotations


class ProtocolError(Exception):
    """The client broke HTTP/1.1; answer with `status_hint` and close the connection."""

    def __init__(self, message: str, status_hint: int = 400) -> None:
        super().__init__(message)
        self.status_hint = status_hint


class InvalidResponse(ValueError):
    """The application produced a status, header or body that would corrupt the response on the wire."""


class ClientDisconnected(OSError):
    """Raised inside the application's write() once the client has gone or stopped reading for too long."""


class ConfigError(ValueError):
    """An option has a value we cannot use; the message names the option and the value."""


class AppLoadError(Exception):
    """`MODULE:ATTR` could not be turned into a WSGI callable; the message is meant for the user as-is."""
