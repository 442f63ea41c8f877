"""Census-income (MMoE protocol) with ``mmoe`` x every balancing method x seeds.

    python bench/census_methods.py --seeds 0,1,2 --epochs 10 --json census_methods.json
    python bench/census_methods.py --sample --methods ew,uw,mgda --epochs 2   # quick check

For each method and seed it trains ``mmoe`` with :func:`manyheads.fit` on the train split,
selects the epoch on the validation split and reports the test AUC of both tasks; the summary is
the mean and standard deviation over seeds per method, ranked by the mean AUC over tasks.
``--budget`` stops launching new runs after that many seconds (the rest are reported as missing).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import manyheads as mh
from manyheads import list_methods
from manyheads.builtin_datasets import load_dataset


def run_one(data: Any, method: str, seed: int, epochs: int, batch_size: int) -> dict[str, Any]:
    """Train one (method, seed) and return its test metrics and timing."""
    began = time.perf_counter()
    run = mh.fit(
        data.train,
        tasks=list(data.tasks),
        inputs=data.inputs,
        valid=data.valid,
        test=data.test,
        architecture="mmoe",
        method=method,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
    )
    assert run.metrics is not None
    scores = {t: m[m["primary"]] for t, m in run.metrics["tasks"].items()}
    return {
        "method": method,
        "seed": seed,
        "scores": scores,
        "seconds": round(time.perf_counter() - began, 1),
    }


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and std per method and task, ranked by the mean over tasks (higher is better)."""
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        runs = [r for r in rows if r["method"] == method]
        tasks = list(runs[0]["scores"])
        entry: dict[str, Any] = {"method": method, "n_seeds": len(runs)}
        for t in tasks:
            values = [r["scores"][t] for r in runs]
            entry[t] = {
                "mean": statistics.mean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            }
        entry["mean_over_tasks"] = statistics.mean(entry[t]["mean"] for t in tasks)
        out.append(entry)
    return sorted(out, key=lambda e: -e["mean_over_tasks"])


def markdown(report: dict[str, Any]) -> str:
    """A Markdown table of a report: AUCs, Δm% against ``ew`` (same architecture), time."""
    summary = report["summary"]
    by_name = {e["method"]: e for e in summary}
    tasks = [k for k in summary[0] if isinstance(summary[0][k], dict)]
    base = by_name.get("ew")
    rows = [
        "| rank | method | "
        + " | ".join(f"{t} AUC" for t in tasks)
        + " | Δm% vs ew | s/run | seeds |",
        "|---|---|" + "---|" * (len(tasks) + 3),
    ]
    seconds: dict[str, list[float]] = {}
    for r in report["runs"]:
        seconds.setdefault(r["method"], []).append(r["seconds"])
    for rank, e in enumerate(summary, start=1):
        cells = [f"{e[t]['mean']:.4f} ± {e[t]['std']:.4f}" for t in tasks]
        if base is None:
            delta = "—"
        else:  # AUC: higher is better, so the sign is flipped (negative = better than ew)
            terms = [-(e[t]["mean"] - base[t]["mean"]) / base[t]["mean"] for t in tasks]
            delta = f"{100 * statistics.mean(terms):+.3f}"
        time_cell = f"{statistics.mean(seconds[e['method']]):.0f}"
        rows.append(
            f"| {rank} | {e['method']} | "
            + " | ".join(cells)
            + f" | {delta} | {time_cell} | {e['n_seeds']} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Run the grid and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", default="all", help="'all' or comma-separated names")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--sample", action="store_true", help="the 24k-row shipped sample")
    parser.add_argument("--budget", type=float, default=None, help="seconds before stopping")
    parser.add_argument("--json", default=None, help="write the results to this file")
    parser.add_argument("--markdown", default=None, help="print the table of a saved JSON")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the runs already in --json and run only the missing ones",
    )
    args = parser.parse_args(argv)
    if args.markdown:
        with open(args.markdown) as fh:
            print(markdown(json.load(fh)))
        return 0
    data = load_dataset("census-income", sample=args.sample)
    methods = list_methods() if args.methods == "all" else args.methods.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    began, rows, missing = time.perf_counter(), [], []
    if args.resume and args.json:
        with open(args.json) as fh:
            rows = [r for r in json.load(fh)["runs"] if r["method"] in methods]
    done = {(r["method"], r["seed"]) for r in rows}
    for method in methods:
        for seed in seeds:
            if (method, seed) in done:
                continue
            if args.budget is not None and time.perf_counter() - began > args.budget:
                missing.append({"method": method, "seed": seed})
                continue
            rows.append(run_one(data, method, seed, args.epochs, args.batch_size))
            print(json.dumps(rows[-1]), flush=True)
    report = {
        "architecture": "mmoe",
        "epochs": args.epochs,
        "sample": args.sample,
        "runs": rows,
        "missing": missing,
        "summary": summarise(rows),
    }
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)
    for entry in report["summary"]:
        print(entry["method"], round(entry["mean_over_tasks"], 4))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
