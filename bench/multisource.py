"""Tasks from different datasets in one run: three sources, one shared text encoder.

    MANYHEADS_DATA=../shared/data python bench/multisource.py --seeds 0,1,2 --epochs 3 \\
        --json multisource.json --markdown
    python bench/multisource.py --clothing-limit 600 --uner-limit 300 --epochs 1 --seeds 0  # quick

Sources (each with its own train / validation / test split, see ``manyheads ls datasets``):

* ``womens-clothing-reviews`` → department (6-way) + rating (5-way); ``--clothing-limit`` keeps
  the first N usable reviews before the split (every split shrinks);
* ``sentiment-sentences`` → sentiment (binary) + domain (amazon / imdb / yelp);
* ``uner-en-ewt`` → NER (BIO tags, entity F1); ``--uner-limit`` keeps the first N sentences of
  each split.

All rows feed one ``tokens`` input (review and sentence strings are split into words; UNER
brings its word lists). Variants: ``stl`` (one network per task: each task's own single-task
model, trained on its own source) and ``hps`` with proportional, uniform and temperature
sampling (``--temperatures``). Each task's test metric is compared with its single-task model;
Δm% per source and overall. The encoder is ``--encoder`` (bilstm by default).
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
from manyheads.config.load import build_config
from manyheads.workflow._compare import delta_m
from manyheads.workflow._fit import train_config
from manyheads.workflow._splits import load_splits

TASKS: dict[str, dict[str, Any]] = {
    "department": {"type": "multiclass", "metrics": ["macro_f1", "accuracy"]},
    "rating": {"type": "multiclass", "metrics": ["macro_f1", "accuracy"]},
    "sentiment": {"type": "binary", "metrics": ["accuracy", "f1"]},
    "domain": {"type": "multiclass", "metrics": ["accuracy", "macro_f1"]},
    "ner": {"type": "tagging", "scheme": "bio"},
}
SOURCES = {
    "clothing": ["department", "rating"],
    "sentences": ["sentiment", "domain"],
    "uner": ["ner"],
}


def config(
    args: argparse.Namespace, arch: str, sampling: str, temperature: float, seed: int
) -> dict[str, Any]:
    """The run configuration of one variant."""
    clothing_opts = {} if args.clothing_limit is None else {"limit": args.clothing_limit}
    uner_opts = {} if args.uner_limit is None else {"limit": args.uner_limit}
    return {
        "data": {
            "sources": [
                {
                    "name": "clothing",
                    "dataset": "womens-clothing-reviews",
                    "dataset_options": clothing_opts,
                    "tasks": SOURCES["clothing"],
                    "columns": {"review": "tokens"},
                },
                {
                    "name": "sentences",
                    "dataset": "sentiment-sentences",
                    "tasks": SOURCES["sentences"],
                    "columns": {"sentence": "tokens"},
                },
                {
                    "name": "uner",
                    "dataset": "uner-en-ewt",
                    "dataset_options": uner_opts,
                    "tasks": SOURCES["uner"],
                },
            ],
            "sampling": sampling,
            "temperature": temperature,
        },
        "inputs": {"tokens": "tokens"},
        "tasks": TASKS,
        "model": {
            "architecture": arch,
            "encoder": args.encoder,
            "encoder_options": {"max_length": args.max_length},
            "hidden": [],
            "tower": [64],
            "dropout": 0.1,
        },
        "train": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "seed": seed,
            "eval_batch_size": 256,
            "group_by_length": args.group_by_length,
            # stl is each task's own single-task model: always the plain per-task mean
            "task_loss": "mean" if arch == "stl" else args.task_loss,
        },
        "output": None,
    }


def variants(
    temperatures: list[float], task_loss: str = "mean"
) -> list[tuple[str, str, str, float]]:
    """(name, architecture, sampling, temperature) of every variant."""
    suffix = "" if task_loss == "mean" else f" {task_loss}"
    out = [
        ("stl", "stl", "proportional", 1.0),
        (f"hps proportional{suffix}", "hps", "proportional", 1.0),
        (f"hps uniform{suffix}", "hps", "uniform", 1.0),
    ]
    out += [(f"hps T={t:g}{suffix}", "hps", "temperature", t) for t in temperatures]
    return out


def _primary(metrics: dict[str, Any]) -> dict[str, float]:
    return {t: float(m[m["primary"]]) for t, m in metrics.items()}


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean ± std of each task's primary test metric; Δm% overall and per source vs stl."""
    stl = [r for r in rows if r["variant"] == "stl"]
    base = {t: statistics.mean(r["primary"][t] for r in stl) for t in TASKS} if stl else None
    out = []
    for name in dict.fromkeys(r["variant"] for r in rows):
        runs = [r for r in rows if r["variant"] == name]
        entry: dict[str, Any] = {"variant": name, "n_seeds": len(runs)}
        for t in TASKS:
            entry[t] = _mean_std([r["primary"][t] for r in runs])
        if base is not None:
            higher = dict.fromkeys(TASKS, True)
            entry["delta_m"] = _mean_std([delta_m(r["primary"], base, higher) for r in runs])
            for src, tasks in SOURCES.items():
                entry[f"delta_m_{src}"] = _mean_std(
                    [
                        delta_m(
                            {t: r["primary"][t] for t in tasks}, {t: base[t] for t in tasks}, higher
                        )
                        for r in runs
                    ]
                )
        entry["sampling"] = runs[0]["sampling"]
        entry["seconds"] = statistics.mean(r["seconds"] for r in runs)
        out.append(entry)
    return out


