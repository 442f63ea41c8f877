"""Defaults ablation for tables on census-income (issue 17 §1).

Each cell is a plain config (``data.dataset: census-income``, ``model.architecture: hps``, every
other setting default) with one change: the encoder (``tabular`` / ``tabular_embed`` with
``ple`` or ``periodic`` numbers, ``numeric_scaling: quantile``, ``ensemble: k``) or one training
setting around its default (lr, weight decay, dropout, width, batch size, epochs with early
stopping). Train/validation/test are the splits of ``load_dataset("census-income")``; the best
epoch is chosen on validation as a plain config chooses it (``monitor: loss``); test AUC of both
tasks and the training time are recorded per cell and seed in ``results.jsonl`` (a finished cell
is not run again), then printed as one Markdown table.

``--epochs`` / ``--batch-size`` set the base budget of every cell (a cell's own setting wins),
so that the grid fits a shared machine.

Usage:
    MANYHEADS_DATA=../shared/data OMP_NUM_THREADS=1 python bench/tabular_defaults.py \
        --cells default,embed_ple,embed_quantile --seeds 1 --epochs 8 --batch-size 1024 \
        --out bench/results/tabular_defaults
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from pathlib import Path
from typing import Any

import torch

from manyheads.config.load import build_config
from manyheads.workflow._fit import train_config

#: The GBDT per task on the same splits (docs/benchmarks.md, "Tables: gradient boosting ...").
GBDT = {"income": 0.9521, "never_married": 0.9946}

PLE = {"encoder": "tabular_embed"}
QUANTILE = {"encoder": "tabular_embed", "encoder_options": {"numeric_scaling": "quantile"}}
#: name -> (model options, train settings) changed from the plain config.
CELLS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "default": ({}, {}),
    "tabular_quantile": ({"encoder_options": {"numeric_scaling": "quantile"}}, {}),
    "embed_ple": (PLE, {}),
    "embed_periodic": (
        {"encoder": "tabular_embed", "encoder_options": {"numeric": "periodic"}},
        {},
    ),
    "embed_quantile": (QUANTILE, {}),
    "embed_robust": (
        {"encoder": "tabular_embed", "encoder_options": {"numeric_scaling": "robust"}},
        {},
    ),
    "embed_ens4": ({"encoder": "tabular_embed", "encoder_options": {"ensemble": 4}}, {}),
    "embed_quantile_ens4": (
        {
            "encoder": "tabular_embed",
            "encoder_options": {"numeric_scaling": "quantile", "ensemble": 4},
        },
        {},
    ),
    "embed_quantile_ens8": (
        {
            "encoder": "tabular_embed",
            "encoder_options": {"numeric_scaling": "quantile", "ensemble": 8},
        },
        {},
    ),
    # the training axes, each around the default, on the numeric embeddings (ple)
    "ple_lr3e-4": (PLE, {"lr": 3e-4}),
    "ple_lr3e-3": (PLE, {"lr": 3e-3}),
    "ple_wd1e-4": (PLE, {"optimizer": "adamw", "weight_decay": 1e-4}),
    "ple_wd1e-2": (PLE, {"optimizer": "adamw", "weight_decay": 1e-2}),
    "ple_dropout0.1": ({**PLE, "dropout": 0.1}, {}),
    "ple_wide": ({**PLE, "hidden": [256, 128], "tower": [64]}, {}),
    "ple_narrow": ({**PLE, "hidden": [64, 32], "tower": [16]}, {}),
    "ple_batch256": (PLE, {"batch_size": 256}),
    "ple_batch2048": (PLE, {"batch_size": 2048}),
    "ple_epochs4": (PLE, {"epochs": 4}),
    "ple_epochs16_patience3": (PLE, {"epochs": 16, "patience": 3}),
    # combinations of the single changes that helped (lr 3e-3, wider, dropout, longer)
    "ple_lr3e-3_wide": ({**PLE, "hidden": [256, 128], "tower": [64]}, {"lr": 3e-3}),
    "ple_lr3e-3_dropout0.1": ({**PLE, "dropout": 0.1}, {"lr": 3e-3}),
    "ple_lr3e-3_cosine_e16": (PLE, {"lr": 3e-3, "epochs": 16, "schedule": "cosine"}),
    "ple_lr3e-3_cosine_e32": (PLE, {"lr": 3e-3, "epochs": 32, "schedule": "cosine"}),
    "ple_lr3e-3_cosine_e32_batch512": (
        PLE,
        {"lr": 3e-3, "epochs": 32, "schedule": "cosine", "batch_size": 512},
    ),
    "ple_lr3e-3_cosine_e32_ens8": (
        {**PLE, "encoder_options": {"ensemble": 8}},
        {"lr": 3e-3, "epochs": 32, "schedule": "cosine"},
    ),
    "ple_lr3e-3_wide_dropout_cosine_e16": (
        {**PLE, "hidden": [256, 128], "tower": [64], "dropout": 0.1},
        {"lr": 3e-3, "epochs": 16, "schedule": "cosine"},
    ),
    "ple_lr3e-3_wide_dropout_cosine_e16_ens8": (
        {
            **PLE,
            "hidden": [256, 128],
            "tower": [64],
            "dropout": 0.1,
            "encoder_options": {"ensemble": 8},
        },
        {"lr": 3e-3, "epochs": 16, "schedule": "cosine"},
    ),
}


def run_cell(
    name: str, seed: int, out: Path, *, base: dict[str, Any], sample: bool = False
) -> dict[str, Any]:
    """Train the cell ``name`` with ``seed`` on the ``base`` training settings; its test AUCs,
    time and epochs."""
    model, train = CELLS[name]
    raw = {
        "data": {"dataset": "census-income", "dataset_options": {"sample": sample}},
        "model": {"architecture": "hps", **model},
        "train": {**base, **train, "seed": seed},
        "output": str(out / f"{name}-seed{seed}"),
    }
    began = time.perf_counter()
    run = train_config(build_config(raw), overwrite=True)
    wall = time.perf_counter() - began
    assert run.metrics is not None
    metrics = run.metrics
    return {
        "cell": name,
        "seed": seed,
        "income": metrics["tasks"]["income"]["auc"],
        "never_married": metrics["tasks"]["never_married"]["auc"],
        "train_seconds": round(metrics["train_seconds"], 1),
        "wall_seconds": round(wall, 1),
        "epochs_run": metrics["epochs_run"],
        "best_epoch": metrics["best_epoch"],
        "n_parameters": metrics["n_parameters"],
    }


def table(rows: list[dict[str, Any]]) -> str:
    """One Markdown row per cell: mean (± std over seeds) of each figure."""
    lines = [
        "| cell | seeds | income AUC (test) | never-married AUC (test) | vs GBDT (income / "
        "never-married) | train s | epochs run (best) | params |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(r["cell"] for r in rows):
        cell = [r for r in rows if r["cell"] == name]
        inc = torch.tensor([r["income"] for r in cell], dtype=torch.float64)
        mar = torch.tensor([r["never_married"] for r in cell], dtype=torch.float64)

        def fmt(v: torch.Tensor) -> str:
            return f"{v.mean():.4f}" + (f" ± {v.std():.4f}" if len(v) > 1 else "")

        gap = f"{inc.mean() - GBDT['income']:+.4f} / {mar.mean() - GBDT['never_married']:+.4f}"
        secs = sum(r["train_seconds"] for r in cell) / len(cell)
        epochs = ", ".join(f"{r['epochs_run']} ({r['best_epoch']})" for r in cell)
        lines.append(
            f"| {name} | {len(cell)} | {fmt(inc)} | {fmt(mar)} | {gap} | {secs:.0f} | {epochs} | "
            f"{cell[0]['n_parameters']:,} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", default=",".join(CELLS), help=f"of {', '.join(CELLS)}")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--out", default="bench/results/tabular_defaults")
    parser.add_argument("--sample", action="store_true", help="the package's sample (a smoke test)")
    parser.add_argument("--epochs", type=int, help="base epochs (default: the plain config's)")
    parser.add_argument("--batch-size", type=int, help="base batch size (default: plain config's)")
    args = parser.parse_args()
    base = {"epochs": args.epochs, "batch_size": args.batch_size}
    base = {k: v for k, v in base.items() if v is not None}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    done = (
        [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    )
    for name in args.cells.split(","):
        for seed in range(args.seeds):
            if any(r["cell"] == name and r["seed"] == seed for r in done):
                continue
            row = run_cell(name, seed, out, base=base, sample=args.sample)
            done.append(row)
            with results.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    print(table([r for r in done if r["cell"] in args.cells.split(",")]))
    print(
        json.dumps(
            {
                "date": str(date.today()),
                "machine": f"{platform.machine()} CPU, {torch.get_num_threads()} torch threads",
                "base": base,
            }
        )
    )


if __name__ == "__main__":
    main()
