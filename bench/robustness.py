"""Does sharing resist noise better? Multi-task vs single-task runs under input corruption.

    MANYHEADS_DATA=../shared/data python bench/robustness.py --setup census --seeds 0,1,2 \\
        --json robustness_census.json
    MANYHEADS_DATA=../shared/data python bench/robustness.py --setup reviews --seeds 0,1 \\
        --json robustness_reviews.json
    python bench/robustness.py --markdown robustness_census.json robustness_reviews.json
    python bench/robustness.py --setup census --seeds 0 --epochs 1 --json smoke.json  # quick

Each setup trains its variants with ``compare`` (``stl`` and the multi-task architectures, the
same splits, model selection on validation) into ``--work``, then scores every run on the test
split clean and under each corruption that applies to its inputs at ``--strengths`` with
:func:`manyheads.robustness.robustness` (seeded: every run sees the same corrupted rows).

* ``census``: census-income, the 24k-row sample shipped in the package (MMoE group 1: income,
  never_married; test split 4,000 rows); ``stl``, ``hps`` and ``mmoe``; corruptions
  ``gaussian`` (numeric columns) and ``category_dropout`` (categorical columns, to the unseen
  index). The settings of ``manyheads quickstart`` (``hidden: [64]``, ``tower: [32]``, MMoE
  4 experts of ``[32]``; 6 epochs, batch 256, lr 2e-3, the epoch of the best validation
  income AUC).
* ``reviews``: womens-clothing-reviews, the first ``--limit`` reviews (split by row index as
  the data README says: 80% train, 10% validation, 10% test), BiLSTM encoder as
  bench/reviews.py; ``stl`` and ``hps``; corruptions ``word_dropout`` and ``typos``.

The table: per variant and corruption the primary test metric of each task, clean and at each
strength (mean over seeds), and the mean drop over tasks and strengths in % of the clean value
(positive: worse); sharing "resists noise better" when its mean drop is below ``stl``'s by more
than the spread over seeds (the per-seed drops are in the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from manyheads.cli.quickstart import QUICKSTART
from manyheads.config.load import build_config
from manyheads.robustness import robustness
from manyheads.workflow._compare import compare
from manyheads.workflow._fit import RunOptions
from manyheads.workflow._run import load
from manyheads.workflow._splits import load_splits

SETUPS: dict[str, dict[str, Any]] = {
    "census": {
        # the settings of `manyheads quickstart` (6 epochs, selection on validation income AUC)
        "raw": {k: v for k, v in QUICKSTART.items() if k != "output"},
        "architectures": ["stl", "hps", "mmoe"],
        "corruptions": ["gaussian", "category_dropout"],
    },
    "reviews": {
        "raw": {
            "data": {"dataset": "womens-clothing-reviews", "dataset_options": {"limit": 6000}},
            "inputs": {"review": "text"},
            "tasks": {
                "department": {"type": "multiclass", "metrics": ["macro_f1", "accuracy"]},
                "rating": {"type": "multiclass", "metrics": ["macro_f1", "accuracy"]},
                "recommended": {"type": "binary", "metrics": ["f1", "auc", "accuracy"]},
            },
            "model": {
                "architecture": "hps",
                "encoder": "bilstm",
                "encoder_options": {"max_length": 128, "vocab_size": 8000},
                "hidden": [128],
                "tower": [64],
                "dropout": 0.1,
            },
            "train": {
                "epochs": 2,
                "batch_size": 32,
                "lr": 0.001,
                "schedule": "cosine",
                "eval_batch_size": 256,
            },
        },
        "architectures": ["stl", "hps"],
        "corruptions": ["word_dropout", "typos"],
    },
}


def run_setup(args: argparse.Namespace) -> dict[str, Any]:
    """Train the setup's comparison, then measure it under corruption."""
    setup = SETUPS[args.setup]
    raw = json.loads(json.dumps(setup["raw"]))
    if args.epochs is not None:
        raw["train"]["epochs"] = args.epochs
    if args.limit is not None and args.setup == "reviews":
        raw["data"]["dataset_options"]["limit"] = args.limit
    config = build_config(raw)
    seeds = [int(s) for s in args.seeds.split(",")]
    out = Path(args.work) / args.setup
    began = time.perf_counter()
    result = compare(
        config,
        architectures=setup["architectures"],
        methods=["ew"],
        seeds=seeds,
        output=out,
        options=RunOptions(quiet=True, overwrite=True, log=print),
    )
    train_seconds = time.perf_counter() - began
    runs = {v["name"]: [load(r) for r in v["runs"]] for v in result.variants}
    splits, _ = load_splits(config)
    assert splits.test is not None
    strengths = [float(s) for s in args.strengths.split(",")]
    began = time.perf_counter()
    measured = robustness(runs, splits.test, strengths=strengths, corruptions=setup["corruptions"])
    return {
        "setup": args.setup,
        "config": raw,
        "seeds": seeds,
        "train_seconds": round(train_seconds, 1),
        "robustness_seconds": round(time.perf_counter() - began, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "date": time.strftime("%Y-%m-%d"),
        "result": measured.to_dict(),
        "per_seed_drop": per_seed_drop(measured.to_dict()),
    }


def per_seed_drop(data: dict[str, Any]) -> dict[str, dict[str, list[float]]]:
    """Per variant and corruption: the mean drop over tasks and strengths > 0 of each seed."""
    out: dict[str, dict[str, list[float]]] = {}
    tasks = data["tasks"]
    for variant, by_corruption in data["variants"].items():
        for corruption, entries in by_corruption.items():
            n_runs = len(entries[0]["tasks"][next(iter(tasks))]["per_run"])
            drops = []
            for i in range(n_runs):
                values = []
                for entry in entries[1:]:
                    for task, spec in tasks.items():
                        clean = entries[0]["tasks"][task]["per_run"][i]
                        value = entry["tasks"][task]["per_run"][i]
                        sign = 1.0 if spec["higher_is_better"] else -1.0
                        values.append(100.0 * sign * (clean - value) / abs(clean))
                drops.append(statistics.mean(values))
            out.setdefault(variant, {})[corruption] = drops
    return out


def markdown(reports: list[dict[str, Any]]) -> str:
    """One table per report: metric per strength and the mean drop (± std over seeds)."""
    parts = []
    for report in reports:
        data = report["result"]
        strengths = data["strengths"]
        tasks = data["tasks"]
        head = ["variant", "corruption"]
        head += [
            f"{t} {s['primary']} @ {', '.join(f'{x:g}' for x in strengths)}"
            for t, s in tasks.items()
        ]
        head += ["mean drop % (± std over seeds)"]
        lines = [f"**{report['setup']}** (seeds {report['seeds']}, {data['rows']} test rows)", ""]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for variant, by_corruption in data["variants"].items():
            for corruption, entries in by_corruption.items():
                cells = [" / ".join(f"{e['tasks'][t]['mean']:.4f}" for e in entries) for t in tasks]
                drops = report["per_seed_drop"][variant][corruption]
                spread = statistics.stdev(drops) if len(drops) > 1 else 0.0
                drop = f"{statistics.mean(drops):+.2f} ± {spread:.2f}"
                lines.append(f"| {variant} | {corruption} | " + " | ".join(cells) + f" | {drop} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Run one setup into ``--json``, or print the tables of finished reports."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--setup", choices=sorted(SETUPS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=None, help="override the setup's epochs")
    parser.add_argument("--limit", type=int, default=None, help="reviews: the first N reviews")
    parser.add_argument("--strengths", default="0.1,0.2,0.4,0.8")
    parser.add_argument("--work", default="bench/results/robustness", help="runs go here")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", default=None, help="write the report here")
    parser.add_argument("--markdown", nargs="*", default=None, help="print these reports")
    args = parser.parse_args(argv)
    if args.markdown:
        reports = [json.loads(Path(p).read_text()) for p in args.markdown]
        print(markdown(reports))
        return 0
    if args.setup is None:
        parser.error("--setup is required (or --markdown REPORT ...)")
    if args.threads:
        torch.set_num_threads(args.threads)
    report = run_setup(args)
    text = json.dumps(report, indent=1, default=lambda v: None)
    if args.json:
        Path(args.json).write_text(text)
    print(markdown([report]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
