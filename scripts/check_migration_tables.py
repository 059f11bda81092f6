"""Check the flag tables of the migration guides against the real programs' --help.

Usage: python scripts/check_migration_tables.py [--allow-missing]

Each guide (docs/migrating-from-*.md) has tables whose first two header cells are the peer's name and
`aiowsgi`. For every row, each flag written in backticks in the first column must appear in the peer's
`--help` output (gunicorn --help, waitress-serve --help, uwsgi --help), and each flag in backticks in the
second column must appear in `python -m aiowsgi --help`. A second column without a flag must say why:
it starts with "no equivalent", "not needed" or "no flag", followed by the reason.

A peer that is not installed fails the check; --allow-missing skips its guide instead (and says so).
CI installs the peers from the `bench` extra.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


@dataclass(frozen=True)
class Peer:
    name: str  # as in the table's header
    page: str
    command: str
    dist: str  # its distribution, for the version


PEERS = (
    Peer("Gunicorn", "migrating-from-gunicorn.md", "gunicorn", "gunicorn"),
    Peer("Waitress", "migrating-from-waitress.md", "waitress-serve", "waitress"),
    Peer("uWSGI", "migrating-from-uwsgi.md", "uwsgi", "uwsgi"),
)

# A flag as the programs print it: -b, --bind, --limit-request-field_size, --[no-]ipv6 (Waitress).
FLAG = re.compile(r"(?<![\w\-\]])(--?(?:\[no-\])?[A-Za-z][\w-]*)")
CODE = re.compile(r"`([^`]*)`")
REASON = re.compile(r"^(no equivalent|not needed|no flag)\b\W*\w.{8,}", re.IGNORECASE | re.DOTALL)


def _executable(command: str) -> str | None:
    beside = Path(sys.executable).parent / command  # the virtualenv this script runs in, first
    return str(beside) if beside.exists() else shutil.which(command)


def help_flags(args: list[str]) -> set[str]:
    """The flags that a --help output mentions; Waitress's --[no-]X counts as --X, --no-X and itself."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    text = result.stdout + result.stderr
    flags: set[str] = set()
    for flag in FLAG.findall(text):
        flags.add(flag)
        if "[no-]" in flag:
            flags.add(flag.replace("[no-]", ""))
            flags.add(flag.replace("[no-]", "no-"))
    if len(flags) < 10:
        command = " ".join(args)
        raise SystemExit(f"{command} printed too few flags ({len(flags)}); is it the right program?\n{text}")
    return flags


def _cells(line: str) -> list[str]:
    """Split a table row on | outside code spans."""
    cells, current, in_code = [], [], False
    for char in line.strip().strip("|"):
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    cells.append("".join(current).strip())
    return cells


def flag_rows(text: str, peer_name: str) -> list[tuple[int, str, str]]:
    """(line number, peer cell, aiowsgi cell) for every row of the tables headed `peer_name | aiowsgi`."""
    rows: list[tuple[int, str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        header = _cells(lines[i]) if lines[i].lstrip().startswith("|") else []
        names = [c.strip("`* ").lower() for c in header[:2]]
        if names == [peer_name.lower(), "aiowsgi"] and i + 1 < len(lines) and "---" in lines[i + 1]:
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                cells = _cells(lines[i])
                rows.append((i + 1, cells[0], cells[1] if len(cells) > 1 else ""))
                i += 1
            continue
        i += 1
    return rows


def flags_in(cell: str) -> list[str]:
    return [flag for code in CODE.findall(cell) for flag in FLAG.findall(code)]


def check(peer: Peer, aiowsgi_flags: set[str], allow_missing: bool) -> list[str]:
    page = DOCS / peer.page
    if not page.exists():
        return [f"{peer.page}: missing"]
    executable = _executable(peer.command)
    if executable is None:
        if allow_missing:
            print(f"SKIPPED {peer.page}: {peer.command} is not installed")
            return []
        missing = f"{peer.command} is not installed (pip install -e '.[bench]')"
        return [f"{peer.page}: {missing}, so nothing was checked"]
    peer_flags = help_flags([executable, "--help"])
    try:
        version = f"{peer.dist} {importlib.metadata.version(peer.dist)}"
    except importlib.metadata.PackageNotFoundError:
        version = executable
    rows = flag_rows(page.read_text(), peer.name)
    errors = []
    if len(rows) < 10:
        errors.append(f"{peer.page}: found {len(rows)} rows in tables headed '{peer.name} | aiowsgi'")
    n_peer = n_ours = 0
    for line, theirs, ours in rows:
        where = f"{peer.page}:{line}"
        their_flags = flags_in(theirs)
        if not their_flags:
            errors.append(f"{where}: no {peer.name} flag in backticks in {theirs!r}")
        for flag in their_flags:
            n_peer += 1
            if flag not in peer_flags:
                errors.append(f"{where}: {flag} is not in `{peer.command} --help`")
        our_flags = flags_in(ours)
        if not our_flags and not REASON.match(ours):
            errors.append(f"{where}: {ours!r} names no aiowsgi flag and does not say 'no equivalent' and why")
        for flag in our_flags:
            n_ours += 1
            if flag not in aiowsgi_flags:
                errors.append(f"{where}: {flag} is not in `python -m aiowsgi --help`")
    status = "FAILED" if errors else "ok"
    print(
        f"{status} {peer.page}: {len(rows)} rows; {n_peer} {peer.name} flags checked against "
        f"`{peer.command} --help` ({version}); {n_ours} aiowsgi flags against "
        "`python -m aiowsgi --help`"
    )
    return errors


def main() -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--allow-missing", action="store_true", help="skip the guide of a peer not installed")
    args = parser.parse_args()
    aiowsgi_flags = help_flags([sys.executable, "-m", "aiowsgi", "--help"])
    errors = []
    for peer in PEERS:
        found = check(peer, aiowsgi_flags, args.allow_missing)
        for error in found:
            print(f"  {error}")
        errors += found
    if errors:
        print(f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
