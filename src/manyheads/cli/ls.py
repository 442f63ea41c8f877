"""``manyheads ls [WHAT]``: list architectures, weightings, task types, metrics or datasets."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]

WHAT = ("architectures", "encoders", "weightings", "tasks", "metrics", "datasets")


def add_parser(subparsers: Any) -> None:
    """Register the ``ls`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "ls", help="list architectures, encoders, weightings, task types, metrics, datasets"
    )
    p.add_argument("what", nargs="?", choices=WHAT, help="what to list (default: everything)")
    p.set_defaults(func=run)


def _rows(what: str) -> dict[str, str]:
    if what == "architectures":
        from manyheads.architectures._registry import ARCHITECTURES

        return ARCHITECTURES.describe()
    if what == "encoders":
        from manyheads.encoders import ENCODERS

        return ENCODERS.describe()
    if what == "weightings":
        from manyheads.weighting._registry import WEIGHTINGS

        return WEIGHTINGS.describe()
    if what == "datasets":
        from manyheads.datasets import DATASETS

        return DATASETS.describe()
    from manyheads.tasks import TASK_KINDS, get_kind

    if what == "tasks":
        return TASK_KINDS.describe()
    return {
        name: ", ".join(
            f"{m} ({'higher' if up else 'lower'} is better{', primary' if i == 0 else ''})"
            for i, (m, up) in enumerate(get_kind(name).metric_directions.items())
        )
        for name in TASK_KINDS.names()
    }


def run(args: argparse.Namespace) -> int:
    """Print the requested lists."""
    for what in [args.what] if args.what else list(WHAT):
        print(f"{what}:")
        rows = _rows(what)
        width = max(len(k) for k in rows)
        for name, doc in rows.items():
            print(f"  {name:<{width}}  {doc}")
    return 0
