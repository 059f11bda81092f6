"""The margins of the protocol-and-performance issue: each target a ratio from one run, over several runs.

    python benchmarks/margins.py             # three runs, about 9 minutes
    python benchmarks/margins.py --runs 1

One run is three invocations of run.py, one after the other, each with the servers its ratios need:

1. `keepalive`, `post` and `flask`: aiowsgi, Granian, Waitress and aiohttp-wsgi;
2. `sleep`: aiowsgi, and Waitress with `--connection-limit=1000` (`waitress-cl1000`), which then serves all
   200 connections as aiowsgi does (with its default limit of 100, half of them wait unanswered, and its
   p99 is that of the other half);
3. `attack`: aiowsgi alone, its keep-alive hello without and then with 500 slowloris, 500 idle and 50
   slow-upload connections held open: four such pairs of 5 s runs in turn (`--attack-rounds 4`), their
   req/s averaged, so that a swing of the machine's speed falls on both sides.

Every ratio is taken within one invocation. The script prints a markdown table (each target, its value in
each run, the median, and whether the median meets it) and moves run.py's reports into benchmarks/results/,
beside a `margins-<time>.json` that lists them and holds the table's numbers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
RUN = REPO / "benchmarks" / "run.py"

Report = dict[str, Any]  # one run.py JSON report
Reports = dict[str, Report]  # by invocation name

INVOCATIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # name: (servers, scenarios)
    "throughput": (("aiowsgi", "granian", "waitress", "aiohttp-wsgi"), ("keepalive", "post", "flask")),
    "sleep": (("aiowsgi", "waitress-cl1000"), ("sleep",)),
    "attack": (("aiowsgi",), ("attack",)),
}
# Extra run.py options per invocation. The attack's ratio compares runs made seconds apart, and one pair
# of 10 s runs swung by ±0.05 with the machine: four pairs of 5 s, in turn, average that out.
OPTIONS: dict[str, tuple[str, ...]] = {"attack": ("--attack-rounds", "4", "--attack-duration", "5")}


def measured(reports: Reports, invocation: str, scenario: str, server: str, key: str) -> Any:
    """`key` of a server's result in one scenario of one invocation; None if it failed or did not run."""
    for result in reports[invocation]["results"].get(scenario, []):
        if result["server"] == server and not result.get("error"):
            return result[key]
    return None


def rps(reports: Reports, invocation: str, scenario: str, server: str) -> float | None:
    return measured(reports, invocation, scenario, server, "requests_per_second")


def p99(reports: Reports, invocation: str, scenario: str, server: str) -> float | None:
    return measured(reports, invocation, scenario, server, "p99_ms")


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


def better_of(*values: float | None) -> float | None:
    known = [value for value in values if value is not None]
    return max(known) if known else None


def attacked_share(reports: Reports) -> float | None:
    """aiowsgi's keep-alive req/s under attack over its req/s alone, from the same invocation."""
    normal = measured(reports, "attack", "attack", "aiowsgi", "normal")
    attacked = measured(reports, "attack", "attack", "aiowsgi", "attacked")
    if normal is None or attacked is None:
        return None
    return ratio(attacked["requests_per_second"], normal["requests_per_second"])


@dataclass(frozen=True)
class Target:
    label: str
    measure: Callable[[Reports], float | None]
    goal: float
    at_least: bool = True  # the value must be >= the goal (else <=)
    form: str = "{:.2f}"


TARGETS = (
    Target(
        "Hello keep-alive: aiowsgi / Granian ≥ 0.6",
        lambda r: ratio(
            rps(r, "throughput", "keepalive", "aiowsgi"), rps(r, "throughput", "keepalive", "granian")
        ),
        0.6,
    ),
    Target(
        "16 KiB POST echo: aiowsgi / aiohttp-wsgi ≥ 2.5",
        lambda r: ratio(
            rps(r, "throughput", "post", "aiowsgi"), rps(r, "throughput", "post", "aiohttp-wsgi")
        ),
        2.5,
    ),
    Target(
        "Flask hello: aiowsgi / the better of Waitress and aiohttp-wsgi ≥ 2",
        lambda r: ratio(
            rps(r, "throughput", "flask", "aiowsgi"),
            better_of(
                rps(r, "throughput", "flask", "waitress"), rps(r, "throughput", "flask", "aiohttp-wsgi")
            ),
        ),
        2.0,
    ),
    Target(
        "10 ms sleep, 200 connections: aiowsgi req/s ≥ 1,560",
        lambda r: rps(r, "sleep", "sleep", "aiowsgi"),
        1560,
        form="{:,.0f}",
    ),
    Target(
        "10 ms sleep: p99, aiowsgi / Waitress --connection-limit=1000 ≤ 1",
        lambda r: ratio(p99(r, "sleep", "sleep", "aiowsgi"), p99(r, "sleep", "sleep", "waitress-cl1000")),
        1.0,
        at_least=False,
    ),
    Target("Held-open attack: aiowsgi under attack / alone ≥ 0.95", attacked_share, 0.95),
)


def run_once(index: int, stamp: str) -> tuple[Reports, dict[str, str]]:
    """One run: every invocation of run.py; returns the reports and where each was saved."""
    reports: Reports = {}
    saved: dict[str, str] = {}
    for name, (servers, scenarios) in INVOCATIONS.items():
        print(f"== run {index}: {name} ({', '.join(scenarios)})", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="aiowsgi-margins-") as tmp:
            command = [
                sys.executable,
                str(RUN),
                "--servers",
                *servers,
                "--scenarios",
                *scenarios,
                *OPTIONS.get(name, ()),
                "--output",
                tmp,
            ]
            completed = subprocess.run(command, cwd=REPO, check=False, stdout=subprocess.DEVNULL)
            found = sorted(Path(tmp).glob("*.json"))
            if completed.returncode != 0 or not found:
                raise SystemExit(f"run.py exited with {completed.returncode}: {' '.join(command)}")
            target = RESULTS / f"margins-{stamp}-run{index}-{name}.json"
            target.write_text(found[-1].read_text())
        reports[name] = json.loads(target.read_text())
        saved[name] = str(target.relative_to(REPO))
    return reports, saved


def table(values: dict[str, list[float | None]], runs: int) -> str:
    lines = [
        "| target | " + " | ".join(f"run {i + 1}" for i in range(runs)) + " | median | met? |",
        "|---|" + "---:|" * runs + "---:|---|",
    ]
    for target in TARGETS:
        row = values[target.label]
        known = [value for value in row if value is not None]
        median = statistics.median(known) if known else None
        if median is None:
            met = "-"
        else:
            met = "yes" if (median >= target.goal if target.at_least else median <= target.goal) else "**no**"
        cells = ["-" if value is None else target.form.format(value) for value in (*row, median)]
        lines.append(f"| {target.label} | " + " | ".join(cells) + f" | {met} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="how many runs (default 3)")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    values: dict[str, list[float | None]] = {target.label: [] for target in TARGETS}
    files: list[dict[str, str]] = []
    for index in range(1, args.runs + 1):
        reports, saved = run_once(index, stamp)
        files.append(saved)
        for target in TARGETS:
            values[target.label].append(target.measure(reports))
    markdown = table(values, args.runs)
    summary = {"date": stamp, "runs": files, "values": values, "table": markdown}
    path = RESULTS / f"margins-{stamp}.json"
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    print(markdown)
    print(f"\nSaved {path.relative_to(REPO)} (and the reports it lists)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
