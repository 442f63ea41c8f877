"""Small helpers shared by the subcommands."""

from __future__ import annotations

import sys

__all__ = ["comma_list", "say"]


def comma_list(text: str) -> list[str]:
    """The items of a comma-separated option value, stripped, empty ones dropped.

    Example:
        >>> comma_list(" gaussian, typos,,")
        ['gaussian', 'typos']
    """
    return [s.strip() for s in text.split(",") if s.strip()]


def say(message: str) -> None:
    """Print a progress message to stderr (stdout is kept for results)."""
    print(message, file=sys.stderr, flush=True)
