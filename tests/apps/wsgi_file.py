"""Answers with wsgi.file_wrapper over a file the test names; records that the file was closed."""

from __future__ import annotations

import io
import threading
from typing import Any


class TrackedFile(io.BufferedReader):
    """A real file (it has a fileno, so the server may use sendfile) that signals when it is closed."""

    def __init__(self, path: str, closed_event: threading.Event) -> None:
        super().__init__(io.FileIO(path, "rb"))
        self._closed_event = closed_event

    def close(self) -> None:
        super().close()
        self._closed_event.set()


class TrackedBytes(io.BytesIO):
    """An in-memory file (no fileno: the server has to iterate it) that signals when it is closed."""

    def __init__(self, data: bytes, closed_event: threading.Event) -> None:
        super().__init__(data)
        self._closed_event = closed_event

    def close(self) -> None:
        super().close()
        self._closed_event.set()


class FileApp:
    """GET /disk serves `path` from byte `offset` on; GET /memory serves `data` from a BytesIO."""

    def __init__(self, path: str, data: bytes, offset: int = 0, block_size: int = 4096) -> None:
        self.path = path
        self.data = data
        self.offset = offset
        self.block_size = block_size
        self.closed = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        filelike: io.BufferedIOBase
        if environ["PATH_INFO"] == "/disk":
            filelike = TrackedFile(self.path, self.closed)
        else:
            filelike = TrackedBytes(self.data, self.closed)
        filelike.seek(self.offset)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](filelike, self.block_size)
