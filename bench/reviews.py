"""Topic + sentiment on real reviews: every text encoder, stl vs hps vs mmoe.

    MANYHEADS_DATA=../shared/data python bench/reviews.py --encoders bilstm,cnn,transformer \\
        --archs stl,hps,mmoe --seeds 0,1,2 --epochs 3 --json reviews.json --markdown
    python bench/reviews.py --encoders pretrained --train-rows 4000 --epochs 1 --max-length 96
    python bench/reviews.py --train-rows 500 --epochs 1 --seeds 0        # quick check

Data: ``womens-clothing-reviews`` (the folder README's split: row index % 10, 0-7 train, 8
validation, 9 test; 18,099 / 2,268 / 2,261 reviews). Tasks: department (6-way), rating (5-way),
recommended (binary). ``--train-rows`` keeps the first N training reviews (``--valid-rows`` and
``--test-rows`` likewise; by default validation and test stay whole). The epoch with the lowest
validation loss is kept; test accuracy and macro-F1 (and
F1 of the recommended class, the number Agarap 2018 reports: 0.88 on the paper's own split) are
reported as mean ± std over seeds, with Δm% of each multi-task variant against ``stl`` with the same
encoder (negative is better). ``--resume`` skips runs already in the JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from _common import mean_std as _mean_std
from manyheads.builtin_datasets import load_dataset
from manyheads.config.load import build_config
from manyheads.workflow._compare import delta_m
from manyheads.workflow._fit import train_config
from manyheads.workflow._splits import Splits

TASKS = {
    "department": {"type": "multiclass", "metrics": ["accuracy", "macro_f1"]},
    "rating": {"type": "multiclass", "metrics": ["accuracy", "macro_f1"]},
    "recommended": {"type": "binary", "metrics": ["f1", "accuracy", "auc"]},
}
#: the metric Δm% uses per task (primary); all metrics are reported.
PRIMARY = {"department": "macro_f1", "rating": "macro_f1", "recommended": "f1"}


def encoder_options(encoder: str, max_length: int) -> dict[str, Any]:
    """The encoder options used for ``encoder``."""
    if encoder == "pretrained":
        return {"max_length": max_length, "pooling": "mean"}
    return {"max_length": max_length, "vocab_size": 8000}


def run_one(job: dict[str, Any], splits: Splits) -> dict[str, Any]:
    """Train one (encoder, architecture, seed) and return its test metrics."""
    pretrained = job["encoder"] == "pretrained"
    raw = {
        "data": {"train": "<frame>"},
        "inputs": {"review": "text"},
        "tasks": TASKS,
        "model": {
            "architecture": job["arch"],
            "encoder": job["encoder"],
            "encoder_options": encoder_options(job["encoder"], job["max_length"]),
            "hidden": [] if pretrained else [128],
            "tower": [64],
            "dropout": 0.1,
        },
        "train": {
            "epochs": job["epochs"],
            "batch_size": job["batch_size"],
            # the encoder (shared, or each task's own in stl) fine-tunes at lr_encoder; constant
            # for it (bench/uner.py: a one-epoch cosine decay halved MiniLM's NER F1)
            "lr": 1e-3,
            "lr_encoder": (job["lr"] or 1e-4) if pretrained else job["lr"],
            "seed": job["seed"],
            "eval_batch_size": 256,
            "schedule": "constant" if pretrained else "cosine",
            "group_by_length": job.get("group_by_length", False),
        },
        "output": None,
    }
    began = time.perf_counter()
    run = train_config(build_config(raw), splits=splits)
    assert run.metrics is not None
    return {
        **{k: job[k] for k in ("encoder", "arch", "seed")},
        "metrics": {
            t: {k: v for k, v in m.items() if k not in ("primary", "higher_is_better")}
            for t, m in run.metrics["tasks"].items()
        },
        "best_epoch": run.metrics["best_epoch"],
        "n_parameters": run.metrics["n_parameters"],
        "train_seconds": run.metrics["train_seconds"],
        "seconds": round(time.perf_counter() - began, 1),
    }


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean ± std per (encoder, arch) and Δm% per seed against the mean of ``stl``."""
    out = []
    for encoder in dict.fromkeys(r["encoder"] for r in rows):
        mine = [r for r in rows if r["encoder"] == encoder]
        stl = [r for r in mine if r["arch"] == "stl"]
        base = (
            {t: statistics.mean(r["metrics"][t][PRIMARY[t]] for r in stl) for t in TASKS}
            if stl
            else None
        )
        for arch in dict.fromkeys(r["arch"] for r in mine):
            runs = [r for r in mine if r["arch"] == arch]
            entry: dict[str, Any] = {"encoder": encoder, "arch": arch, "n_seeds": len(runs)}
            for t in TASKS:
                entry[t] = {
                    m: _mean_std([r["metrics"][t][m] for r in runs])
                    for m in TASKS[t]["metrics"]  # type: ignore[attr-defined]
                }
            if base is not None:
                per_seed = [
                    delta_m(
                        {t: r["metrics"][t][PRIMARY[t]] for t in TASKS},
                        base,
                        dict.fromkeys(TASKS, True),
                    )
                    for r in runs
                ]
                entry["delta_m"] = _mean_std(per_seed)
            entry["seconds"] = statistics.mean(r["seconds"] for r in runs)
            entry["n_parameters"] = runs[0]["n_parameters"]
            out.append(entry)
    return out


