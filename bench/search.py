"""``manyheads search`` against the default config, on census-income and the clothing reviews.

    MANYHEADS_DATA=../shared/data python bench/search.py --datasets census,reviews --trials 30 \\
        --seeds 0,1,2 --json search.json --markdown
    python bench/search.py --datasets reviews --reviews-rows 600 --trials 3 --seeds 0  # quick check

Per dataset: the default config is trained with each seed (train, the epoch chosen on valid,
scored on test); then a search (TPE, median pruning on the per-epoch validation score of the
monitored task, SQLite in a temporary folder) picks a config on validation scores only; the
chosen config is trained with the same seeds the same way and scored on the same test split,
and the search's own final run (retrained on train + valid, tested once) is reported beside it.
Target (issue 19): the chosen config better than the defaults on the monitored task by more than
the seed spread (the larger of the two standard deviations over seeds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from _common import mean_std
from manyheads.config.load import build_config
from manyheads.search import SearchOptions, search
from manyheads.workflow._fit import train_config

#: The default configs: the dataset's tasks, the package's defaults but for the epoch count
#: (bounded for a 2-core budget) and the monitor (the task the target is about).
CONFIGS: dict[str, dict[str, Any]] = {
    "census": {
        "data": {"dataset": "census-income", "dataset_options": {"sample": True}},
        "train": {"epochs": 8, "monitor": "income.auc"},
        "output": None,
    },
    "reviews": {
        "data": {"dataset": "womens-clothing-reviews", "dataset_options": {"limit": 6000}},
        "model": {"encoder": "cnn", "encoder_options": {"max_length": 128, "vocab_size": 8000}},
        "train": {"epochs": 4, "monitor": "recommended.auc"},
        "output": None,
    },
}

#: The searched keys: architecture with its own widths, balancing method, lr, dropout, batch
#: size, epochs (up to the default config's count).
SPACE = {
    "model.architecture": {"categorical": ["hps", "mmoe", "ple"]},
    "model.hidden": {
        "categorical": [[64], [128, 64], [256, 128]],
        "when": {"model.architecture": "hps"},
    },
    "model.expert_hidden": {
        "categorical": [[32], [64], [128, 64]],
        "when": {"model.architecture": ["mmoe", "ple"]},
    },
    "model.n_experts": {"int": [2, 8], "when": {"model.architecture": "mmoe"}},
    "model.dropout": {"float": [0.0, 0.3]},
    "train.method": {"categorical": ["ew", "uw", "dwa"]},
    "train.lr": {"float": [3.0e-4, 1.0e-2], "log": True},
    "train.batch_size": {"categorical": [128, 256, 512]},
}


REVIEWS_ROWS = [6000]


def _config(name: str) -> dict[str, Any]:
    raw = json.loads(json.dumps(CONFIGS[name]))
    if name == "reviews":
        raw["data"]["dataset_options"]["limit"] = REVIEWS_ROWS[0]
    return raw


def _space(name: str) -> dict[str, Any]:
    epochs = int(CONFIGS[name]["train"]["epochs"])
    return {**SPACE, "train.epochs": {"int": [max(1, epochs // 4), epochs]}}


def _test_scores(raw: dict[str, Any], seed: int) -> dict[str, Any]:
    raw = {**raw, "train": {**raw.get("train", {}), "seed": seed}, "output": None}
    began = time.perf_counter()
    run = train_config(build_config(raw))
    assert run.metrics is not None
    return {
        "seed": seed,
        "tasks": {t: m[m["primary"]] for t, m in run.metrics["tasks"].items()},
        "metrics": run.metrics["tasks"],
        "primary": {t: m["primary"] for t, m in run.metrics["tasks"].items()},
        "seconds": round(time.perf_counter() - began, 1),
    }


def run_dataset(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Defaults × seeds, the search, the chosen config × seeds."""
    seeds = [int(s) for s in args.seeds.split(",")]
    raw = _config(name)
    defaults = [_test_scores(raw, s) for s in seeds]
    monitored = str(CONFIGS[name]["train"]["monitor"]).split(".")[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "cfg.yaml").write_text(yaml.safe_dump({**raw, "output": "unused"}))
        (folder / "space.yaml").write_text(yaml.safe_dump(_space(name), sort_keys=False))
        began = time.perf_counter()
        result = search(
            folder / "cfg.yaml",
            folder / "space.yaml",
            output=folder / "out",
            options=SearchOptions(trials=args.trials, seed=0, timeout=args.search_timeout),
            log=print,
        )
        search_seconds = time.perf_counter() - began
        best = yaml.safe_load((folder / "out" / "best.yaml").read_text())
    chosen = [_test_scores(best, s) for s in seeds]
    return {
        "dataset": name,
        "monitored": monitored,
        "trials": result.n_trials,
        "search_seconds": round(search_seconds, 1),
        "best_values": result.best_values,
        "best_validation": result.best_scores,
        "search_final": result.final,
        "defaults": defaults,
        "chosen": chosen,
        "verdict": _verdict(defaults, chosen, str(CONFIGS[name]["train"]["monitor"])),
    }


def _verdict(
    defaults: list[dict[str, Any]], chosen: list[dict[str, Any]], monitor: str
) -> dict[str, Any]:
    """The monitored metric (the one the search optimised) of the defaults and the choice."""
    task, _, metric = monitor.partition(".")
    base = mean_std([r["metrics"][task][metric] for r in defaults])
    mine = mean_std([r["metrics"][task][metric] for r in chosen])
    spread = max(base["std"], mine["std"])
    gain = mine["mean"] - base["mean"]
    return {
        "defaults": base,
        "chosen": mine,
        "gain": gain,
        "spread": spread,
        "met": len(defaults) > 1 and gain > spread,
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    """One table row per dataset and task (test, mean ± std over seeds)."""
    out = [
        "| dataset | task (metric) | defaults | chosen config | search final (train+valid) "
        "| search wall s | trials (complete / pruned) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        first = row["defaults"][0]
        for task, metric in first["primary"].items():
            base = mean_std([r["tasks"][task] for r in row["defaults"]])
            mine = mean_std([r["tasks"][task] for r in row["chosen"]])
            final = (row["search_final"] or {}).get("tasks", {}).get(task, {})
            mark = " (monitored)" if task == row["monitored"] else ""
            out.append(
                f"| {row['dataset']} | {task}{mark} ({metric}) "
                f"| {base['mean']:.4f} ± {base['std']:.4f} "
                f"| {mine['mean']:.4f} ± {mine['std']:.4f} "
                f"| {final.get(metric, float('nan')):.4f} | {row['search_seconds']:.0f} "
                f"| {row['trials'].get('complete', 0)} / {row['trials'].get('pruned', 0)} |"
            )
    return "\n".join(out)


def main() -> None:
    """Parse the options, run each dataset, print and save the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="census,reviews")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--reviews-rows", type=int, default=6000, help="reviews kept (limit)")
    parser.add_argument("--search-timeout", type=float, help="seconds of trials per search")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--markdown", action="store_true", help="print the Markdown table")
    args = parser.parse_args()
    REVIEWS_ROWS[0] = args.reviews_rows
    rows = []
    for name in args.datasets.split(","):
        began = time.perf_counter()
        rows.append(run_dataset(name, args))
        rows[-1]["total_seconds"] = round(time.perf_counter() - began, 1)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2))
        print(json.dumps({k: rows[-1][k] for k in ("dataset", "verdict", "total_seconds")}))
    if args.markdown:
        print(markdown(rows))
    print("seconds per dataset:", statistics.mean(r["total_seconds"] for r in rows))


if __name__ == "__main__":
    main()
