"""``manyheads add-task RUN --task NAME:TYPE --data FILE -o DIR``: a new run, RUN's model with one
more task (``Run.add_task``).

Settings come as ``key=value`` overrides: ``train.<setting>=VALUE`` for
:class:`~manyheads.extend.AddTaskSettings` (``train.lr=0.003``, ``train.temperature=2``) and
``task.<name>.<field>=VALUE`` for the new task's fields (``task.label.positive=yes``,
``task.label.column=is_single``), as in a config's ``tasks:`` mapping.
"""

from __future__ import annotations

import argparse
from typing import Any

from manyheads.cli._args import add_flag, add_output, add_run_dir
from manyheads.cli._common import say

__all__ = ["DESCRIPTION", "HELP", "add_arguments", "parse_task", "run"]


#: What ``manyheads --help`` says of the verb.
HELP = "add a task to a trained model: a new run (the old tasks' predictions unchanged by default)"
#: What ``manyheads add-task --help`` says before the arguments.
DESCRIPTION = (
    "Grow RUN's model by one task trained on --data and write it as a new run "
    "into -o. With --unfreeze none (default) only the new task's parameters train and the "
    "old tasks' predictions stay bit-identical; heads/all also train old parts under "
    "Learning without Forgetting. RUN is never written."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads add-task``, in the order ``--help`` lists them."""
    add_run_dir(p)
    p.add_argument("--task", required=True, metavar="NAME:TYPE", help="e.g. never_married:binary")
    p.add_argument("--data", required=True, metavar="FILE", help="training rows of the new task")
    p.add_argument("--valid", metavar="FILE", help="validation rows (default: 10%% of --data)")
    p.add_argument(
        "--test",
        metavar="FILE",
        help="rows scoring old tasks before/after and the new task (default: RUN's test split)",
    )
    p.add_argument("--unfreeze", default="none", choices=("none", "heads", "all"))
    add_output(p, "the new run's folder", required=True, metavar="DIR")
    p.add_argument("--epochs", type=int, help="same as train.epochs=N")
    add_flag(p, "--overwrite", "replace a finished run in -o")
    add_flag(p, "--quiet", "no progress output")
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="train.<setting>=VALUE (epochs, batch_size, lr, seed, patience, temperature, "
        "distill_weight, warmup_epochs, weight_decay) or task.<name>.<field>=VALUE",
    )


def parse_task(text: str, overrides: list[str]) -> tuple[Any, dict[str, Any]]:
    """The new :class:`Task` of ``--task NAME:TYPE`` and its ``task.NAME.*`` overrides, and the
    settings of the ``train.*`` overrides.

    Raises:
        ConfigError: a malformed ``--task``, an override that is neither ``train.*`` nor
            ``task.NAME.*``, an unknown type or a field the type does not take.
    """
    from manyheads.config.load import parse_overrides
    from manyheads.errors import ConfigError

    name, sep, kind = text.partition(":")
    if not sep or not name or not kind or ":" in kind:
        raise ConfigError(
            [f"--task must look like NAME:TYPE (e.g. never_married:binary). Got {text!r}."]
        )
    fields: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    problems = []
    for path, value in parse_overrides(overrides):
        if len(path) == 2 and path[0] == "train":
            settings[path[1]] = value
        elif len(path) == 3 and path[:2] == ["task", name]:
            fields[path[2]] = value
        else:
            problems.append(
                f"override '{'.'.join(path)}' must be train.<setting> or task.{name}.<field>"
            )
    from manyheads.config._sections import build_tasks

    tasks = build_tasks({name: {"type": kind, **fields}}, problems, required=True)
    if problems:  # the messages of a config's tasks: mapping (unknown fields, wrong types)
        raise ConfigError(problems)
    return tasks[0], settings


def run(args: argparse.Namespace) -> int:
    """Add the task, print the report, exit 0; a refusal exits 2 and writes nothing."""
    from manyheads.extend import NewData, add_task, settings_of
    from manyheads.workflow._fit import load

    task, settings = parse_task(args.task, list(args.overrides))
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    checked = settings_of(settings)  # before the source run is read
    grown = add_task(
        load(args.run_dir),
        task,
        NewData(args.data, args.valid, args.test),
        unfreeze=args.unfreeze,
        settings=checked,
        output=args.output,
        overwrite=args.overwrite,
        log=None if args.quiet else say,
    )
    for line in report_lines(grown.metrics or {}):
        print(line)
    return 0


def report_lines(metrics: dict[str, Any]) -> list[str]:
    """The add-task report as text: the new task's metrics, each old task's change."""
    report = metrics.get("add_task", {})
    split = metrics.get("split", "?")
    lines = []
    for name, scores in metrics.get("tasks", {}).items():
        primary = scores.get("primary")
        lines.append(f"{name}: {primary} {scores.get(primary)} on the {split} rows")
    for name, row in report.get("backward_transfer", {}).items():
        lines.append(
            f"{name}: {row['primary']} before {row['before']} after {row['after']} "
            f"(change {row['change']:+})"
        )
    return lines
