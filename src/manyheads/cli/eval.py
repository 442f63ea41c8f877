"""``manyheads eval RUN DATA``: score a trained run on labelled data."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from manyheads.cli._args import add_flag, add_output, add_run_dir

__all__ = ["HELP", "add_arguments", "run"]


#: What ``manyheads --help`` says of the verb.
HELP = "score a trained run on labelled data"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads eval``, in the order ``--help`` lists them."""
    add_run_dir(p)
    p.add_argument("data", help="a labelled CSV / Parquet / JSONL file")
    add_output(
        p,
        "write the metrics JSON here (default: RUN/eval-<data file stem>.json); an "
        "existing file other than that default is replaced only with --overwrite",
    )
    add_flag(p, "--overwrite", "replace an existing -o file")
    p.add_argument(
        "--group-by",
        metavar="COLUMN",
        help="a column of DATA naming each row's list (a user id): every binary task also gets "
        "gauc, ndcg@K and recall@K (docs/ranking.md)",
    )
    p.add_argument(
        "--ranking-k", type=int, default=10, metavar="K", help="the K of ndcg@K and recall@K"
    )


def run(args: argparse.Namespace) -> int:
    """Print the metrics and save them (``-o``, or ``RUN/eval-<stem>.json``).

    ``-o`` is checked before the run and the data are read. When the default file cannot be
    written (a read-only run folder), the metrics are still printed and a warning says so.
    """
    from manyheads._files import atomic_write_text, check_output_file
    from manyheads.errors import DataError
    from manyheads.workflow._fit import json_safe, load

    out: Path | None = None
    if args.output:
        out = check_output_file(args.output, overwrite=args.overwrite, extensions=(".json",))
        if out.exists() and (
            out.resolve() == Path(args.data).resolve()
            or (
                out.resolve().parent == Path(args.run_dir).resolve()
                and not out.name.startswith("eval-")
            )
        ):
            raise DataError(
                f"-o names a file that eval reads (its data, or a file of the run {args.run_dir!r}"
                "): the metrics would replace it, --overwrite or not. Write them to another "
                "file, e.g. -o metrics-test.json.",
                path=args.output,
            )
    from manyheads.compress._bundle import refuse_torch_engine

    refuse_torch_engine(args.run_dir)  # eval runs PyTorch: an int8 bundle's weights are fp32
    if args.ranking_k < 1:
        raise DataError(f"--ranking-k must be at least 1; got {args.ranking_k}.", path=args.data)
    metrics = load(args.run_dir).evaluate(
        args.data, split=Path(args.data).name, group_by=args.group_by, ranking_k=args.ranking_k
    )
    # label columns present but empty: every metric of such a task is null
    unlabelled = [t for t, m in metrics["tasks"].items() if not m.get("n")]
    if unlabelled and len(unlabelled) == len(metrics["tasks"]):
        raise DataError(
            "no row has a label for any task (the label columns are empty), so there is "
            "nothing to score. Pass labelled data, or use 'manyheads predict' for unlabelled "
            "rows.",
            path=args.data,
        )
    if unlabelled:
        print(
            f"manyheads eval: warning: {args.data}: no labelled row for task(s) "
            f"{', '.join(unlabelled)}: their metrics are null.",
            file=sys.stderr,
        )
    text = json.dumps(json_safe(metrics), indent=2, allow_nan=False)
    print(text, flush=True)
    if out is not None:
        atomic_write_text(out, text)
        return 0
    stem = Path(args.data).name.split(".")[0]
    default = Path(args.run_dir) / f"eval-{stem}.json"
    try:
        # eval-*.json in a run folder is manyheads's own file: replaced without --overwrite
        check_output_file(default, overwrite=True)
        atomic_write_text(default, text)
    except DataError as exc:
        print(
            f"manyheads eval: warning: the metrics are printed above but were not saved: {exc} "
            "Pass -o FILE.json to save them elsewhere.",
            file=sys.stderr,
        )
    return 0
