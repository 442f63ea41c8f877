"""``manyheads export RUN --format onnx``: the run's network as an ONNX graph, proven equal."""

from __future__ import annotations

import argparse

from manyheads.cli._args import add_flag, add_output, add_run_dir

__all__ = ["FORMATS", "HELP", "add_arguments", "run"]

#: The formats ``export --format`` writes.
FORMATS: tuple[str, ...] = ("onnx",)


#: What ``manyheads --help`` says of the verb.
HELP = "export a run's network (ONNX), checked against eager PyTorch on the run's data"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads export``, in the order ``--help`` lists them."""
    add_run_dir(p)
    p.add_argument("--format", required=True, choices=FORMATS, help="the file format")
    add_output(
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
