"""Finance-news topic + sentiment: one MiniLM multi-task model vs two single-task models.

    MANYHEADS_DATA=../shared/data python bench/news.py --seeds 0 --epochs 1 \\
        --json news.json --runs /tmp/news-runs --markdown
    python bench/news.py --variants hps --seeds 0 --json news.json --resume   # one run at a time
    python bench/news.py --encoder cnn --train-rows 300 --test-rows 300 --seeds 0  # quick check

Data: ``twitter-financial-news`` (topic 20-way and sentiment Bearish / Bullish / Neutral, on
different tweets). Test = the official validation files (4,117 topic, 2,388 sentiment tweets);
validation = a seeded 10% of each training file by near-duplicate group (the loader's protocol).
Variants, all on the pretrained MiniLM-L6 encoder (fine-tuned, linear heads, constant rates):

* ``hps``: one model, a source per task (``data.sources``), proportional sampling;
* ``stl topic`` and ``stl sentiment``: a single-task model per task, each on its own source.

The epoch with the lowest validation loss is kept. Reported: test accuracy and macro-F1 per task
(mean ± std over seeds), Δm% of ``hps`` against the two single-task models on accuracy (and on
macro-F1), and inference cost: the time to label every test tweet (both files) with both tasks
— one pass of the multi-task model against a pass of each single-task model — measured after
training with the saved models, interleaved, best of ``--repeats``. ``--resume`` keeps the runs
already in the JSON file, so an interrupted bench continues (``--runs`` keeps the saved models
for the timing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from _common import mean_std as _mean_std
from manyheads.builtin_datasets import load_dataset
from manyheads.config.load import build_config
from manyheads.workflow._compare import delta_m
from manyheads.workflow._fit import train_config
from manyheads.workflow._run import load

TASKS = ("topic", "sentiment")
METRICS = ("accuracy", "macro_f1")
TARGETS = {"topic": 0.88, "sentiment": 0.86}  # test accuracy (issue 20)
VARIANTS = {"hps": TASKS, "stl topic": ("topic",), "stl sentiment": ("sentiment",)}


def config(args: argparse.Namespace, variant: str, seed: int, output: str | None) -> dict[str, Any]:
    """The run configuration of one variant (the shape of examples/news-monitoring/model.yaml)."""
    tasks = VARIANTS[variant]
    options: dict[str, Any] = {"seed": 0}  # the validation hold-out is the same for every seed
    if args.train_rows:
        options["train_rows"] = args.train_rows
    if args.test_rows:
        options["limit"] = args.test_rows
    return {
        "data": {
            "sources": [
                {
                    "name": t,
                    "dataset": "twitter-financial-news",
                    "dataset_options": {**options, "part": t},
                    "tasks": [t],
                }
                for t in tasks
            ],
            "sampling": "proportional",
        },
        "inputs": {"text": "text"},
        "tasks": {t: {"type": "multiclass", "metrics": list(METRICS)} for t in tasks},
        "model": {
            "architecture": "hps" if len(tasks) > 1 else "stl",
            "encoder": args.encoder,
            "encoder_options": {"max_length": args.max_length}
            | ({"pooling": "mean"} if args.encoder == "pretrained" else {}),
            "dropout": 0.1,
        },
        "train": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": 1e-3,
            "lr_encoder": args.lr_encoder if args.encoder == "pretrained" else None,
            "precision": args.precision,
            "schedule": "constant",
            "seed": seed,
            "eval_batch_size": 256,
        },
        "output": output,
    }


def run_one(args: argparse.Namespace, variant: str, seed: int) -> dict[str, Any]:
    """Train one (variant, seed), save it under ``--runs``, return its test metrics."""
    output = str(Path(args.runs) / f"{variant.replace(' ', '-')}-{seed}") if args.runs else None
    began = time.perf_counter()
    run = train_config(build_config(config(args, variant, seed, output)), overwrite=True)
    assert run.metrics is not None
    return {
        "variant": variant,
        "seed": seed,
        "metrics": {t: {m: run.metrics["tasks"][t][m] for m in METRICS} for t in VARIANTS[variant]},
        "best_epoch": run.metrics["best_epoch"],
        "n_parameters": run.metrics["n_parameters"],
        "train_seconds": run.metrics["train_seconds"],
        "seconds": round(time.perf_counter() - began, 1),
        "output": output,
    }


def test_texts(args: argparse.Namespace) -> pd.DataFrame:
    """Every test tweet of both files (what a monitor labels with both tasks)."""
    options = {"limit": args.test_rows} if args.test_rows else {}
    data = load_dataset("twitter-financial-news", **options)
    assert data.test is not None
    return data.test[["text"]].reset_index(drop=True)


def time_inference(args: argparse.Namespace, rows: list[dict[str, Any]], seed: int) -> dict:
    """Seconds to label the test tweets with both tasks: the multi-task model vs both stl."""
    paths = {r["variant"]: r["output"] for r in rows if r["seed"] == seed}
    stand_in = args.stand_in and "stl sentiment" not in paths and "stl topic" in paths
    if stand_in:  # the same MiniLM with a 3-way head instead of a 20-way one: the same cost
        paths["stl sentiment"] = paths["stl topic"]
    if set(paths) != set(VARIANTS) or not all(p and Path(p).exists() for p in paths.values()):
        return {}
    texts = test_texts(args).iloc[: args.time_rows]
    models = {v: load(p) for v, p in paths.items()}
    seconds: dict[str, list[float]] = {v: [] for v in models}
    for _ in range(args.repeats):  # interleaved, so that a busy moment hits all alike
        for variant, model in models.items():
            began = time.perf_counter()
            model.predict(texts)
            seconds[variant].append(time.perf_counter() - began)
    best = {v: min(s) for v, s in seconds.items()}
    stl = best["stl topic"] + best["stl sentiment"]
    return {
        "seed": seed,
        "rows": len(texts),
        "hps_seconds": best["hps"],
        "stl_seconds": stl,
        "stl_per_model_seconds": {v: best[v] for v in VARIANTS if v != "hps"},
        "cost_ratio": best["hps"] / stl,
        "stl_sentiment_stand_in": bool(stand_in),
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean ± std per task and variant; Δm% of hps per seed against the mean of stl."""
    per: dict[str, Any] = {}
    for variant, tasks in VARIANTS.items():
        runs = [r for r in rows if r["variant"] == variant]
        if runs:
            per[variant] = {
                "n_seeds": len(runs),
                "seconds": statistics.mean(r["seconds"] for r in runs),
                **{
                    t: {m: _mean_std([r["metrics"][t][m] for r in runs]) for m in METRICS}
                    for t in tasks
                },
            }
    out: dict[str, Any] = {"variants": per}
    if {"hps", "stl topic", "stl sentiment"} <= set(per):
        base = {m: {t: per[f"stl {t}"][t][m]["mean"] for t in TASKS} for m in METRICS}
        hps = [r for r in rows if r["variant"] == "hps"]
        for m in METRICS:
            out[f"delta_m_{m}"] = _mean_std(
                [
                    delta_m(
                        {t: r["metrics"][t][m] for t in TASKS}, base[m], dict.fromkeys(TASKS, True)
                    )
                    for r in hps
                ]
            )
    return out


