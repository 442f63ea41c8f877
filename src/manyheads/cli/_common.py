"""Small helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from typing import TypeAlias

__all__ = ["Subparsers", "say"]

#: What ``add_parser(subparsers)`` receives: ``ArgumentParser.add_subparsers()``'s action.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def say(message: str) -> None:
    """Print a progress message to stderr (stdout is kept for results)."""
    print(message, file=sys.stderr, flush=True)
