"""Small helpers shared by the subcommands."""

from __future__ import annotations

import sys

__all__ = ["say"]


def say(message: str) -> None:
    """Print a progress message to stderr (stdout is kept for results)."""
    print(message, file=sys.stderr, flush=True)
