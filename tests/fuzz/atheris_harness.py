"""Coverage-guided fuzzing of the sans-I/O HTTP layer with atheris (not collected by pytest; atheris is not a
dependency: `pip install atheris` first).

    python tests/fuzz/atheris_harness.py httptools -max_total_time=120 [corpus_dir ...]
    python tests/fuzz/atheris_harness.py h11 -max_total_time=120

Each input is split at its first byte into two reads (so cut points are fuzzed too) and fed to a fresh
`ServerConnection`. The only outcomes allowed are events and one ProtocolError with a status we answer; any
other exception is a bug, and so is a request that one parser completes and the other does not.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = frozenset({400, 408, 413, 414, 431, 501, 505})


def main() -> None:
    import atheris

    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    with atheris.instrument_imports():
        import h11  # noqa: F401
        import httptools  # noqa: F401

        from aiowsgi.http import _h11, _httptools  # noqa: F401  (imported lazily otherwise: uninstrumented)
        from aiowsgi.http.connection import ServerConnection
    from tests.requests.corpus import LIMITS, replay

    parser = sys.argv.pop(1)
    other = "h11" if parser == "httptools" else "httptools"

    def one_input(data: bytes) -> None:
        if not data:
            return
        cut = data[0] % (len(data)) + 1
        pieces = [data[1:cut], data[cut:]]
        conn = ServerConnection(parser, LIMITS)
        for piece in pieces:
            _, error = conn.receive_data(piece)
            if error is not None:
                if error.status_hint not in ALLOWED:
                    raise AssertionError(f"status {error.status_hint}: {error}")
                break
        ours, theirs = replay(parser, [data[1:]]), replay(other, [data[1:]])
        if ours.requests != theirs.requests:
            raise AssertionError(f"parsers disagree: {ours.message!r} / {theirs.message!r}")

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
