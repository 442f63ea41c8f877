"""``manyheads distill CONFIG --teacher TASK=RUN ... [--from-compare DIR] [key=value ...]``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from manyheads.cli._args import add_config, add_flag
from manyheads.cli._common import say

__all__ = ["DESCRIPTION", "HELP", "add_arguments", "run"]


#: What ``manyheads --help`` says of the verb.
HELP = "train one multi-task student on single-task teachers (BAM! teacher annealing)"
#: What ``manyheads distill --help`` says before the arguments.
DESCRIPTION = (
    "Train the config's model (the student, written to its 'output') on the "
    "teachers' outputs: each task's target moves linearly from its teacher's output to the "
    "gold label over training (Clark et al., ACL 2019). Writes a run directory as `train` "
    "does, plus distill.json (teachers, weights' SHA-256, annealing settings)."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads distill``, in the order ``--help`` lists them."""
    add_config(p)
    p.add_argument(
        "--teacher",
        action="append",
        default=[],
        metavar="TASK=RUN",
        help="a finished run (or bundle) that teaches TASK (repeatable)",
    )
    p.add_argument(
        "--from-compare",
        metavar="DIR",
        default=None,
        help="a `manyheads compare` folder: its stl run teaches every task (--teacher wins)",
    )
    p.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="T of the teachers' soft distributions; the soft loss is scaled by T^2 (default 1)",
    )
    add_flag(
        p,
        "--no-anneal",
        "learn from the teachers alone (λ stays 0) instead of annealing to the gold labels",
    )
    add_flag(p, "--overwrite", "replace a finished run in 'output'")
    add_flag(p, "--quiet", "no progress output")


def _teachers(values: list[str]) -> dict[str, str]:
    from manyheads.errors import InvalidParameterError

    out: dict[str, str] = {}
    for value in values:
        task, sep, where = value.partition("=")
        if not sep or not task or not where:
            raise InvalidParameterError(
                f"--teacher takes TASK=RUN (a task name, '=', a run directory). Got {value!r}."
            )
        if task in out:
            raise InvalidParameterError(
                f"--teacher names task '{task}' twice ({out[task]} and {where}); give one "
                "teacher per task."
            )
        out[task] = where
    return out


def run(args: argparse.Namespace) -> int:
    """Distil and print the student's test (or validation) metrics as JSON."""
    from manyheads._files import check_output_dir, data_paths
    from manyheads.config.load import load_config
    from manyheads.distill import distill
    from manyheads.workflow._fit import json_safe

    teachers = _teachers(args.teacher)
    config = load_config(args.config, args.overrides)
    if config.output is None:  # `output:` or `output=`: the run would be trained and thrown away
        check_output_dir("")
    result = distill(
        config,
        teachers=teachers,
        from_compare=args.from_compare,
        temperature=args.temperature,
        anneal=not args.no_anneal,
        quiet=args.quiet,
        overwrite=args.overwrite,
        log=None if args.quiet else say,
        protect=[args.config, *(Path(args.config).parent / p for p in data_paths(config))],
    )
    summary = {"output": config.output, **(result.metrics or {})}
    print(json.dumps(json_safe(summary), indent=2, allow_nan=False))
    return 0
