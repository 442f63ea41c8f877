"""``manyheads ls [WHAT]``: list architectures, weightings, task types, metrics or datasets."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from manyheads.cli._common import Subparsers

if TYPE_CHECKING:
    from manyheads._registry import Registry

__all__ = ["add_parser", "run"]

WHAT = ("architectures", "encoders", "weightings", "tasks", "metrics", "datasets")


def add_parser(subparsers: Subparsers) -> None:
    """Register the ``ls`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "ls", help="list architectures, encoders, weightings, task types, metrics, datasets"
    )
    p.add_argument("what", nargs="?", choices=WHAT, help="what to list (default: everything)")
    p.set_defaults(func=run)


def _rows(what: str) -> dict[str, str]:
    # The catalogue holds names and docs only: listing imports neither torch nor pandas.
    from manyheads import _catalogue

    if what == "metrics":
        return {
            name: ", ".join(
                f"{m} ({'higher' if up else 'lower'} is better{', primary' if i == 0 else ''})"
                for i, (m, up) in enumerate(_catalogue.TASK_METRICS[name].items())
            )
            for name in _catalogue.TASK_TYPES.names()
        }
    registries: dict[str, Registry[Any]] = {
        "architectures": _catalogue.ARCHITECTURES,
        "encoders": _catalogue.ENCODERS,
        "weightings": _catalogue.WEIGHTINGS,
        "tasks": _catalogue.TASK_TYPES,
        "datasets": _catalogue.DATASETS,
    }
    return registries[what].describe()


def run(args: argparse.Namespace) -> int:
    """Print the requested lists."""
    for what in [args.what] if args.what else list(WHAT):
        print(f"{what}:")
        rows = _rows(what)
        width = max(len(k) for k in rows)
        for name, doc in rows.items():
            print(f"  {name:<{width}}  {doc}")
    return 0
