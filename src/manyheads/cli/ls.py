"""``manyheads ls [WHAT]``: list architectures, encoders, balancing methods, task types, metrics
or datasets (``ls weightings``, the old name of ``ls methods``, is deprecated)."""

from __future__ import annotations

import argparse
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from manyheads._registry import Registry

__all__ = ["HELP", "add_arguments", "run"]

WHAT = ("architectures", "encoders", "methods", "tasks", "metrics", "datasets")


#: What ``manyheads --help`` says of the verb.
HELP = "list architectures, encoders, balancing methods, task types, metrics, datasets"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads ls``, in the order ``--help`` lists them."""
    p.add_argument(
        "what",
        nargs="?",
        choices=(*WHAT, "weightings"),  # 'weightings': the deprecated name of 'methods'
        metavar="WHAT",
        help=f"what to list: {', '.join(WHAT)} (default: everything)",
    )


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
        "methods": _catalogue.METHODS,
        "tasks": _catalogue.TASK_TYPES,
        "datasets": _catalogue.DATASETS,
    }
    return registries[what].describe()


def run(args: argparse.Namespace) -> int:
    """Print the requested lists."""
    if args.what == "weightings":
        warnings.warn(
            "'manyheads ls weightings' is deprecated and will be removed in 0.3: "
            "use 'manyheads ls methods'.",
            FutureWarning,
            stacklevel=2,
        )
        args.what = "methods"
    for what in [args.what] if args.what else list(WHAT):
        print(f"{what}:")
        rows = _rows(what)
        width = max(len(k) for k in rows)
        for name, doc in rows.items():
            print(f"  {name:<{width}}  {doc}")
    return 0
