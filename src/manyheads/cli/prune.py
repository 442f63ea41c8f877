"""``manyheads prune RUN --amount 0.5 -o DIR``: fewer hidden units, fine-tuned, measured."""

from __future__ import annotations

import argparse

from manyheads.cli._common import Subparsers

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Subparsers) -> None:
    """Register the ``prune`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "prune",
        help="remove hidden units of a run's shared and tower layers, fine-tune, write a bundle",
    )
    p.add_argument(
        "run_dir", metavar="RUN", help="a run directory (its config.yaml names the data)"
    )
    p.add_argument(
        "--amount",
        type=float,
        default=0.5,
        help="the share of hidden units each shared and tower layer loses (default 0.5)",
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="the new bundle's folder")
    p.add_argument(
        "--epochs",
        type=int,
        default=1,
        help="epochs of fine-tuning on the run's training data after pruning (default 1; 0: none)",
    )
    p.add_argument(
        "--max-drop",
        type=float,
        default=None,
        help="refuse (exit 2, nothing written) when a task's primary metric drops by more than "
        "this on validation or test (default: no limit)",
    )
    p.add_argument("--force", action="store_true", help="write the bundle above --max-drop too")
    p.add_argument("--overwrite", action="store_true", help="replace a bundle already in DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Prune, fine-tune, print the report; a refused pruning exits 2 and writes nothing."""
    from manyheads.compress import prune
    from manyheads.workflow._fit import load

    report = prune(
        load(args.run_dir),
        args.output,
        amount=args.amount,
        epochs=args.epochs,
        max_drop=args.max_drop,
        force=args.force,
        overwrite=args.overwrite,
    )
    print("\n".join(report.lines()))
    print(f"wrote {args.output}")
    return 0
