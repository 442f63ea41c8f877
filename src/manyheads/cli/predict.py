"""``manyheads predict RUN IN -o OUT``: write one column per task for every input row."""

from __future__ import annotations

import argparse
from pathlib import Path

from manyheads.cli._args import add_engine, add_flag, add_output, add_run_dir
from manyheads.cli._common import comma_list

__all__ = ["EXTENSIONS", "HELP", "add_arguments", "run"]

#: The output files ``predict -o`` can write.
EXTENSIONS: tuple[str, ...] = (".csv", ".parquet", ".pq", ".jsonl")


#: What ``manyheads --help`` says of the verb.
HELP = "predict every task for the rows of a file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads predict``, in the order ``--help`` lists them."""
    add_run_dir(p)
    p.add_argument(
        "data",
        help="a CSV / Parquet / JSONL / NPZ / CoNLL file with the input columns (image "
        "columns as nested lists: JSONL or Parquet, not CSV, or image file paths)",
    )
    add_output(
        p,
        "output file (.csv, .parquet or .jsonl): one column per task (+ probabilities); "
        "per-word tags are lists (JSONL or Parquet keep them as lists). An existing file is "
        "replaced only with --overwrite",
        required=True,
    )
    add_flag(p, "--overwrite", "replace an existing output file")
    add_engine(
        p, "run the network in PyTorch, or run RUN/model.onnx (manyheads export) in onnxruntime"
    )
    p.add_argument(
        "--graph",
        metavar="FILE",
        help="with --engine onnxruntime: the .onnx file to run (default: the graph the "
        "run's last export wrote, RUN/model.onnx or its -o FILE)",
    )
    p.add_argument(
        "--tasks",
        metavar="TASK[,TASK]",
        help="predict only these tasks (comma-separated); only their heads run",
    )
    p.add_argument(
        "--keep",
        nargs="*",
        default=[],
        metavar="COLUMN",
        help="input columns to copy into the output (e.g. an id)",
    )


def run(args: argparse.Namespace) -> int:
    """Predict and write the output atomically (no half-written file on error)."""
    from manyheads._files import atomic_write, check_output_file
    from manyheads.data.io import read_table
    from manyheads.errors import DataError, InvalidParameterError
    from manyheads.workflow._fit import load

    if args.graph is not None and args.engine != "onnxruntime":
        raise InvalidParameterError(
            "--graph names an ONNX graph, which only --engine onnxruntime runs: add "
            "--engine onnxruntime, or drop --graph."
        )
    # checked before the model and the data are read
    out = check_output_file(args.output, overwrite=args.overwrite, extensions=EXTENSIONS)
    if out.exists() and out.resolve() == Path(args.data).resolve():
        raise DataError(
            "-o names the input file itself: the predictions would replace the rows they "
            "were made from, --overwrite or not. Write them to another file, e.g. -o "
            "predictions.csv.",
            path=args.output,
        )
    if args.engine == "torch":  # an int8 bundle's safetensors are float32: refused, not run
        from manyheads.compress._bundle import refuse_torch_engine

        refuse_torch_engine(args.run_dir)
    frame = read_table(args.data)
    missing = [c for c in args.keep if c not in frame.columns]
    if missing:
        raise DataError(f"--keep column(s) {missing} not found.", path=args.data)
    run = load(args.run_dir)
    if args.engine == "onnxruntime":
        from manyheads.export import onnx_engine

        run = onnx_engine(run, args.graph)
    tasks = comma_list(args.tasks) if args.tasks else None
    predictions = run.predict(frame, tasks=tasks)
    keep = list(dict.fromkeys(args.keep))  # a column named twice is kept once
    clash = [c for c in keep if c in predictions.columns]
    if clash:
        raise DataError(
            f"--keep column(s) {clash} have the name of a prediction column, which the output "
            "holds already. Drop them from --keep, or copy them under another name in the "
            "input file (e.g. a 'true_<task>' column) and keep that.",
            path=args.data,
        )
    for col in reversed(keep):
        predictions.insert(0, col, frame[col].to_numpy())
    with atomic_write(out) as tmp:
        if out.name.lower().endswith((".parquet", ".pq")):
            predictions.to_parquet(tmp, index=False)
        elif out.name.lower().endswith(".jsonl"):
            predictions.to_json(tmp, orient="records", lines=True, force_ascii=False)
        else:
            predictions.to_csv(tmp, index=False)
    print(f"wrote {len(predictions)} rows to {out}")
    return 0
