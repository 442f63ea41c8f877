"""The default batch size of a table, by its size: measured over the tables suite (issue 17 §1).

A plain config used to train every table with batches of 512 rows, so a table of a few thousand
rows got a handful of optimiser steps an epoch (movies: 13) and its rare labels were barely
learnt (``bench/batch_defaults.py``). This script trains the plain ``hps`` config of every suite
table (``bench/_tables_data.py``, same splits) under several batch rules and, per rule, prints
each task's test primary metric (mean over seeds) and on how many tasks it beats the suite's
cached ``linear`` and ``gbdt`` baselines (``/work/bench-runs/tables/results.json``, written by
``bench/tables.py``; the baselines are deterministic).

A rule is ``512`` (a fixed batch) or ``n/K``: the largest power of two at most (train rows) / K,
between 32 and 512, i.e. an epoch of at least K steps where the table allows it.

Usage (from the repository root; one heavy job at a time)::

    MANYHEADS_DATA=../shared/data OMP_NUM_THREADS=1 python bench/batch_rule.py \\
        --rules 512,n/32,n/100 --seeds 0,1 --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import manyheads as mh
from _tables_data import TABLES
from manyheads.config import load_config
from tables import RUNS, _data_file, plain_config


def rule_batch(rule: str, n_train: int) -> int:
    """The batch size a rule gives a table of ``n_train`` training rows.

    Example:
        >>> rule_batch("512", 100), rule_batch("n/32", 6346), rule_batch("n/32", 10**6)
        (512, 128, 512)
    """
    if not rule.startswith("n/"):
        return int(rule)
    per = n_train // int(rule[2:])
    size = 32
    while size * 2 <= min(per, 512):
        size *= 2
    return size


def train_rows(name: str) -> int:
    """The number of training rows the suite gives a table (its data file is already capped)."""
    frame = pd.read_parquet(_data_file(name, TABLES[name]), columns=["split"])
    return int((frame["split"] == "train").sum())


def run_cell(name: str, batch: int | None, seed: int, root: Path) -> dict[str, float]:
    """Each task's test primary metric of one plain-config ``hps`` run (``batch`` None: default)."""
    config = plain_config(name, TABLES[name], root / f"{name}-{batch}-{seed}")
    path = root / "cfg.yaml"
    path.write_text(yaml.safe_dump(config))
    overrides = [f"train.seed={seed}"] + ([] if batch is None else [f"train.batch_size={batch}"])
    run = mh.train_config(load_config(path, overrides), quiet=True)
    assert run.metrics is not None
    return {t: float(m[m["primary"]]) for t, m in run.metrics["tasks"].items()}


def baselines(name: str) -> dict[str, dict[str, tuple[float, bool]]]:
    """The cached linear and gbdt test metric per task (value, higher is better)."""
    cache = json.loads((RUNS / "results.json").read_text(encoding="utf-8"))[name]["0"]
    return {
        b: {t: (m["test"], m["higher_is_better"]) for t, m in cache[b]["tasks"].items()}
        for b in ("linear", "gbdt")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(t for t in TABLES if t != "school"))
    parser.add_argument("--rules", default="512,n/32,n/100")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rules = args.rules.split(",")
    results: dict[str, Any] = {}
    wins = {r: {"tasks": 0, "linear": 0, "gbdt": 0} for r in rules}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.tables.split(","):
            n = train_rows(name)
            base = baselines(name)
            results[name] = {"n_train": n}
            for rule in rules:
                batch = rule_batch(rule, n)
                runs = [run_cell(name, batch, s, Path(tmp)) for s in seeds]
                means = {t: statistics.mean(r[t] for r in runs) for t in runs[0]}
                results[name][rule] = {"batch": batch, "test": means}
                for t, value in means.items():
                    wins[rule]["tasks"] += 1
                    for b in ("linear", "gbdt"):
                        ref, higher = base[b][t]
                        wins[rule][b] += int(value > ref if higher else value < ref)
                text = " ".join(f"{t}={v:.4f}" for t, v in means.items())
                print(f"{name} n={n} {rule} batch={batch}: {text}", flush=True)
    for rule in rules:
        w = wins[rule]
        print(f"| {rule} | {w['linear']}/{w['tasks']} | {w['gbdt']}/{w['tasks']} |")
    if args.json is not None:
        args.json.write_text(json.dumps({"results": results, "wins": wins}, indent=1))


if __name__ == "__main__":
    main()
