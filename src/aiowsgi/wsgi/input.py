"""The request body: gathered on the loop before the application runs, read as wsgi.input in a worker.

Small bodies stay in memory; a body that passes the spill threshold moves to an anonymous temporary file
as it arrives, so an upload costs bounded memory however large the body limit is. Because the whole body
is here before the application starts, wsgi.input never waits on the client: read(), read(n),
readline(), readline(n), readlines() and iteration come straight from io.BytesIO or the buffered file, and
return b"" at the end.
"""

from __future__ import annotations

import io
import tempfile
from typing import BinaryIO


class RequestBody:
    """Bytes appended on the loop thread; handed to a worker as a readable stream once complete."""

    __slots__ = ("_chunks", "_file", "_spill_threshold", "size")

    def __init__(self, spill_threshold: int) -> None:
        self._spill_threshold = spill_threshold
        self._chunks: list[bytes] = []
        self._file: BinaryIO | None = None
        self.size = 0

    def append(self, data: bytes) -> None:
        self.size += len(data)
        if self._file is not None:
            self._file.write(data)
            return
        self._chunks.append(data)
        if self.size > self._spill_threshold:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
            self._file.writelines(self._chunks)
            self._chunks = []

    def as_input(self) -> BinaryIO:
        """The body as wsgi.input, positioned at its start."""
        if self._file is not None:
            self._file.seek(0)
            return self._file
        chunks = self._chunks
        return io.BytesIO(chunks[0] if len(chunks) == 1 else b"".join(chunks))

    @property
    def spilled(self) -> bool:
        return self._file is not None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._chunks = []
