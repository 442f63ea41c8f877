"""``manyheads quantize RUN -o DIR``: the run's network in int8 (onnxruntime), measured per task."""

from __future__ import annotations

import argparse

from manyheads.cli._args import add_flag, add_max_drop, add_output, add_run_dir
from manyheads.cli._common import comma_list, write_compressed

__all__ = ["HELP", "add_arguments", "run"]


#: What ``manyheads --help`` says of the verb.
HELP = "int8-quantise a run's exported network into a new bundle, with a per-task report"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads quantize``, in the order ``--help`` lists them."""
    add_run_dir(p, "a run directory (its config.yaml names the data)")
    add_output(
        p,
        "the new bundle's folder; predict from it with --engine onnxruntime",
        required=True,
        metavar="DIR",
    )
    add_max_drop(
        p,
        default=0.005,
        help="refuse (exit 2, nothing written) when a task's primary metric drops by more "
        "than this on validation or test, in the metric's units (default 0.005)",
    )
    add_flag(
        p,
        "--per-channel",
        "one int8 scale per output channel of each weight (default: one per tensor)",
    )
    add_flag(p, "--reduce-range", "7-bit weights (onnxruntime's reduce_range)")
    p.add_argument(
        "--op-types",
        metavar="OPS",
        help="comma-separated ONNX operators to quantise, e.g. MatMul,Attention (default: every "
        "operator onnxruntime's dynamic quantiser takes; Gemm nodes always stay float32)",
    )
    p.add_argument(
        "--keep-fp32",
        type=int,
        default=0,  # manyheads.compress._quantize.KEEP_FP32 (not imported: CLI start-up)
        metavar="N",
        help="keep the N nodes whose int8 weights move the outputs most (measured one by one on "
        "the first validation rows) in float32 (default 0: measure nothing)",
    )
    p.add_argument(
        "--exclude",
        metavar="NODES",
        help="comma-separated names of graph nodes to keep in float32 as well",
    )
    add_flag(p, "--overwrite", "replace a bundle already in DIR")


def run(args: argparse.Namespace) -> int:
    """Quantise, print the report; a refused quantisation exits 2 and writes nothing."""
    from manyheads.compress import quantize

    op_types = comma_list(args.op_types) if args.op_types is not None else None
    exclude = comma_list(args.exclude) if args.exclude else []
    note = " (predict with --engine onnxruntime)"
    return write_compressed(
        args,
        quantize,
        note,
        per_channel=args.per_channel,
        reduce_range=args.reduce_range,
        op_types=op_types,
        keep_fp32=args.keep_fp32,
        exclude=exclude,
    )