def table(summary: list[dict[str, Any]]) -> str:
    """The Markdown table of docs/benchmarks.md."""
    head = [
        "variant",
        "department macro-F1",
        "rating macro-F1",
        "sentiment acc",
        "domain acc",
        "NER F1",
        "Δm% clothing",
        "Δm% sentences",
        "Δm% uner",
        "Δm% all",
        "examples/epoch (clothing / sentences / uner)",
        "s/run",
    ]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def ms(x: dict[str, float] | None, sign: bool = False) -> str:
        if x is None:
            return "—"
        if sign:
            return f"{x['mean']:+.2f} ± {x['std']:.2f}"
        return f"{x['mean']:.3f} ± {x['std']:.3f}"

    for e in summary:
        mix = " / ".join(str(e["sampling"]["sources"][s]["examples_per_epoch"]) for s in SOURCES)
        rows.append(
            "| "
            + " | ".join(
                [
                    e["variant"],
                    *(ms(e[t]) for t in TASKS),
                    *(ms(e.get(f"delta_m_{s}"), sign=True) for s in SOURCES),
                    ms(e.get("delta_m"), sign=True),
                    mix,
                    f"{e['seconds']:.0f}",
                ]
            )
            + " |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Run every variant and seed (resumable), print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--encoder", default="bilstm")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--temperatures", default="2,5")
    parser.add_argument("--clothing-limit", type=int, default=None)
    parser.add_argument("--uner-limit", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--group-by-length", action="store_true", help="batches of rows of similar length"
    )
    parser.add_argument(
        "--task-loss",
        default="mean",
        choices=("mean", "share"),
        help="train.task_loss of the multi-task variants (stl keeps mean)",
    )
    parser.add_argument("--json", default=None)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    temps = [float(t) for t in args.temperatures.split(",") if t]
    path = Path(args.json) if args.json else None
    done: list[dict[str, Any]] = []
    if args.resume and path is not None and path.exists():
        done = json.loads(path.read_text())["runs"]
    splits = None
    for seed in (int(s) for s in args.seeds.split(",")):
        for name, arch, sampling, temperature in variants(temps, args.task_loss):
            if any((r["variant"], r["seed"]) == (name, seed) for r in done):
                continue
            cfg = build_config(config(args, arch, sampling, temperature, seed))
            if splits is None:  # the data is the same for every variant: read it once
                splits, _ = load_splits(cfg)
            began = time.perf_counter()
            run = train_config(cfg, splits=splits)
            assert run.metrics is not None
            row = {
                "variant": name,
                "seed": seed,
                "primary": _primary(run.metrics["tasks"]),
                "tasks": run.metrics["tasks"],
                "sources": run.metrics["sources"],
                "sampling": run.metrics["sampling"],
                "best_epoch": run.metrics["best_epoch"],
                "seconds": round(time.perf_counter() - began, 1),
            }
            done.append(row)
            print(
                json.dumps({k: row[k] for k in ("variant", "seed", "primary", "seconds")}),
                flush=True,
            )
            if path is not None:
                path.write_text(
                    json.dumps(
                        {
                            "settings": vars(args),
                            "machine": f"{os.cpu_count()} CPU cores, torch {torch.__version__}, "
                            f"{torch.get_num_threads()} threads",
                            "runs": done,
                            "summary": summarise(done),
                        },
                        indent=1,
                    )
                )
    if args.markdown:
        print(table(summarise(done)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
