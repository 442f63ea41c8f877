"""``manyheads search CONFIG --space SPACE --trials N``: hyper-parameter search with Optuna."""

from __future__ import annotations

import argparse
import json

from manyheads.cli._args import add_config, add_flag, add_output, add_seed
from manyheads.cli._common import say

__all__ = ["DESCRIPTION", "HELP", "add_arguments", "run"]


#: What ``manyheads --help`` says of the verb.
HELP = "search hyper-parameters (Optuna TPE, pruning, cross-validation)"
#: What ``manyheads search --help`` says before the arguments.
DESCRIPTION = (
    "Search config keys with Optuna on validation scores (or K folds), then "
    "retrain the chosen config on train + valid and test it once. Writes best.yaml, "
    "study.db, search.json, report.html and final/ into --output. See docs/search.md."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads search``, in the order ``--help`` lists them."""
    add_config(p)
    p.add_argument(
        "--space", required=True, help="the search space YAML (config key -> distribution)"
    )
    p.add_argument(
        "--trials", type=int, required=True, metavar="N", help="finished trials, over all workers"
    )
    add_output(p, "the search folder", default="runs/search")
    p.add_argument(
        "--storage",
        help="the study's storage: sqlite:///PATH, postgresql://USER@HOST:PORT/DB or "
        "journal:PATH (default: study.db in --output); workers join a study through it",
    )
    p.add_argument("--study-name", default="manyheads", help="the study's name in the storage")
    p.add_argument(
        "--objective",
        nargs="+",
        default=[],
        metavar="NAME",
        help="TASK.METRIC (several: multi-objective, the Pareto front), weighted or delta_m "
        "(default: train.monitor when it names a metric, else weighted)",
    )
    p.add_argument(
        "--weights", nargs="+", default=[], metavar="TASK=W", help="weights of 'weighted'"
    )
    p.add_argument("--cv", type=int, metavar="K", help="K-fold cross-validation on train + valid")
    p.add_argument(
        "--stratify",
        nargs="+",
        metavar="COLUMN",
        help="label columns the folds keep in proportion (default: every task's)",
    )
    p.add_argument("--group-by", metavar="COLUMN", help="rows sharing this value stay in one fold")
    p.add_argument("--time-column", metavar="COLUMN", help="forward-chaining folds over time")
    p.add_argument("--sampler", default="tpe", help="tpe (default) or random")
    p.add_argument("--pruner", default="median", help="median (default), hyperband or none")
    add_seed(p, "the sampler's seed")
    p.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="start no trial after this many seconds (the trials so far are reported)",
    )
    add_flag(p, "--resume", "continue the search in --output")
    add_flag(p, "--no-final", "skip retraining the chosen config on train + valid and testing it")
    add_flag(p, "--quiet", "no progress output")


def _weights(items: list[str]) -> dict[str, float]:
    from manyheads.errors import InvalidParameterError

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise InvalidParameterError(
                f"--weights '{item}' must look like TASK=WEIGHT (income=2)."
            )
    return out


def run(args: argparse.Namespace) -> int:
    """Search, then print the chosen trial and the final test scores as JSON."""
    from manyheads.search import SearchOptions, search
    from manyheads.workflow._run import json_safe

    options = SearchOptions(
        trials=args.trials,
        storage=args.storage,
        study_name=args.study_name,
        cv=args.cv,
        stratify=tuple(args.stratify) if args.stratify else None,
        group_by=args.group_by,
        time_column=args.time_column,
        objective=tuple(args.objective),
        weights=_weights(args.weights) or None,
        sampler=args.sampler,
        pruner=args.pruner,
        seed=args.seed,
        resume=args.resume,
        final=not args.no_final,
        timeout=args.timeout,
    )
    result = search(
        args.config,
        args.space,
        output=args.output,
        options=options,
        overrides=args.overrides,
        log=None if args.quiet else say,
    )
    summary = {
        "output": str(result.directory),
        "objective": result.objective.names,
        "best_trial": result.best_number,
        "best_values": result.best_scores,
        "best_config": result.best_values,
        "trials": {k: v for k, v in result.n_trials.items() if v},
        "pareto_trials": result.pareto,
        "final": result.final,
    }
    print(json.dumps(json_safe(summary), indent=2, allow_nan=False))
    return 0
