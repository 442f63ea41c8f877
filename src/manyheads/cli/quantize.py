"""``manyheads quantize RUN -o DIR``: the run's network in int8 (onnxruntime), measured per task."""

from __future__ import annotations

import argparse

from manyheads.cli._common import Subparsers

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Subparsers) -> None:
    """Register the ``quantize`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "quantize",
        help="int8-quantise a run's exported network into a new bundle, with a per-task report",
    )
    p.add_argument(
        "run_dir", metavar="RUN", help="a run directory (its config.yaml names the data)"
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="DIR",
        help="the new bundle's folder; predict from it with --engine onnxruntime",
    )
    p.add_argument(
        "--max-drop",
        type=float,
        default=0.005,
        help="refuse (exit 2, nothing written) when a task's primary metric drops by more "
        "than this on validation or test, in the metric's units (default 0.005)",
    )
    p.add_argument("--force", action="store_true", help="write the bundle above --max-drop too")
    p.add_argument(
        "--per-channel",
        action="store_true",
        help="one int8 scale per output channel of each weight (default: one per tensor)",
    )
    p.add_argument(
        "--op-types",
        metavar="OPS",
        help="comma-separated ONNX operators to quantise, e.g. MatMul,Gemm (default: every "
        "operator the quantiser supports)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a bundle already in DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Quantise, print the report; a refused quantisation exits 2 and writes nothing."""
    from manyheads.compress import quantize
    from manyheads.workflow._fit import load

    op_types = [s.strip() for s in args.op_types.split(",") if s.strip()] if args.op_types else None
    report = quantize(
        load(args.run_dir),
        args.output,
        max_drop=args.max_drop,
        force=args.force,
        per_channel=args.per_channel,
        op_types=op_types,
        overwrite=args.overwrite,
    )
    print("\n".join(report.lines()))
    print(f"wrote {args.output} (predict with --engine onnxruntime)")
    return 0
