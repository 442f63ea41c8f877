"""``manyheads prune RUN --amount 0.5 -o DIR``: fewer hidden units, fine-tuned, measured."""

from __future__ import annotations

import argparse

from manyheads.cli._args import add_flag, add_max_drop, add_output, add_run_dir
from manyheads.cli._common import write_compressed

__all__ = ["HELP", "add_arguments", "run"]


#: What ``manyheads --help`` says of the verb.
HELP = "remove hidden units of a run's shared and tower layers, fine-tune, write a bundle"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads prune``, in the order ``--help`` lists them."""
    add_run_dir(p, "a run directory (its config.yaml names the data)")
    p.add_argument(
        "--amount",
        type=float,
        default=0.5,
        help="the share of hidden units each shared and tower layer loses (default 0.5)",
    )
    add_output(p, "the new bundle's folder", required=True, metavar="DIR")
    p.add_argument(
        "--epochs",
        type=int,
        default=1,
        help="epochs of fine-tuning on the run's training data after pruning (default 1; 0: none)",
    )
    p.add_argument(
        "--experts",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="mmoe only: also remove this share of the experts, the ones the gates use least on "
        "the run's training rows (default 0: keep every expert)",
    )
    add_max_drop(
        p,
        default=None,
        help="refuse (exit 2, nothing written) when a task's primary metric drops by more than "
        "this on validation or test (default: no limit)",
    )
    add_flag(p, "--overwrite", "replace a bundle already in DIR")


def run(args: argparse.Namespace) -> int:
    """Prune, fine-tune, print the report; a refused pruning exits 2 and writes nothing."""
    from manyheads.compress import prune

    return write_compressed(
        args, prune, amount=args.amount, epochs=args.epochs, experts=args.experts
    )
