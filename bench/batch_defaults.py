"""Batch size and learning rate of a plain config on a small table (issue 17 §1, defaults).

The tables suite (``bench/tables.py``) found the multi-task models learning almost nothing of
movies' 18 genres from a plain config. This script trains the plain config of one suite table
(``stl`` and ``hps``, method ``ew``, every other setting default) under a few ``train.batch_size``
× ``train.lr`` cells and prints each task's test metric, the best epoch and the train time, so
that a default can be chosen by measurement.

Usage (from the repository root)::

    MANYHEADS_DATA=../shared/data OMP_NUM_THREADS=1 python bench/batch_defaults.py \\
        --table movies --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import manyheads as mh
from _tables_data import TABLES
from manyheads.config import load_config
from tables import plain_config

#: (batch_size, lr): the current default first.
CELLS = ((512, 1e-3), (128, 1e-3), (128, 3e-3), (64, 1e-3), (512, 1e-2))


def run_cell(
    table: str, arch: str, batch: int, lr: float, seed: int, root: Path
) -> dict[str, float]:
    """Test primary metric per task, best epoch and train seconds of one plain-config run."""
    config = plain_config(table, TABLES[table], root / f"{arch}-{batch}-{lr}-{seed}")
    config["model"] = {"architecture": arch}
    path = root / "cfg.yaml"
    path.write_text(yaml.safe_dump(config))
    overrides = [f"train.batch_size={batch}", f"train.lr={lr}", f"train.seed={seed}"]
    run = mh.train_config(load_config(path, overrides), quiet=True)
    assert run.metrics is not None
    out = {t: m[m["primary"]] for t, m in run.metrics["tasks"].items()}
    if any(m.get("mean_auc") is not None for m in run.metrics["tasks"].values()):
        out |= {
            f"{t} mean_auc": m["mean_auc"]
            for t, m in run.metrics["tasks"].items()
            if "mean_auc" in m
        }
    return out | {"best_epoch": run.metrics["best_epoch"], "train_s": run.metrics["train_seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="movies", choices=sorted(TABLES))
    parser.add_argument("--architectures", default="stl,hps")
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.architectures.split(","):
            for batch, lr in CELLS:
                rows = [run_cell(args.table, arch, batch, lr, s, Path(tmp)) for s in seeds]
                cells = {k: [r[k] for r in rows] for k in rows[0]}
                text = " | ".join(
                    f"{statistics.mean(v):.4f} ± {statistics.pstdev(v):.4f}"
                    if k not in ("best_epoch", "train_s")
                    else f"{statistics.mean(v):.1f}"
                    for k, v in cells.items()
                )
                print(f"| {arch} | {batch} | {lr:g} | {text} |", flush=True)
        print("columns:", " | ".join(["architecture", "batch", "lr", *cells]))


if __name__ == "__main__":
    main()
