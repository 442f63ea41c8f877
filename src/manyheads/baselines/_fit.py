"""Train baselines per task on a comparison's splits and score them as the neural models are.

The labels are encoded by the same task-type code as a neural run (a fitted task learnt on the
training split), a task's model learns from the training rows that label it, and its output on
the validation and test splits goes through the task type's ``score``: the metric names and
values read as those ``compare`` reports for ``stl`` and the multi-task variants.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from torch import Tensor

from manyheads.baselines._base import Baseline, check_inputs
from manyheads.baselines._registry import BASELINES
from manyheads.baselines._tasks import check_task_types, fit_task_model
from manyheads.errors import InvalidParameterError
from manyheads.tasks._fitted import FittedTask, fit_task
from manyheads.tasks.task import Task

__all__ = ["BaselineResult", "TaskScores", "check_names", "fit_baselines"]

#: split -> task -> (targets, mask), encoded by the task's type.
Labels = dict[str, dict[str, tuple[Tensor, Tensor]]]


@dataclass(frozen=True)
class TaskScores:
    """One task's baseline model: its metrics and what it cost.

    Attributes:
        primary: the task's primary metric (the first of its metrics).
        higher_is_better: whether a larger primary metric is better.
        valid: every metric on the validation split, plus ``n`` (the labelled rows scored).
        test: the same on the test split; None when the comparison has none.
        n_train: the labelled training rows the model learnt from.
        train_seconds: the time its model(s) took to fit.
        model: the fitted model in a few words.
    """

    primary: str
    higher_is_better: bool
    valid: dict[str, float]
    test: dict[str, float] | None
    n_train: int
    train_seconds: float
    model: str


@dataclass(frozen=True)
class BaselineResult:
    """A baseline trained on every task of a comparison.

    Attributes:
        name: the baseline (``gbdt``, ``linear``).
        description: its models and settings, with the inputs it left out.
        seed: the seed it was trained with.
        tasks: task name -> its scores.
        train_seconds: the whole time, the features' preparation included.
    """

    name: str
    description: str
    seed: int
    tasks: dict[str, TaskScores]
    train_seconds: float

    @property
    def split(self) -> str:
        """``test`` when the comparison has a test split, else ``valid`` (what is reported)."""
        return "valid" if any(s.test is None for s in self.tasks.values()) else "test"

    def metrics(self) -> dict[str, dict[str, float]]:
        """Task -> its metrics on :attr:`split`, as ``compare`` reports the neural variants."""
        return {t: s.valid if s.test is None else s.test for t, s in self.tasks.items()}


def fit_baselines(
    names: Sequence[str],
    train: pd.DataFrame,
    valid: pd.DataFrame,
    test: pd.DataFrame | None,
    tasks: Sequence[Task],
    inputs: dict[str, str],
    *,
    seed: int = 0,
) -> dict[str, BaselineResult]:
    """Train each baseline in ``names`` on every task and score it on ``valid`` and ``test``.

    Args:
        names: registered baselines (``manyheads.baselines.list_baselines()``).
        train: the rows the models learn from (a task's unlabelled rows left out of its model).
        valid: the validation rows, scored.
        test: the test rows, scored; None when there are none.
        tasks: the tasks, of type binary, multiclass, multilabel or regression.
        inputs: input column -> kind (``numeric``, ``categorical``, ``text``).
        seed: the seed of every model.

    Returns:
        baseline name -> its result, in the order of ``names``.

    Raises:
        InvalidParameterError: an unknown or repeated baseline, a task type or input kind a
            baseline cannot learn from (all checked before any model trains).
        DataError: a missing column or a bad cell.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> frame = pd.DataFrame({"x": rng.normal(size=300)})
        >>> frame["y"] = (frame["x"] > 0).astype(int)
        >>> results = fit_baselines(["linear"], frame[:200], frame[200:], None,
        ...                         [Task("y", type="binary")], {"x": "numeric"})
        >>> results["linear"].metrics()["y"]["auc"]
        1.0
    """
    chosen = check_names(names)
    for name in chosen:
        check_task_types(name, list(tasks))
        check_inputs(name, inputs)
    frames = {"train": train, "valid": valid} | ({"test": test} if test is not None else {})
    paths = {split: str(f.attrs.get("path", f"<{split}>")) for split, f in frames.items()}
    fitted = [fit_task(t, train, paths["train"]) for t in tasks]
    data = _Data(
        frames,
        paths,
        {
            split: {t.name: t.encode(frame, paths[split]) for t in fitted}
            for split, frame in frames.items()
        },
    )
    return {
        name: _fit_baseline(BASELINES.create(name, seed=seed), data, fitted, inputs)
        for name in chosen
    }


def check_names(names: Sequence[str], *, owner: str = "The 'names' of fit_baselines") -> list[str]:
    """The baselines, each registered (the message lists the names) and named once.

    Args:
        names: the baselines asked for.
        owner: what the messages say asked for them (``--baselines`` of ``compare``).

    Example:
        >>> check_names(["linear", "linear"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: The 'names' of fit_baselines must name each ...
    """
    chosen = [names] if isinstance(names, str) else list(names)
    if not chosen:
        raise InvalidParameterError(
            f"{owner} must name at least one baseline ({', '.join(BASELINES.names())}). Got none."
        )
    for name in chosen:
        BASELINES.get(name)
    repeated = sorted({n for n in chosen if chosen.count(n) > 1})
    if repeated:
        raise InvalidParameterError(
            f"{owner} must name each baseline once. Got {chosen}: {', '.join(repeated)} repeated."
        )
    return chosen


@dataclass(frozen=True)
class _Data:
    """The splits' frames, their paths (for messages) and their encoded labels."""

    frames: dict[str, pd.DataFrame]
    paths: dict[str, str]
    labels: Labels


def _fit_baseline(
    baseline: Baseline, data: _Data, fitted: list[FittedTask], inputs: dict[str, str]
) -> BaselineResult:
    """Fit ``baseline``'s features on train, then one model per task; score each."""
    began = time.perf_counter()
    baseline.fit_inputs(data.frames["train"], inputs, data.paths["train"])
    x = {split: baseline.features(f, data.paths[split]) for split, f in data.frames.items()}
    scores = {t.name: _fit_task(baseline, t, x, data.labels) for t in fitted}
    return BaselineResult(
        name=baseline.name,
        description=baseline.describe(),
        seed=baseline.seed,
        tasks=scores,
        train_seconds=time.perf_counter() - began,
    )


def _fit_task(
    baseline: Baseline, fitted: FittedTask, x: dict[str, pd.DataFrame], labels: Labels
) -> TaskScores:
    """Fit the task's model on its labelled training rows; score it on valid and test."""
    target, mask = labels["train"][fitted.name]
    rows = mask.numpy()
    began = time.perf_counter()
    model = fit_task_model(baseline, fitted, x["train"][rows], target[mask])
    seconds = time.perf_counter() - began
    scores = {
        split: fitted.score(model.output(x[split]), *labels[split][fitted.name])
        for split in ("valid", "test")
        if split in x
    }
    primary = fitted.task_type.metric_names(fitted.task)[0]
    return TaskScores(
        primary=primary,
        higher_is_better=fitted.task_type.metric_directions[primary],
        valid=scores["valid"],
        test=scores.get("test"),
        n_train=int(rows.sum()),
        train_seconds=seconds,
        model=model.summary(baseline),
    )
