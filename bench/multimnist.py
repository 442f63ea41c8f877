"""MultiMNIST / MultiFashion (Sener & Koltun, NeurIPS 2018) with their LeNet: stl vs hps + methods.

    MANYHEADS_DATA=../shared/data OMP_NUM_THREADS=1 python bench/multimnist.py \\
        --datasets multi-mnist,multi-fashion --seeds 0,1,2 --epochs 4 --json out.json
    python bench/multimnist.py --n-train 2000 --n-test 500 --epochs 1 --seeds 0   # quick check
    python bench/multimnist.py --weightings all                                   # every method
    python bench/multimnist.py --merge seeds01.json seed2.json                    # one table
    python bench/multimnist.py --weightings ew --no-stl --json ew.json   # stl is in another report

Every run trains on the dataset's train split (54,000 overlaid pairs), selects the epoch with the
lowest validation loss (6,000 pairs held out of train) and reports left/right test accuracy
(10,000 pairs). ``stl`` is two LeNets (one per task); ``hps`` shares one LeNet (``hidden: []``)
and gives each task Sener & Koltun's head (linear 50->50, ReLU, dropout, linear 50->10:
``tower: [50]``). ``mgda_ub`` is MGDA on the shared representation (``rep_grad``), their MGDA-UB.
The summary holds mean ± std over seeds and Δm% against ``stl`` of the same dataset (negative is
better), next to the published 100-epoch numbers. ``--jobs`` runs that many trainings at once,
one intra-op thread each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from typing import Any

import torch

import manyheads as mh
from _common import mean_std as _mean_std
from manyheads import list_methods
from manyheads.builtin_datasets import DatasetSplits, load_dataset
from manyheads.workflow._compare import delta_m

DEFAULT = "stl,ew,uw,gradnorm,mgda_ub,pcgrad,upgrad"
#: Sener & Koltun (2018), Table 3, test accuracy % (left, right), MultiMNIST, 100 epochs.
PUBLISHED = {
    "stl": (97.23, 95.90),
    "ew": (96.46, 94.99),
    "uw": (96.47, 95.29),
    "gradnorm": (96.27, 94.84),
    "mgda_ub": (97.26, 95.90),
}


def variant(name: str) -> tuple[str, str, dict[str, Any]]:
    """(architecture, weighting, weighting options) of a variant name."""
    if name == "stl":
        return "stl", "ew", {}
    if name == "mgda_ub":
        return "hps", "mgda", {"rep_grad": True}
    return "hps", name, {}


@lru_cache(maxsize=2)
def _data(dataset: str, n_train: int | None, n_test: int | None) -> DatasetSplits:
    return load_dataset(dataset, n_train=n_train, n_test=n_test)


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """Train one (dataset, variant, seed); return its test accuracies and timing."""
    torch.set_num_threads(1)
    data = _data(job["dataset"], job["n_train"], job["n_test"])
    arch, weighting, options = variant(job["variant"])
    began = time.perf_counter()
    run = mh.fit(
        data.train,
        tasks=list(data.tasks),
        inputs=data.inputs,
        valid=data.valid,
        test=data.test,
        architecture=arch,
        model_options={
            "encoder": "lenet",
            "encoder_options": {"dropout": job["dropout"]},
            "hidden": [],
            "tower": [50],
            "dropout": job["dropout"],
        },
        method=weighting,
        method_options=options,
        epochs=job["epochs"],
        batch_size=job["batch_size"],
        lr=job["lr"],
        optimizer="adam",
        seed=job["seed"],
        device=job.get("device", "cpu"),
    )
    assert run.metrics is not None
    return {
        "dataset": job["dataset"],
        "variant": job["variant"],
        "seed": job["seed"],
        "accuracy": {t: 100.0 * m["accuracy"] for t, m in run.metrics["tasks"].items()},
        "best_epoch": run.metrics["best_epoch"],
        "seconds": round(time.perf_counter() - began, 1),
    }


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean ± std per (dataset, variant), and Δm% per seed against the mean ``stl`` accuracy."""
    out = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        base_runs = [r for r in rows if r["dataset"] == dataset and r["variant"] == "stl"]
        base = (
            {t: statistics.mean(r["accuracy"][t] for r in base_runs) for t in ("left", "right")}
            if base_runs
            else None
        )
        for name in dict.fromkeys(r["variant"] for r in rows if r["dataset"] == dataset):
            runs = [r for r in rows if r["dataset"] == dataset and r["variant"] == name]
            entry: dict[str, Any] = {"dataset": dataset, "variant": name, "n_seeds": len(runs)}
            for t in ("left", "right"):
                entry[t] = _mean_std([r["accuracy"][t] for r in runs])
            if base is not None:
                higher = {"left": True, "right": True}
                entry["delta_m"] = _mean_std([delta_m(r["accuracy"], base, higher) for r in runs])
            entry["seconds"] = statistics.mean(r["seconds"] for r in runs)
            out.append(entry)
    return out


