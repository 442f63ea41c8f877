"""``manyheads crawl CRAWL.yaml [key=value ...]``: crawl a site into a store (see docs/crawl.md)."""

from __future__ import annotations

import argparse

from manyheads.cli._args import add_flag, add_yaml_config

__all__ = [
    "CRAWL_MODULES",
    "DESCRIPTION",
    "DISTRIBUTED_MODULES",
    "HELP",
    "add_arguments",
    "require_crawl_extra",
    "run",
]


#: What ``manyheads --help`` says of the verb.
HELP = "crawl a website into a SQLite/PostgreSQL store (Scrapy)"
#: What ``manyheads crawl --help`` says before the arguments.
DESCRIPTION = (
    "Run the crawl a YAML config describes. Running it again resumes an "
    "interrupted crawl, or recrawls with conditional requests once it finished."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads crawl``, in the order ``--help`` lists them."""
    add_yaml_config(p, "CRAWL", "the crawl config", "limits.max_pages=100")
    add_flag(p, "--quiet", "no progress line")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="crawler processes sharing one Redis frontier (the config's 'frontier', or a "
        "private redis-server when it has none); see docs/crawl.md, Distributed crawling",
    )


#: What ``manyheads crawl`` imports from the ``crawl`` extra (pyproject.toml).
CRAWL_MODULES = ("scrapy", "parsel", "w3lib", "sqlalchemy", "trafilatura", "datasketch")
#: What a distributed crawl (``--workers``, ``frontier``) imports in addition.
DISTRIBUTED_MODULES = ("redis", "scrapy_redis")


def require_crawl_extra(*, distributed: bool = False) -> None:
    """Raise a :class:`ManyheadsError` naming the extra when a crawl dependency is missing."""
    import importlib

    from manyheads.errors import ManyheadsError

    missing = []
    for module in CRAWL_MODULES + (DISTRIBUTED_MODULES if distributed else ()):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ManyheadsError(
            f"the crawler needs the 'crawl' extra, which is not installed (missing: "
            f"{', '.join(missing)}). Install it with: pip install 'manyheads[crawl]' "
            "(from a checkout: pip install -c constraints.txt -e '.[crawl]')."
        )


def run(args: argparse.Namespace) -> int:
    """Validate the config, crawl, print the run's summary."""
    from manyheads.errors import ConfigError

    if not 1 <= args.workers <= 256:
        raise ConfigError([f"--workers must be between 1 and 256; got {args.workers}."])
    require_crawl_extra()
    from manyheads.crawl import load_config, run_crawl

    config = load_config(args.config, args.overrides)
    try:
        if args.workers > 1 or config.frontier:
            require_crawl_extra(distributed=True)
            from manyheads.crawl._distributed import run_distributed

            summary = run_distributed(config, workers=args.workers, progress=not args.quiet)
        else:
            summary = run_crawl(config, progress=not args.quiet)
    except ConfigError as exc:
        if exc.source is not None:
            raise
        raise ConfigError(exc.problems, source=args.config) from None
    print(summary)
    return 0
