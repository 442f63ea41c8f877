"""``manyheads dataset build STORE --config dataset.yaml -o out.parquet`` (see docs/crawl.md)."""

from __future__ import annotations

import argparse

from manyheads.cli._args import add_flag, add_output

__all__ = ["HELP", "add_arguments", "run"]


#: What ``manyheads --help`` says of the verb.
HELP = "build a training table from crawled records"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads dataset``, in the order ``--help`` lists them."""
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
    add_output(
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
