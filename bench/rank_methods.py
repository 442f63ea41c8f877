"""One ranking of the balancing methods over every benchmark they were run on.

    python bench/rank_methods.py --census bench/results/census_methods.json \\
        --multimnist bench/results/multimnist.json --markdown

Inputs are the JSON reports of ``bench/census_methods.py`` (census-income, ``mmoe`` × method) and
``bench/multimnist.py`` (MultiMNIST and MultiFashion, LeNet ``hps`` × method). Each dataset is one
benchmark. Within a benchmark, every run's Δm% is taken against the mean of ``ew`` (equal
weighting) over its seeds, on the benchmark's metrics (census: test AUC of both tasks;
MultiMNIST/MultiFashion: left and right test accuracy), so that a negative Δm% means better than
equal weighting. A method's score is the mean over the benchmarks it ran on of its mean Δm%, its
spread the mean of its per-benchmark seed standard deviations; methods are ranked by that mean,
and the table says on how many benchmarks each method ran (``stl`` is not a balancing method and
is listed apart where it ran).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from manyheads.workflow._compare import delta_m

Runs = dict[str, list[dict[str, float]]]  # method -> one {task: metric} per seed


def census_runs(report: dict[str, Any]) -> dict[str, Runs]:
    """``{"census-income": {method: [scores per seed]}}`` from a census_methods report."""
    runs: Runs = {}
    for row in report["runs"]:
        runs.setdefault(row["method"], []).append(dict(row["scores"]))
    return {"census-income": runs}


def multimnist_runs(report: dict[str, Any]) -> dict[str, Runs]:
    """``{dataset: {variant: [accuracies per seed]}}`` from a multimnist report."""
    out: dict[str, Runs] = {}
    for row in report["runs"]:
        out.setdefault(row["dataset"], {}).setdefault(row["variant"], []).append(
            dict(row["accuracy"])
        )
    return out


def benchmark_deltas(runs: Runs, baseline: str = "ew") -> dict[str, dict[str, float]]:
    """Per method: mean and std over seeds of Δm% against the seed-mean of ``baseline``.

    Example:
        >>> runs = {"ew": [{"a": 0.8}, {"a": 0.9}], "x": [{"a": 0.85}, {"a": 0.935}]}
        >>> {k: round(v["mean"], 2) for k, v in benchmark_deltas(runs).items()}
        {'ew': 0.0, 'x': -5.0}
    """
    tasks = list(runs[baseline][0])
    base = {t: statistics.mean(r[t] for r in runs[baseline]) for t in tasks}
    higher = dict.fromkeys(tasks, True)
    out = {}
    for method, seeds in runs.items():
        values = [delta_m({t: r[t] for t in tasks}, base, higher) for r in seeds]
        out[method] = {
            "mean": statistics.mean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "seeds": len(values),
        }
    return out


def rank(benchmarks: dict[str, Runs]) -> list[dict[str, Any]]:
    """Methods sorted by their mean Δm% vs ``ew`` over the benchmarks they ran on."""
    per = {name: benchmark_deltas(runs) for name, runs in benchmarks.items() if "ew" in runs}
    methods = sorted({m for deltas in per.values() for m in deltas})
    rows = []
    for method in methods:
        mine = {b: d[method] for b, d in per.items() if method in d}
        rows.append(
            {
                "method": method,
                "benchmarks": len(mine),
                "mean_delta_m": statistics.mean(v["mean"] for v in mine.values()),
                "mean_std": statistics.mean(v["std"] for v in mine.values()),
                "per_benchmark": mine,
            }
        )
    balancing = sorted((r for r in rows if r["method"] != "stl"), key=_order)
    return balancing + [r for r in rows if r["method"] == "stl"]


def _order(row: dict[str, Any]) -> tuple[int, float]:
    return (-int(row["benchmarks"]), float(row["mean_delta_m"]))


def table(rows: list[dict[str, Any]], names: list[str]) -> str:
    """Markdown: rank, method, mean Δm% ± spread, then Δm% per benchmark."""
    head = ["rank", "method", "benchmarks", "mean Δm% vs ew", *names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    position = 0
    for row in rows:
        position += row["method"] != "stl"
        cells = [
            "—" if row["method"] == "stl" else str(position),
            row["method"],
            str(row["benchmarks"]),
            f"{row['mean_delta_m']:+.2f} ± {row['mean_std']:.2f}",
        ]
        for name in names:
            v = row["per_benchmark"].get(name)
            cells.append("—" if v is None else f"{v['mean']:+.2f} ± {v['std']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Read the reports, print the ranking, optionally write it as JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--census", default="bench/results/census_methods.json")
    parser.add_argument("--multimnist", default="bench/results/multimnist.json")
    parser.add_argument("--json", default=None)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    benchmarks: dict[str, Runs] = {}
    if Path(args.census).exists():
        benchmarks |= census_runs(json.loads(Path(args.census).read_text()))
    if Path(args.multimnist).exists():
        benchmarks |= multimnist_runs(json.loads(Path(args.multimnist).read_text()))
    rows = rank(benchmarks)
    if args.json:
        Path(args.json).write_text(json.dumps({"benchmarks": list(benchmarks), "rows": rows}))
    if args.markdown:
        print(table(rows, list(benchmarks)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
