"""Census-income quality benchmark (MMoE paper protocol, task group 1).

Train = census-income.data (199,523 rows); the test file is split 1:1 into validation and test
(random_state=1). Inputs exclude education, marital status and the instance weight. Every
architecture trains with the same budget; the best epoch is chosen on validation income AUC; the
test AUC of each task is reported as mean ± std over seeds, next to the published figures.

Usage:
    MANYHEADS_DATA=../shared/data python bench/census_quality.py --seeds 5 --epochs 8 \
        --out bench/results/census_quality
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from pathlib import Path

import torch

from manyheads.config.load import build_config
from manyheads.workflow._compare import compare
from manyheads.workflow._fit import RunOptions

PUBLISHED = {
    "stl": ("MMoE paper single-task (mean of 400 runs)", 0.9337, 0.9922),
    "hps": ("MMoE paper shared-bottom", 0.9295, 0.9921),
    "mmoe": ("MMoE paper MMoE", 0.9359, 0.9927),
    "cross_stitch": ("MMoE paper cross-stitch", 0.9361, 0.9922),
    "soft_sharing": ("MMoE paper L2-constrained", 0.9359, 0.9918),
    "ple": ("PLE paper PLE (its single-task: 0.9445 / 0.9923)", 0.9522, 0.9945),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--architectures", default="stl,hps,mmoe,ple,cross_stitch")
    parser.add_argument("--out", default="bench/results/census_quality")
    parser.add_argument("--encoder", default="tabular", help="model.encoder, e.g. tabular_embed")
    parser.add_argument(
        "--encoder-options",
        default="{}",
        help='model.encoder_options as JSON, e.g. \'{"numeric": "periodic"}\'',
    )
    parser.add_argument("--baselines", default="", help="comma-separated, e.g. gbdt,linear")
    args = parser.parse_args()
    raw = {
        "data": {"dataset": "census-income"},
        "model": {
            "architecture": "hps",
            "hidden": [64],
            "tower": [16],
            "embed_dim": 8,
            "n_experts": 8,
            "expert_hidden": [32],
            "n_levels": 2,
            "shared_experts": 2,
            "specific_experts": 2,
            "encoder": args.encoder,
            "encoder_options": json.loads(args.encoder_options),
        },
        "train": {
            "epochs": args.epochs,
            "batch_size": 1024,
            "lr": 0.001,
            "optimizer": "adam",
            "monitor": "income.auc",
        },
        "output": args.out,
    }
    began = time.perf_counter()
    result = compare(
        build_config(raw),
        architectures=args.architectures.split(","),
        methods=["ew"],
        seeds=args.seeds,
        output=args.out,
        options=RunOptions(overwrite=True, log=print),
        baselines=[b for b in args.baselines.split(",") if b],
    )
    wall = time.perf_counter() - began
    rows = [
        "| architecture | income AUC (test) | never-married AUC (test) | Δm% vs stl | "
        "params | train s/run | published (income / never-married) |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in result.variants:
        arch = v["architecture"]
        inc, mar = v["tasks"]["income"], v["tasks"]["never_married"]
        pub = PUBLISHED.get(arch)
        pub_text = f"{pub[1]:.4f} / {pub[2]:.4f} ({pub[0]})" if pub else "—"
        rows.append(
            f"| {arch} | {inc['mean']:.4f} ± {inc['std']:.4f} | "
            f"{mar['mean']:.4f} ± {mar['std']:.4f} | "
            f"{v['delta_m']['mean']:+.3f} ± {v['delta_m']['std']:.3f} | "
            f"{v['n_parameters']:,} | {v['train_seconds']:.1f} | {pub_text} |"
        )
    table = "\n".join(rows)
    meta = {
        "date": str(date.today()),
        "machine": f"{platform.machine()} CPU, {torch.get_num_threads()} torch threads, no GPU",
        "seeds": args.seeds,
        "epochs": args.epochs,
        "wall_seconds": round(wall, 1),
        "encoder": args.encoder,
        "encoder_options": json.loads(args.encoder_options),
    }
    Path(args.out, "summary.md").write_text(table + "\n\n" + json.dumps(meta) + "\n")
    print(table)
    print(result.table())  # with the baselines' rows and every row's Δm% against them
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
