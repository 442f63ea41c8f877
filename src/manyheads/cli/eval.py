"""``manyheads eval RUN DATA``: score a trained run on labelled data."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register the ``eval`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "eval", help="score a trained run on labelled data"
    )
    p.add_argument("run_dir", metavar="RUN", help="a run directory or model bundle")
    p.add_argument("data", help="a labelled CSV / Parquet / JSONL file")
    p.add_argument(
        "-o",
        "--output",
        help="write the metrics JSON here (default: RUN/eval-<data file stem>.json)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print (and optionally write) the metrics."""
    from manyheads._api import load

    metrics = load(args.run_dir).evaluate(args.data, split=Path(args.data).name)
    from manyheads._api import json_safe

    text = json.dumps(json_safe(metrics), indent=2, allow_nan=False)
    print(text)
    stem = Path(args.data).name.split(".")[0]
    out = Path(args.output) if args.output else Path(args.run_dir) / f"eval-{stem}.json"
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(out)
    return 0
