"""What the framework apps report of an uploaded file: its size and SHA-256, read a block at a time."""

from __future__ import annotations

import hashlib
from typing import BinaryIO


def stream_digest(stream: BinaryIO) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    while block := stream.read(64 * 1024):
        digest.update(block)
        size += len(block)
    return size, digest.hexdigest()
