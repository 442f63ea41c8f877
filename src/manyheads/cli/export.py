"""``manyheads export RUN --format onnx``: the run's network as an ONNX graph, proven equal."""

from __future__ import annotations

import argparse

from manyheads.cli._args import add_flag, add_output_argument, add_run_argument, verb_parser
from manyheads.cli._common import Subparsers

__all__ = ["FORMATS", "add_parser", "run"]

#: The formats ``export --format`` writes.
FORMATS: tuple[str, ...] = ("onnx",)


def add_parser(subparsers: Subparsers) -> None:
    """Register the ``export`` subcommand."""
    p = verb_parser(
        subparsers,
        "export",
        run,
        help="export a run's network (ONNX), checked against eager PyTorch on the run's data",
    )
    add_run_argument(p)
    p.add_argument("--format", required=True, choices=FORMATS, help="the file format")
    add_output_argument(
        p,
        "the .onnx file to write (default: RUN/model.onnx); the parity report goes "
        "next to it as <file>.json. A file manyheads did not export is replaced only with "
        "--overwrite",
    )
    add_flag(p, "--overwrite", "replace an existing file of another origin")
    p.add_argument(
        "--data",
        metavar="FILE",
        help="rows for the parity check (default: the run's test split, else validation)",
    )


def run(args: argparse.Namespace) -> int:
    """Export, print the parity report; a refused export exits 2 and writes nothing."""
    from pathlib import Path

    from manyheads.export import export_onnx, sidecar_path
    from manyheads.workflow._fit import load

    out = Path(args.output) if args.output else Path(args.run_dir) / "model.onnx"
    report = export_onnx(load(args.run_dir), out, data=args.data, overwrite=args.overwrite)
    print("\n".join(report.lines()))
    print(f"wrote {out} and {sidecar_path(out)}")
    return 0
