"""Small helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from typing import TypeAlias

__all__ = ["Subparsers", "add_config_args", "say"]

#: What ``add_parser(subparsers)`` receives: ``ArgumentParser.add_subparsers()``'s action.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """``CONFIG [key=value ...]`` positional arguments."""
    parser.add_argument("config", help="the run's YAML config file")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="override config keys, e.g. train.epochs=3 model.hidden=[64,32] "
        "(precedence: defaults < file < command line)",
    )


def say(message: str) -> None:
    """Print a progress message to stderr (stdout is kept for results)."""
    print(message, file=sys.stderr, flush=True)