def table(summary: list[dict[str, Any]]) -> str:
    """The Markdown table of docs/benchmarks.md."""
    rows = [
        "| encoder | arch | department acc / macro-F1 | rating acc / macro-F1 "
        "| recommended F1 / acc | Δm% vs stl | params | s/run |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def cell(e: dict[str, Any], task: str, a: str, b: str) -> str:
        x, y = e[task][a], e[task][b]
        return f"{x['mean']:.3f} ± {x['std']:.3f} / {y['mean']:.3f} ± {y['std']:.3f}"

    for e in summary:
        dm = e.get("delta_m")
        dm_cell = "—" if dm is None else f"{dm['mean']:+.2f} ± {dm['std']:.2f}"
        rows.append(
            f"| {e['encoder']} | {e['arch']} | {cell(e, 'department', 'accuracy', 'macro_f1')} "
            f"| {cell(e, 'rating', 'accuracy', 'macro_f1')} "
            f"| {cell(e, 'recommended', 'f1', 'accuracy')} "
            f"| {dm_cell} "
            f"| {e['n_parameters']:,} | {e['seconds']:.0f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Run the grid (resumable), print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--encoders", default="bilstm,cnn,transformer,pretrained")
    parser.add_argument("--archs", default="stl,hps,mmoe")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--lr", type=float, default=None, help="encoder lr: default 1e-3, 1e-4 pretrained"
    )
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--train-rows", type=int, default=None, help="first N training reviews")
    parser.add_argument("--valid-rows", type=int, default=None, help="first N validation reviews")
    parser.add_argument("--test-rows", type=int, default=None, help="first N test reviews")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--group-by-length", action="store_true", help="batches of reviews of similar length"
    )
    parser.add_argument("--json", default=None)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    data = load_dataset("womens-clothing-reviews")
    train = data.train.iloc[: args.train_rows]
    valid = data.valid.iloc[: args.valid_rows]
    test = data.test.iloc[: args.test_rows]
    splits = Splits(train, valid, test)
    done: list[dict[str, Any]] = []
    path = Path(args.json) if args.json else None
    if args.resume and path is not None and path.exists():
        done = json.loads(path.read_text())["runs"]
    for encoder in args.encoders.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            for arch in args.archs.split(","):
                key = (encoder, arch, seed)
                if any((r["encoder"], r["arch"], r["seed"]) == key for r in done):
                    continue
                job = {
                    "encoder": encoder,
                    "arch": arch,
                    "seed": seed,
                    "epochs": args.epochs,
                    "batch_size": args.batch_size,
                    "lr": args.lr,
                    "max_length": args.max_length,
                    "group_by_length": args.group_by_length,
                }
                row = run_one(job, splits)
                done.append(row)
                print(json.dumps(row), flush=True)
                if path is not None:
                    report = {
                        "settings": {
                            **vars(args),
                            "rows_used": {
                                "train": len(train),
                                "valid": len(valid),
                                "test": len(test),
                            },
                        },
                        "machine": f"{os.cpu_count()} CPU cores, torch {torch.__version__}, "
                        f"{torch.get_num_threads()} threads",
                        "runs": done,
                        "summary": summarise(done),
                    }
                    path.write_text(json.dumps(report, indent=1))
    if args.markdown:
        print(table(summarise(done)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
