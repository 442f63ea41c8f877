"""``manyheads compare CONFIG --architectures ... --weightings ... --seeds N``."""

from __future__ import annotations

import argparse

from manyheads.cli._common import Subparsers, add_config_args, say

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Subparsers) -> None:
    """Register the ``compare`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "compare", help="train architectures × weightings × seeds and report Δm%% vs stl"
    )
    add_config_args(p)
    p.add_argument(
        "--architectures",
        default="stl,hps,mmoe",
        help="comma-separated architectures (stl is always the baseline)",
    )
    p.add_argument(
        "--weightings",
        default="ew",
        help="comma-separated weightings, or 'all' for the whole catalogue",
    )
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (0..N-1)")
    p.add_argument("-o", "--output", help="report directory (default: the config's output)")
    p.add_argument("--overwrite", action="store_true", help="replace existing variant runs")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted comparison: keep finished variants, resume unfinished "
        "ones from their checkpoints, train missing ones",
    )
    p.add_argument(
        "--keep-checkpoint",
        action="store_true",
        help="keep each variant's last checkpoint (with the optimiser state) when it finishes",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def _names(text: str, every: list[str]) -> list[str]:
    return every if text == "all" else [s.strip() for s in text.split(",") if s.strip()]


def run(args: argparse.Namespace) -> int:
    """Run the comparison and print the table and the report path."""
    from manyheads.architectures import list_architectures
    from manyheads.config.load import load_config
    from manyheads.weighting import list_weightings
    from manyheads.workflow._compare import compare
    from manyheads.workflow._fit import RunOptions

    config = load_config(args.config, args.overrides)
    result = compare(
        config,
        architectures=_names(args.architectures, list_architectures()),
        weightings=_names(args.weightings, list_weightings()),
        seeds=args.seeds,
        output=args.output,
        options=RunOptions(
            quiet=True,
            overwrite=args.overwrite,
            log=None if args.quiet else say,
            resume=args.resume,
            keep_checkpoint=args.keep_checkpoint,
        ),
    )
    print(result.table())
    print(
        f"\nΔm% < 0 means better than single-task (stl). Metrics: {result.split} split; "
        "model selection: validation."
    )
    print(f"report: {result.directory / 'report.html'} (also report.md, comparison.json)")
    return 0
