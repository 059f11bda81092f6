"""Draw the main table of a benchmarks/run.py results file: req/s per scenario and server, as ratios.

    python benchmarks/plot.py                                   # the newest file in benchmarks/results/
    python benchmarks/plot.py benchmarks/results/<file>.json --output docs/benchmarks.png

One group of bars per wrk scenario, one bar per server, each the server's successful (2xx/3xx) requests a
second divided by aiowsgi's in the same run, so 1.0 is aiowsgi. The hostile-client scenarios, which have
their own tables, are left out. Needs matplotlib (pip install matplotlib).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
HOSTILE = {"attack", "idle-memory"}


def ratios(report: dict) -> tuple[list[str], list[str], dict[str, dict[str, float]]]:
    """Scenarios, servers, and {scenario: {server: ratio to aiowsgi}} from a results file."""
    scenarios, servers, table = [], [], {}
    for scenario, rows in report["results"].items():
        if scenario in HOSTILE:
            continue
        ok = {}
        for row in rows:
            if row.get("error"):
                continue
            rps = row.get("ok_requests_per_second", row.get("requests_per_second"))
            if rps is not None:
                ok[row["server"]] = rps
        base = ok.get("aiowsgi")
        if not base:
            continue
        scenarios.append(scenario)
        table[scenario] = {server: rps / base for server, rps in ok.items()}
        servers += [s for s in ok if s not in servers]
    return scenarios, servers, table


def plot(report: dict, output: Path, title: str | None = None, only: list[str] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios, servers, table = ratios(report)
    # By default, the servers with a number in every scenario (not the variants run in only a few).
    servers = only or [s for s in servers if all(s in table[sc] for sc in scenarios)]
    if not scenarios:
        raise SystemExit("benchmarks/plot.py: no wrk scenario with an aiowsgi row in this file")
    letters = {
        "keepalive": "a",
        "close": "b",
        "large": "c",
        "post": "d",
        "stream": "e",
        "sleep": "f",
        "flask": "j",
        "cpu": "k",
    }
    width = 0.8 / len(servers)
    fig, ax = plt.subplots(figsize=(max(9, 1.3 * len(scenarios) + 5), 5), dpi=120)
    colors = plt.get_cmap("tab10")
    for i, server in enumerate(servers):
        xs = [j + (i - (len(servers) - 1) / 2) * width for j in range(len(scenarios))]
        ys = [table[s].get(server, 0.0) for s in scenarios]
        label = "aiowsgi (= 1.0)" if server == "aiowsgi" else server
        ax.bar(xs, ys, width, label=label, color=colors(i % 10))
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_xticks(range(len(scenarios)))
    ax.set_xticklabels([f"{letters[s]}: {s}" if s in letters else s for s in scenarios])
    ax.set_ylabel("req/s, ratio to aiowsgi (same run)")
    settings = report.get("settings", {})
    ax.set_title(
        title
        or f"benchmarks/run.py, {report.get('date', '')[:10]}: {settings.get('threads', '?')} threads, "
        f"server on 1 CPU, {settings.get('duration', '?')} s per run"
    )
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("results", nargs="?", type=Path, help="a results JSON (default: the newest)")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.png", help="the PNG")
    parser.add_argument("--title", help="the plot's title (default: the date and settings)")
    parser.add_argument(
        "--servers", nargs="+", help="servers to draw (default: those with a number in every scenario)"
    )
    args = parser.parse_args(argv)
    path = args.results or max(RESULTS.glob("*.json"), default=None)
    if path is None:
        print("benchmarks/plot.py: no results in benchmarks/results/", file=sys.stderr)
        return 2
    plot(json.loads(path.read_text()), args.output, args.title, args.servers)
    print(f"Wrote {args.output} from {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
