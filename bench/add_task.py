"""Adding a task to a trained model (issue 18 §5): census-income, ``income`` first, then
``never_married`` added with ``--unfreeze`` none / heads / all, against a model trained from
scratch on both tasks.

Protocol (the census-quality section's): UCI census-income, 199,523 train rows, the test file
split 1:1 into validation and test; Adam lr 1e-3, batch 1024. Per architecture and seed:

1. the source: ``income`` only, ``--epochs`` epochs, best epoch on validation income AUC;
2. from scratch: both tasks, the same budget, best epoch on validation income AUC;
3. ``run.add_task("never_married", "binary", train, valid=valid, test=test, unfreeze=MODE)``
   with the same epochs (best epoch on validation never-married AUC, patience 3; LwF T = 2,
   lambda 1, one warm-up epoch).

Reported: new-task test AUC against scratch, the old task's test AUC before and after (backward
transfer; 0 exactly with ``none``), and seconds (add-task training; the source's training is not
counted, since it exists already).

Usage:
    MANYHEADS_DATA=../shared/data OMP_NUM_THREADS=1 python bench/add_task.py --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from datetime import date
from typing import Any

import pandas as pd
import torch

import manyheads as mh
from manyheads.builtin_datasets import DatasetSplits, load_dataset

OPTIONS = {
    "hps": {"hidden": [64], "tower": [16], "embed_dim": 8},
    "mmoe": {"n_experts": 8, "expert_hidden": [32], "tower": [16], "embed_dim": 8},
}
TRAIN = {"batch_size": 1024, "lr": 1e-3, "monitor": "income.auc"}


def _auc(run: mh.Run, test: pd.DataFrame | None, task: str) -> float:
    assert test is not None
    return float(run.evaluate(test)["tasks"][task]["auc"])


def one(arch: str, seed: int, epochs: int, data: DatasetSplits) -> dict[str, Any]:
    """Source, scratch and the three add-task modes for one architecture and seed."""
    income, married = (t for t in data.tasks if t.name in ("income", "never_married"))
    common = {"inputs": data.inputs, "valid": data.valid, "architecture": arch, "seed": seed}
    began = time.perf_counter()
    source = mh.fit(
        data.train.drop(columns=["never_married"]),
        tasks=[income],
        model_options=OPTIONS[arch],
        epochs=epochs,
        **common,
        **TRAIN,
    )
    source_s = time.perf_counter() - began
    began = time.perf_counter()
    scratch = mh.fit(
        data.train, tasks=[income, married], model_options=OPTIONS[arch], epochs=epochs,
        **common, **TRAIN,
    )  # fmt: skip
    scratch_s = time.perf_counter() - began
    out: dict[str, Any] = {
        "source": {"income": _auc(source, data.test, "income"), "seconds": source_s},
        "scratch": {
            "income": _auc(scratch, data.test, "income"),
            "never_married": _auc(scratch, data.test, "never_married"),
            "seconds": scratch_s,
        },
    }
    for mode in ("none", "heads", "all"):
        began = time.perf_counter()
        grown = source.add_task(
            married, None, data.train, valid=data.valid, test=data.test, unfreeze=mode,
            epochs=epochs, batch_size=1024, lr=1e-3, seed=seed,
        )  # fmt: skip
        seconds = time.perf_counter() - began
        assert grown.metrics is not None
        row = grown.metrics["add_task"]["backward_transfer"]["income"]
        out[mode] = {
            "never_married": grown.metrics["tasks"]["never_married"]["auc"],
            "income_before": row["before"],
            "income_after": row["after"],
            "backward_transfer": row["change"],
            "seconds": seconds,
            "train_seconds": grown.metrics["train_seconds"],
            "best_epoch": grown.metrics["best_epoch"],
        }
        print(arch, seed, mode, json.dumps(out[mode]), flush=True)
    return out


def _ms(values: list[float], digits: int = 4) -> str:
    mean = statistics.mean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def table(results: dict[str, list[dict[str, Any]]]) -> str:
    """One row per architecture and variant: new-task AUC, old-task AUC and change, seconds."""
    head = "| arch | variant | never-married AUC (test) | income AUC (test) | income change | s |"
    rows = [head, "|---|---|---|---|---|---|"]
    for arch, runs in results.items():
        rows.append(
            f"| {arch} | scratch, both tasks | {_ms([r['scratch']['never_married'] for r in runs])}"
            f" | {_ms([r['scratch']['income'] for r in runs])} | — |"
            f" {_ms([r['scratch']['seconds'] for r in runs], 1)} |"
        )
        for mode in ("none", "heads", "all"):
            rows.append(
                f"| {arch} | add-task `--unfreeze {mode}` | "
                f"{_ms([r[mode]['never_married'] for r in runs])} | "
                f"{_ms([r[mode]['income_after'] for r in runs])} | "
                f"{_ms([r[mode]['backward_transfer'] for r in runs])} | "
                f"{_ms([r[mode]['seconds'] for r in runs], 1)} |"
            )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--architectures", default="hps,mmoe")
    parser.add_argument("--sample", action="store_true", help="the 24k-row sample (a smoke run)")
    args = parser.parse_args()
    data = load_dataset("census-income", sample=args.sample)
    seeds = [int(s) for s in args.seeds.split(",")]
    began = time.perf_counter()
    results = {
        arch: [one(arch, seed, args.epochs, data) for seed in seeds]
        for arch in args.architectures.split(",")
    }
    report = {
        "benchmark": "add-task on census-income (income, then never_married)",
        "date": date.today().isoformat(),
        "rows": {
            "train": len(data.train),
            "valid": len(data.valid),
            "test": 0 if data.test is None else len(data.test),
        },
        "seeds": seeds,
        "epochs": args.epochs,
        "results": results,
        "wall_seconds": round(time.perf_counter() - began, 1),
        "machine": f"{platform.machine()} CPU, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s)",
    }
    print(json.dumps(report, indent=2, allow_nan=False))
    print(table(results))


if __name__ == "__main__":
    main()
