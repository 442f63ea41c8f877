"""``manyheads quickstart``: stl vs hps vs mmoe on the census-income sample in the package,
beside a gradient-boosting and a linear baseline per task (``--baselines gbdt,linear``)."""

from __future__ import annotations

import argparse
from typing import Any

from manyheads.cli._args import add_output
from manyheads.cli._common import say
from manyheads.cli.compare import add_baselines_arg, baseline_names, print_baselines

__all__ = ["HELP", "QUICKSTART", "add_arguments", "run"]

#: The quickstart's config: MMoE paper task group 1 on a 24k-row sample.
QUICKSTART: dict[str, Any] = {
    "data": {"dataset": "census-income", "dataset_options": {"sample": True}},
    "model": {
        "architecture": "hps",
        "hidden": [64],
        "tower": [32],
        "n_experts": 4,
        "expert_hidden": [32],
    },
    "train": {"epochs": 6, "batch_size": 256, "lr": 0.002, "monitor": "income.auc", "seed": 0},
    "output": "runs/quickstart",
}


#: What ``manyheads --help`` says of the verb.
HELP = (
    "compare stl, hps and mmoe with gbdt and linear baselines on a census-income sample (~1 minute)"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads quickstart``, in the order ``--help`` lists them."""
    add_output(p, "report directory", default="runs/quickstart")
    p.add_argument("--seeds", type=int, default=3, help="number of seeds")
    add_baselines_arg(p, default="gbdt,linear")


def run(args: argparse.Namespace) -> int:
    """Run the comparison and print the table and the report path."""
    from manyheads.config.load import build_config
    from manyheads.workflow._compare import compare
    from manyheads.workflow._fit import RunOptions

    raw = {**QUICKSTART, "output": args.output}
    config = build_config(raw, source="quickstart")
    baselines = baseline_names(args.baselines)
    against = f" (baselines: {', '.join(baselines)})" if baselines else ""
    say(
        "manyheads quickstart: census-income sample (income > 50K + never married), "
        f"stl vs hps vs mmoe{against}, {args.seeds} seeds"
    )
    result = compare(
        config,
        architectures=["stl", "hps", "mmoe"],
        methods=["ew"],
        seeds=args.seeds,
        output=args.output,
        options=RunOptions(overwrite=True, log=say),
        baselines=baselines,
    )
    print(result.table())
    print(
        f"\nΔm% < 0 means better than single-task (stl). Metrics: {result.split} split "
        "(4,000 rows); model selection: validation AUC of income."
    )
    print_baselines(result)
    print(f"report: {result.directory / 'report.html'} (also report.md, comparison.json)")
    return 0
