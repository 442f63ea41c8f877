"""``manyheads compare CONFIG --architectures ... --methods ... --seeds N``.

``--weightings``, the old name of ``--methods``, still works (hidden, deprecated).
"""

from __future__ import annotations

import argparse
import warnings
from typing import TYPE_CHECKING

from manyheads.cli._args import add_config, add_flag, add_output
from manyheads.cli._common import comma_list, say

if TYPE_CHECKING:
    from manyheads.workflow._summary import Comparison, TaskWeights

__all__ = [
    "HELP",
    "add_arguments",
    "add_baselines_arg",
    "baseline_names",
    "parse_task_weights",
    "print_baselines",
    "run",
]


#: What ``manyheads --help`` says of the verb.
HELP = "train architectures × methods × seeds and report Δm%% vs stl"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads compare``, in the order ``--help`` lists them."""
    add_config(p)
    p.add_argument(
        "--architectures",
        default="stl,hps,mmoe",
        help="comma-separated architectures (stl is always the baseline)",
    )
    p.add_argument(
        "--methods",
        help="comma-separated balancing methods, or 'all' for the whole catalogue (default: ew)",
    )
    p.add_argument("--weightings", help=argparse.SUPPRESS)  # the deprecated name of --methods
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (0..N-1)")
    add_baselines_arg(p, default="")
    p.add_argument(
        "--task-weights",
        metavar="TASK=W,...",
        help="weights of the tasks in a weighted Δm%% reported beside Δm%%, e.g. "
        "income=2,never_married=1 (a task left out weighs 1; overrides the config's "
        "compare.task_weights)",
    )
    add_output(p, "report directory (default: the config's output)")
    add_flag(p, "--overwrite", "replace existing variant runs")
    add_flag(
        p,
        "--resume",
        "continue an interrupted comparison: keep finished variants, resume unfinished "
        "ones from their checkpoints, train missing ones",
    )
    add_flag(
        p,
        "--keep-checkpoint",
        "keep each variant's last checkpoint (with the optimiser state) when it finishes",
    )
    add_flag(p, "--quiet", "no progress output")


def add_baselines_arg(p: argparse.ArgumentParser, *, default: str) -> None:
    """The ``--baselines`` option of ``compare`` and ``quickstart``."""
    p.add_argument(
        "--baselines",
        default=default,
        help="comma-separated baselines trained per task on the same splits and shown beside "
        "stl with Δm%% against each: gbdt (scikit-learn HistGradientBoosting), linear "
        "(logistic / ridge regression, TF-IDF for text); 'all' for every one, 'none' for none "
        f"(default: {default or 'none'}; tables only: no tagging/box tasks, tokens/image inputs)",
    )


def baseline_names(text: str) -> list[str]:
    """The names given to ``--baselines`` (``all``: every registered one; ``none``: none)."""
    from manyheads.baselines import list_baselines

    return [] if text.strip() == "none" else _names(text, list_baselines())


def _names(text: str, every: list[str]) -> list[str]:
    return every if text == "all" else comma_list(text)


def run(args: argparse.Namespace) -> int:
    """Run the comparison and print the table and the report path."""
    from manyheads._methods import list_methods
    from manyheads.architectures import list_architectures
    from manyheads.config.load import load_config
    from manyheads.workflow._compare import compare
    from manyheads.workflow._fit import RunOptions

    config = load_config(args.config, args.overrides)
    weights = _task_weights(args)
    result = compare(
        config,
        architectures=_names(args.architectures, list_architectures()),
        methods=_names(_methods_arg(args), list_methods()),
        seeds=args.seeds,
        output=args.output,
        options=RunOptions(
            quiet=True,
            overwrite=args.overwrite,
            log=None if args.quiet else say,
            resume=args.resume,
            keep_checkpoint=args.keep_checkpoint,
        ),
        baselines=baseline_names(args.baselines),
        task_weights=weights,
    )
    print(result.table())
    print(
        f"\nΔm% < 0 means better than single-task (stl). Metrics: {result.split} split; "
        "model selection: validation."
    )
    if weights is not None:
        shown = ", ".join(f"{t}={w:g}" for t, w in (result.task_weights or {}).items())
        print(f"weighted Δm% vs stl: the per-task terms of Δm% weighted by {shown} (others 1).")
    print_baselines(result)
    print(f"report: {result.directory / 'report.html'} (also report.md, comparison.json)")
    return 0


def parse_task_weights(text: str) -> dict[str, float]:
    """``income=2,never_married=1`` -> ``{"income": 2.0, "never_married": 1.0}``.

    Raises:
        InvalidParameterError: an item is not ``TASK=NUMBER`` or a task is named twice.

    Example:
        >>> parse_task_weights("income=2, never_married=0.5")
        {'income': 2.0, 'never_married': 0.5}
    """
    from manyheads.errors import InvalidParameterError

    weights: dict[str, float] = {}
    for item in (s.strip() for s in text.split(",")):
        task, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or not task.strip() or number is None:
            raise InvalidParameterError(
                f"--task-weights: '{item}' must look like TASK=NUMBER, e.g. "
                "--task-weights income=2,never_married=1."
            )
        if task.strip() in weights:
            raise InvalidParameterError(f"--task-weights names task '{task.strip()}' twice.")
        weights[task.strip()] = number
    return weights


def _task_weights(args: argparse.Namespace) -> TaskWeights | None:
    """The task weights of ``--task-weights``, else of the config's ``compare.task_weights``."""
    from manyheads.workflow._summary import TaskWeights

    if args.task_weights is not None:
        return TaskWeights(parse_task_weights(args.task_weights), "--task-weights")
    from manyheads.config.load import apply_overrides, parse_overrides, read_yaml
    from manyheads.errors import ConfigError

    raw = read_yaml(args.config)
    apply_overrides(raw, parse_overrides(args.overrides))
    section = raw.get("compare")
    if section is None:
        return None
    if not isinstance(section, dict) or set(section) - {"task_weights"}:
        raise ConfigError(
            [
                "'compare' must be a mapping whose only key is 'task_weights' (e.g. compare: "
                f"{{task_weights: {{income: 2}}}}). Got {section!r}."
            ],
            source=str(args.config),
        )
    weights = section.get("task_weights")
    if not isinstance(weights, dict) or not all(isinstance(k, str) for k in weights):
        raise ConfigError(
            [
                "'compare.task_weights' must map task names to numbers, e.g. {income: 2, "
                f"never_married: 1}}. Got {weights!r}."
            ],
            source=str(args.config),
        )
    return TaskWeights(dict(weights), f"'compare.task_weights' in {args.config}")


def _methods_arg(args: argparse.Namespace) -> str:
    """``--methods``, or ``--weightings`` (its deprecated name) with a warning; else ``ew``."""
    from manyheads.errors import ConfigError

    if args.weightings is None:
        return str(args.methods or "ew")
    if args.methods is not None:
        raise ConfigError(
            [
                "--weightings and --methods are both given: '--weightings' is the deprecated "
                "name of '--methods'. Keep only --methods."
            ]
        )
    warnings.warn(
        "'--weightings' is deprecated and will be removed in 0.3: use '--methods'.",
        FutureWarning,
        stacklevel=2,
    )
    return str(args.weightings)


def print_baselines(result: Comparison) -> None:
    """Say what the baseline rows are, when the comparison has any."""
    names = [b["name"] for b in result.baselines]
    if names:
        print(
            f"{', '.join(names)}: one scikit-learn model per task on the same splits and "
            f"inputs; Δm% vs {names[0]} < 0 means better than {names[0]}."
        )
