"""``manyheads dataset build STORE --config dataset.yaml -o out.parquet`` (see docs/crawl.md)."""

from __future__ import annotations

import argparse

from manyheads.cli._args import add_flag, add_output_argument, verb_parser
from manyheads.cli._common import Subparsers

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Subparsers) -> None:
    """Register the ``dataset`` subcommand and its ``build`` action."""
    p = verb_parser(subparsers, "dataset", run, help="build a training table from crawled records")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser(
        "build",
        help="clean, filter, deduplicate, label and split crawled records into Parquet",
    )
    build.add_argument(
        "source", metavar="STORE", help="crawl.db, a sqlite:/// or postgresql:// URL, or a table"
    )
    build.add_argument(
        "--config",
        "-c",
        help="dataset YAML (default: clean the text columns, drop exact and near duplicates of "
        "the main text column only ('text', else the longest text column; never a short label "
        "field), and split; docs/crawl.md)",
    )
    add_output_argument(
        build,
        "the Parquet file to write (an existing file is replaced only with --overwrite)",
        required=True,
    )
    add_flag(build, "--overwrite", "replace an existing output file")


def run(args: argparse.Namespace) -> int:
    """Build the dataset and print its summary."""
    from manyheads.curation import build_dataset, load_build_config

    config = load_build_config(args.config)
    summary = build_dataset(args.source, config, args.output, overwrite=args.overwrite)
    print(summary)
    return 0