def table(summary: list[dict[str, Any]]) -> str:
    """The Markdown table of docs/benchmarks.md."""
    rows = [
        "| dataset | variant | left acc % | right acc % | Δm% vs stl | s/run "
        "| published (left / right, 100 ep.) |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in summary:
        pub = PUBLISHED.get(e["variant"]) if e["dataset"] == "multi-mnist" else None
        dm = e.get("delta_m")
        dm_cell = "—" if dm is None else f"{dm['mean']:+.2f} ± {dm['std']:.2f}"
        pub_cell = "—" if pub is None else f"{pub[0]:.2f} / {pub[1]:.2f}"
        rows.append(
            f"| {e['dataset']} | {e['variant']} "
            f"| {e['left']['mean']:.2f} ± {e['left']['std']:.2f} "
            f"| {e['right']['mean']:.2f} ± {e['right']['std']:.2f} "
            f"| {dm_cell} | {e['seconds']:.0f} | {pub_cell} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Run the grid, print the table and write the JSON report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--datasets", default="multi-mnist,multi-fashion")
    parser.add_argument(
        "--weightings",
        default=DEFAULT,
        help="comma-separated variants (stl, mgda_ub, or any weighting), or 'all'",
    )
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--dropout", type=float, default=0.5, help="LeNet and head dropout")
    parser.add_argument("--n-train", type=int, default=None, help="subsample train (quick runs)")
    parser.add_argument("--n-test", type=int, default=None, help="subsample test (quick runs)")
    parser.add_argument("--jobs", type=int, default=1, help="trainings run at once")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--budget", type=float, default=None, help="seconds before stopping")
    parser.add_argument("--json", default=None, help="write the results to this file")
    parser.add_argument(
        "--no-stl",
        action="store_true",
        help="do not add the stl baseline (merge with a report that has it, for Δm%%)",
    )
    parser.add_argument(
        "--merge",
        nargs="+",
        default=None,
        metavar="JSON",
        help="print the table of the runs in these reports (e.g. seeds run separately), train none",
    )
    args = parser.parse_args(argv)
    if args.merge:
        merged: dict[tuple[str, str, int], dict[str, Any]] = {}
        for path in args.merge:  # a (dataset, variant, seed) run twice counts once: the first
            with open(path) as fh:
                for row in json.load(fh)["runs"]:
                    merged.setdefault((row["dataset"], row["variant"], row["seed"]), row)
        print(table(summarise(list(merged.values()))))
        return 0
    names = (
        ["stl", *list_methods(), "mgda_ub"]
        if args.weightings == "all"
        else args.weightings.split(",")
    )
    if "stl" not in names and not args.no_stl:
        names.insert(0, "stl")  # the Δm% baseline
    jobs = [
        {
            "dataset": dataset,
            "variant": name,
            "seed": int(seed),
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "dropout": args.dropout,
            "n_train": args.n_train,
            "n_test": args.n_test,
            "device": args.device,
        }
        for seed in args.seeds.split(",")
        for dataset in args.datasets.split(",")
        for name in names
    ]
    began, rows, missing = time.time(), [], []
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        pending = []
        for job in jobs:
            pending.append((job, pool.submit(_gated, job, began, args.budget)))
        for job, future in pending:
            row = future.result()
            if row is None:
                missing.append({k: job[k] for k in ("dataset", "variant", "seed")})
                continue
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary = summarise(rows)
    report = {
        "architecture": "hps + lenet (stl: one lenet per task)",
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "wall_seconds": round(time.time() - began, 1),
        "runs": rows,
        "missing": missing,
        "summary": summary,
    }
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)
    print(table(summary))
    print(f"wall time {report['wall_seconds']} s; missing runs: {len(missing)}")
    return 0


def _gated(job: dict[str, Any], began: float, budget: float | None) -> dict[str, Any] | None:
    """Run ``job`` unless the budget (seconds since ``began``) is spent."""
    if budget is not None and time.time() - began > budget:
        return None
    return run_one(job)


if __name__ == "__main__":
    raise SystemExit(main())
