"""An application that records each import of itself, for --preload.

At import it appends its process ID to the file named by PRELOAD_IMPORTS and reads the file named by
PRELOAD_VERSION (so a test can change what a fresh import sees). Each request answers
"PID PARENT-PID FROZEN-OBJECTS VERSION".
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

with open(os.environ["PRELOAD_IMPORTS"], "a") as imports:
    imports.write(f"{os.getpid()}\n")
VERSION = Path(os.environ["PRELOAD_VERSION"]).read_text().strip()


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = f"{os.getpid()} {os.getppid()} {gc.get_freeze_count()} {VERSION}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
