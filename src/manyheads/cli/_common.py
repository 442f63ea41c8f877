"""Small helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from manyheads.compress._report import CompressReport

__all__ = ["comma_list", "say", "write_compressed"]


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


def write_compressed(
    args: argparse.Namespace,
    compress: Callable[..., CompressReport],
    note: str = "",
    **options: object,
) -> int:
    """Run ``compress`` (:func:`manyheads.compress.prune` or ``quantize``) on ``args.run_dir``
    into ``args.output`` with the options every compression verb takes (``--max-drop``,
    ``--force``, ``--overwrite``) and its own ``options``; print the report. Exit code 0."""
    from manyheads.workflow._fit import load

    report = compress(
        load(args.run_dir),
        args.output,
        max_drop=args.max_drop,
        force=args.force,
        overwrite=args.overwrite,
        **options,
    )
    print("\n".join(report.lines()))
    print(f"wrote {args.output}{note}")
    return 0
