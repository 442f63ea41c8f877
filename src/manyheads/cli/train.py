"""``manyheads train CONFIG [key=value ...]``: train one model into a run directory."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from manyheads.cli._common import Subparsers, add_config_args, say

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Subparsers) -> None:
    """Register the ``train`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "train",
        help="train one multi-task model from a config",
        description="Train one model. Writes .manyheads-run (first), config.yaml, "
        "model.safetensors, model.json, metrics.json, history.csv and TensorBoard events "
        "into the config's 'output'.",
    )
    add_config_args(p)
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run from its last completed epoch",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run in 'output': removes only the files a run writes, and only in a "
        "folder marked .manyheads-run (never '.', a folder holding your config or data, or "
        "a folder manyheads did not write)",
    )
    p.add_argument(
        "--keep-checkpoint",
        action="store_true",
        help="keep the last checkpoint (with the optimiser state) when the run finishes; "
        "by default it is deleted",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train and print the run's test (or validation) metrics as JSON."""
    from manyheads._files import check_output_dir, data_paths
    from manyheads.config.load import load_config
    from manyheads.workflow._fit import train_config

    config = load_config(args.config, args.overrides)
    if config.output is None:  # `output:` or `output=`: the run would be trained and thrown away
        check_output_dir("")
    result = train_config(
        config,
        quiet=args.quiet,
        resume=args.resume,
        overwrite=args.overwrite,
        log=None if args.quiet else say,
        # the config, and its data files also as read relative to the config's folder
        protect=[args.config, *(Path(args.config).parent / p for p in data_paths(config))],
        keep_checkpoint=args.keep_checkpoint,
    )
    from manyheads.workflow._fit import json_safe

    summary = {"output": config.output, **(result.metrics or {})}
    print(json.dumps(json_safe(summary), indent=2, allow_nan=False))
    return 0
