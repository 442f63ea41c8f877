"""``manyheads crawl CRAWL.yaml [key=value ...]``: crawl a site into a store (see docs/crawl.md)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register the ``crawl`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "crawl",
        help="crawl a website into a SQLite/PostgreSQL store (Scrapy)",
        description="Run the crawl a YAML config describes. Running it again resumes an "
        "interrupted crawl, or recrawls with conditional requests once it finished.",
    )
    p.add_argument("config", metavar="CRAWL.yaml", help="the crawl config")
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="override config keys, e.g. limits.max_pages=100 (values are YAML)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate the config, crawl, print the run's summary."""
    from manyheads.crawl import load_config, run_crawl

    config = load_config(args.config, args.overrides)
    summary = run_crawl(config, progress=not args.quiet)
    print(summary)
    return 0
