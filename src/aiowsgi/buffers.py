"""A byte FIFO that keeps a bounded amount in memory and spills the rest to an anonymous temporary file.

Both directions of a connection use it: a request body is appended on the loop while it arrives and then
read whole by the worker (`as_stream`); a response is appended on the loop while the client is slower than
the application and read back in blocks as the client catches up (`read`). Either way a slow client costs
at most `memory_limit` bytes of memory, whatever it holds up.

Once anything spills, everything held moves to the file, so the order is kept with one read position and
one write position. When a reader empties the file, it is closed (freeing the disk) and the buffer goes back
to memory.
"""

from __future__ import annotations

import io
import tempfile
from typing import BinaryIO


class SpillBuffer:
    __slots__ = ("_chunks", "_file", "_memory_limit", "_read_at", "_write_at", "size")

    def __init__(self, memory_limit: int) -> None:
        self._memory_limit = memory_limit
        self._chunks: list[bytes] = []
        self._file: BinaryIO | None = None
        self._read_at = 0
        self._write_at = 0
        self.size = 0  # bytes held: appended and not yet read

    def append(self, data: bytes) -> None:
        self.size += len(data)
        file = self._file
        if file is None:
            self._chunks.append(data)
            if self.size <= self._memory_limit:
                return
            file = self._file = tempfile.TemporaryFile()  # closed by read() or close()
            self._read_at = self._write_at = 0
            data = b"".join(self._chunks)
            self._chunks = []
        file.seek(self._write_at)
        file.write(data)
        self._write_at += len(data)

    def read(self, limit: int) -> bytes:
        """Up to `limit` bytes from the front (at least one byte if any are held)."""
        file = self._file
        if file is None:
            if not self._chunks:
                return b""
            data = self._chunks.pop(0)
            if len(data) > limit:
                self._chunks.insert(0, data[limit:])
                data = data[:limit]
        else:
            file.seek(self._read_at)
            data = file.read(min(limit, self._write_at - self._read_at))
            self._read_at += len(data)
            if self._read_at == self._write_at:
                file.close()
                self._file = None
        self.size -= len(data)
        return data

    def as_stream(self) -> BinaryIO:
        """Everything held, as a readable stream from its start (for wsgi.input); ends the FIFO's use."""
        if self._file is not None:
            self._file.flush()
            self._file.seek(self._read_at)
            return self._file
        chunks = self._chunks
        return io.BytesIO(chunks[0] if len(chunks) == 1 else b"".join(chunks))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._chunks = []
        self.size = 0
