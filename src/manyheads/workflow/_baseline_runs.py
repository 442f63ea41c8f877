"""Train a comparison's baselines (``compare --baselines gbdt,linear``) on its own splits.

Each baseline learns every task on the train / valid / test frames the neural variants use,
once per seed of the comparison (its models get the variant's seed), through
:func:`manyheads.baselines.fit_baselines`. Of multi-source data, each source's tasks learn from
that source's rows only, with the inputs that source has. Every name, task type and input kind
is checked before anything trains; the rows that show the results are built in
:mod:`manyheads.workflow._baseline_rows`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from manyheads.config.schema import RunConfig
from manyheads.errors import InvalidParameterError
from manyheads.tasks.task import Task
from manyheads.workflow._builders import resolve_inputs
from manyheads.workflow._splits import SourceSplits, Splits

if TYPE_CHECKING:
    from manyheads.baselines import BaselineResult

__all__ = ["BaselinePart", "baseline_parts", "check_baseline_names", "train_baselines"]


def check_baseline_names(names: Sequence[str]) -> list[str]:
    """The baselines of ``compare``, each registered and named once (before anything runs).

    Example:
        >>> check_baseline_names(["gbdt", "linear"])
        ['gbdt', 'linear']
        >>> check_baseline_names(["gbtd"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: Unknown baseline 'gbtd'. ... Did you mean 'gbdt'?
    """
    from manyheads.baselines._fit import check_names

    return check_names(names, owner="The 'baselines' of compare") if names else []


@dataclass(frozen=True)
class BaselinePart:
    """The rows, tasks and inputs one fit of the baselines learns from: the whole comparison,
    or one source of a multi-source run."""

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame | None
    tasks: tuple[Task, ...]
    inputs: dict[str, str]


def baseline_parts(names: Sequence[str], config: RunConfig, splits: Splits) -> list[BaselinePart]:
    """What each fit learns from, checked for every baseline in ``names`` before any training.

    Raises:
        InvalidParameterError: a task type (tagging, box) or input kind (tokens, image) that a
            baseline cannot learn from, or a source without the test split the others have.
    """
    if splits.stream is not None and names:
        raise InvalidParameterError(
            f"'--baselines {','.join(names)}' cannot learn from a streamed 'data.train' "
            f"({config.data.train}): scikit-learn fits a table in memory, and only its first "
            "rows are read up front. Compare without --baselines, or set 'data.stream: false' "
            "for a table that fits in memory."
        )
    inputs = resolve_inputs(config, splits.train)
    if splits.sources:
        has_test = splits.test is not None
        parts = [_source_part(s, config.tasks, inputs, has_test=has_test) for s in splits.sources]
    else:
        parts = [BaselinePart(splits.train, splits.valid, splits.test, config.tasks, inputs)]
    for name in names:
        for part in parts:
            _check_part(name, part)
    return parts


def _source_part(
    source: SourceSplits, tasks: Sequence[Task], inputs: dict[str, str], *, has_test: bool
) -> BaselinePart:
    """One source's rows and tasks, with the inputs its rows have (the others are all missing
    there: a model of this source's tasks would learn nothing from them)."""
    if has_test and source.test is None:
        raise InvalidParameterError(
            f"--baselines: source '{source.name}' has no test split while the other sources "
            "have one, so a baseline of its tasks could not be scored on the split the "
            f"comparison reports. Give source '{source.name}' a test file or test_fraction, "
            "or leave --baselines out."
        )
    own = tuple(t for t in tasks if t.name in source.tasks)
    present = {c: k for c, k in inputs.items() if c in source.train.columns}
    return BaselinePart(source.train, source.valid, source.test, own, present)


def _check_part(name: str, part: BaselinePart) -> None:
    """Refuse a task or an input that baseline ``name`` cannot learn from."""
    from manyheads.baselines._base import check_inputs
    from manyheads.baselines._tasks import check_task_types

    try:
        check_task_types(name, list(part.tasks))
        check_inputs(name, part.inputs)
    except InvalidParameterError as exc:
        raise InvalidParameterError(
            f"--baselines {name}: {exc} (--baselines supports tables: binary, multiclass, "
            "multilabel and regression tasks on numeric, categorical and text columns)"
        ) from None


def train_baselines(
    names: Sequence[str],
    parts: Sequence[BaselinePart],
    seeds: Sequence[int],
    say: Callable[[str], None],
) -> dict[str, list[BaselineResult]]:
    """Each baseline's result per seed (in the order of ``seeds``), every part's tasks in one."""
    from manyheads.baselines import fit_baselines

    results: dict[str, list[BaselineResult]] = {name: [] for name in names}
    for seed in seeds:
        say(f"training baselines {', '.join(names)} seed {seed}")
        fits = [
            fit_baselines(names, p.train, p.valid, p.test, p.tasks, p.inputs, seed=seed)
            for p in parts
        ]
        for name in names:
            results[name].append(_joined([fit[name] for fit in fits]))
    return results


def _joined(results: list[BaselineResult]) -> BaselineResult:
    """One baseline's fits of the parts as one result: every task, the time summed."""
    from manyheads.baselines import BaselineResult

    if len(results) == 1:
        return results[0]
    first = results[0]
    return BaselineResult(
        name=first.name,
        description=" | ".join(dict.fromkeys(r.description for r in results)),
        seed=first.seed,
        tasks={t: s for r in results for t, s in r.tasks.items()},
        train_seconds=sum(r.train_seconds for r in results),
    )
