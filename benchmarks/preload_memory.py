"""Memory per worker with and without --preload: `python benchmarks/preload_memory.py`.

For each mode, start `python -m aiowsgi benchmarks.heavy_app:app --workers N [--preload]` on a free port,
wait until every worker has logged its startup line, send each some requests, then read every process of
the server (the supervisor, the preloading process if any, the workers) from /proc/PID/smaps_rollup:

- USS (Private_Clean + Private_Dirty): what the process alone holds, which goes if it exits;
- PSS: its share of everything, shared pages divided among the processes sharing them; the PSS of all the
  processes adds up to what the server costs the machine.

Prints a markdown table and writes the numbers to benchmarks/results/preload-<date>.json. Linux only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"\[(\d+)\] INFO: aiowsgi \S+ listening on http://127\.0\.0\.1:(\d+)")
PRELOADER = re.compile(r"preloading process (\d+) has imported")


def read_kib(pid: int) -> dict[str, int]:
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        fields[name] = int(rest.split()[0])
    return {
        "rss": fields["Rss"],
        "pss": fields["Pss"],
        "uss": fields["Private_Clean"] + fields["Private_Dirty"],
    }


def measure(workers: int, preload: bool, requests: int) -> dict[str, object]:
    argv = [sys.executable, "-m", "aiowsgi", "benchmarks.heavy_app:app", "--workers", str(workers)]
    argv += ["--port", "0", "--no-access-log", "--threads", "4"] + (["--preload"] if preload else [])
    # Port 0 with --workers: the supervisor binds once and every worker reports the same port.
    proc = subprocess.Popen(argv, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    try:
        while len(LISTENING.findall("".join(lines))) < workers:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the server did not start:\n" + "".join(lines))
            lines.append(proc.stderr.readline())
        text = "".join(lines)
        worker_pids = [int(pid) for pid, _ in LISTENING.findall(text)]
        port = int(LISTENING.findall(text)[0][1])
        for _ in range(requests):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as response:
                response.read()
        processes = {"supervisor": [proc.pid], "workers": worker_pids}
        preloader = PRELOADER.search(text)
        if preloader:
            processes["preloading process"] = [int(preloader[1])]
        memory = {role: [read_kib(pid) for pid in pids] for role, pids in processes.items()}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    per_worker = memory["workers"]
    everything = [m for ms in memory.values() for m in ms]
    return {
        "preload": preload,
        "workers": workers,
        "memory_kib": memory,
        "worker_uss_mean_kib": sum(m["uss"] for m in per_worker) // len(per_worker),
        "worker_pss_mean_kib": sum(m["pss"] for m in per_worker) // len(per_worker),
        "total_pss_kib": sum(m["pss"] for m in everything),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=200, help="requests sent before measuring")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    results = [measure(args.workers, preload, args.requests) for preload in (False, True)]
    print(f"| {args.workers} workers | per worker: USS | per worker: PSS | the whole server: PSS |")
    print("|---|---:|---:|---:|")
    for result in results:
        name = "--preload" if result["preload"] else "without --preload"
        print(
            f"| {name} | {result['worker_uss_mean_kib'] / 1024:.1f} MiB | "
            f"{result['worker_pss_mean_kib'] / 1024:.1f} MiB | {result['total_pss_kib'] / 1024:.1f} MiB |"
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = Path(args.output) / f"preload-{stamp}.json"
    machine = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "kernel": os.uname().release}
    path.write_text(json.dumps({"date": stamp, "machine": machine, "results": results}, indent=2) + "\n")
    print(f"\nSaved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