def table(summary: dict[str, Any], timing: list[dict[str, Any]]) -> str:
    """The Markdown tables of docs/benchmarks.md."""
    lines = [
        "| variant | topic acc | topic macro-F1 | sentiment acc | sentiment macro-F1 "
        "| seeds | s/run |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant, e in summary["variants"].items():
        cells = [
            f"{e[t][m]['mean']:.4f} ± {e[t][m]['std']:.4f}" if t in e else "—"
            for t in TASKS
            for m in METRICS
        ]
        lines.append(f"| {variant} | {' | '.join(cells)} | {e['n_seeds']} | {e['seconds']:.0f} |")
    for m in METRICS:
        if f"delta_m_{m}" in summary:
            d = summary[f"delta_m_{m}"]
            lines.append(f"\nΔm% of hps vs stl on {m}: {d['mean']:+.2f} ± {d['std']:.2f}")
    for t in timing:
        lines.append(
            f"\nInference, {t['rows']} test tweets, both tasks (seed {t['seed']}): hps "
            f"{t['hps_seconds']:.1f} s, two stl models {t['stl_seconds']:.1f} s "
            f"(ratio {t['cost_ratio']:.2f})"
        )
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr-encoder", type=float, default=1e-4)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument(
        "--encoder", default="pretrained", help="pretrained (MiniLM); cnn for a quick check"
    )
    parser.add_argument(
        "--time-rows", type=int, default=None, help="time inference on the first N test tweets"
    )
    parser.add_argument("--train-rows", type=int, default=None, help="training tweets per task")
    parser.add_argument("--test-rows", type=int, default=None, help="rows of every file (quick)")
    parser.add_argument("--repeats", type=int, default=3, help="inference timings (best kept)")
    parser.add_argument(
        "--stand-in",
        action="store_true",
        help="time a second copy of the stl topic model when stl sentiment has not run",
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--runs", default=None, help="folder for the saved models (timing)")
    parser.add_argument("--json", default=None)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run every variant and seed (resumable), time inference, write the JSON."""
    args = parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    path = Path(args.json) if args.json else None
    report: dict[str, Any] = {"runs": [], "timing": []}
    if args.resume and path is not None and path.exists():
        report = json.loads(path.read_text())
    seeds = [int(s) for s in args.seeds.split(",")]

    def save() -> None:
        report["settings"] = vars(args)
        report["machine"] = (
            f"{os.cpu_count()} CPU cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads"
        )
        report["summary"] = summarise(report["runs"])
        if path is not None:
            path.write_text(json.dumps(report, indent=1))

    for seed in seeds:
        for variant in args.variants.split(","):
            if any((r["variant"], r["seed"]) == (variant, seed) for r in report["runs"]):
                continue
            row = run_one(args, variant, seed)
            report["runs"].append(row)
            print(json.dumps(row), flush=True)
            save()
        if not any(t["seed"] == seed for t in report["timing"]):
            timing = time_inference(args, report["runs"], seed)
            if timing:
                report["timing"].append(timing)
                print(json.dumps(timing), flush=True)
                save()
    if args.markdown:
        print(table(summarise(report["runs"]), report["timing"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
