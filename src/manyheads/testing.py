"""Test helpers shipped with the package, for our tests and for those of extensions.

:func:`make_toy_problem` builds a small encoded multi-task problem whose targets depend learnably
on every kind of input (numeric, categorical and text), with some labels missing, so that any
architecture, weighting or aggregator can be checked end to end in milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from manyheads.data.preprocess import InputSpec
from manyheads.errors import InvalidParameterError
from manyheads.tasks import FittedTask, Task, fit_task

__all__ = ["ToyProblem", "make_toy_problem"]

_N_NUMERIC = 6
_CARDINALITIES = (5, 4)
_VOCAB = 40  # text ids 1..39; 0 is padding
_TEXT_LEN = 6
_N_LABELS = 3  # classes of a multiclass task, labels of a multilabel task
_TYPES = ("binary", "multiclass", "regression", "multilabel")

Signal = Callable[[np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class ToyProblem:
    """An encoded multi-task problem: inputs, targets, masks and the fitted tasks.

    Attributes:
        spec: input sizes for the model's input layer.
        out_dims: task name -> output width, in task order.
        x: inputs ``num`` [N, 6], ``cat`` [N, 2] and ``text:t`` [N, 6].
        y: task name -> encoded targets.
        mask: task name -> [N] bool, False where the label is missing.
        tasks: the task specifications.
        fitted_tasks: each task with the label encoding its type fitted on the labels.
    """

    spec: InputSpec
    out_dims: dict[str, int]
    x: dict[str, Tensor]
    y: dict[str, Tensor]
    mask: dict[str, Tensor]
    tasks: tuple[Task, ...]
    fitted_tasks: tuple[FittedTask, ...]

    @property
    def n_rows(self) -> int:
        """Number of rows N."""
        return int(self.x["num"].shape[0])

    def loss(self, outputs: dict[str, Tensor], mask: dict[str, Tensor] | None = None) -> Tensor:
        """Per-task masked losses [T], in task order, from the task types' own loss functions.

        Args:
            outputs: task name -> model output for all N rows.
            mask: replaces :attr:`mask` for the tasks it names.
        """
        masks = {**self.mask, **(mask or {})}
        return torch.stack(
            [t.loss(outputs[t.name], self.y[t.name], masks[t.name]) for t in self.fitted_tasks]
        )


def make_toy_problem(
    n_rows: int = 256,
    *,
    task_types: Sequence[str] = ("binary", "multiclass", "regression"),
    seed: int = 0,
) -> ToyProblem:
    """A seeded toy problem with one task per entry of ``task_types``.

    Each task's target is a function of a latent score that mixes a shared and a task-specific
    linear function of the numeric inputs, an effect of the first categorical column and the
    share of "positive" words in the text, so tasks are related but not identical. Classes are
    cut at quantiles, so every class is present. Every tenth row (shifted per task) is unlabelled.
    A task is named after its type; repeated types get a suffix (``binary``, ``binary_2``).

    Args:
        n_rows: number of rows N, at least 16.
        task_types: the type of each task (``manyheads ls tasks``).
        seed: seed of the numpy generator; equal seeds give equal problems.

    Raises:
        InvalidParameterError: ``n_rows`` < 16, no task, or a type other than ``binary``,
            ``multiclass``, ``regression`` and ``multilabel``.

    Example:
        >>> problem = make_toy_problem(64)
        >>> problem.out_dims
        {'binary': 1, 'multiclass': 3, 'regression': 1}
        >>> sorted(problem.x)
        ['cat', 'num', 'text:t']
        >>> zeros = {t: torch.zeros(64, w).squeeze(-1) for t, w in problem.out_dims.items()}
        >>> problem.loss(zeros).shape
        torch.Size([3])
    """
    if isinstance(n_rows, bool) or not isinstance(n_rows, int) or n_rows < 16:
        raise InvalidParameterError(
            f"The 'n_rows' parameter of make_toy_problem must be an int >= 16. "
            f"Got {n_rows!r} instead."
        )
    if not task_types:
        raise InvalidParameterError(
            "The 'task_types' parameter of make_toy_problem must name at least one task type. "
            "Got an empty sequence instead."
        )
    rng = np.random.default_rng(seed)
    num, cat, text, signal = _inputs(rng, n_rows)
    tasks = _tasks(task_types)
    frame = pd.DataFrame(index=pd.RangeIndex(2, n_rows + 2))  # line numbers, as when read
    for k, task in enumerate(tasks):
        latent = signal(rng)
        missing = (np.arange(n_rows) + 3 * k) % 10 == 9
        for col, values in _labels(task, latent, rng).items():
            frame[col] = np.where(missing, np.nan, values)
    fitted = tuple(fit_task(t, frame, "<toy>") for t in tasks)
    encoded = {t.name: t.encode(frame, "<toy>") for t in fitted}
    return ToyProblem(
        spec=InputSpec(_N_NUMERIC, _CARDINALITIES, (("t", _VOCAB),)),
        out_dims={t.name: t.out_dim for t in fitted},
        x={"num": num, "cat": cat, "text:t": text},
        y={name: target for name, (target, _) in encoded.items()},
        mask={name: mask for name, (_, mask) in encoded.items()},
        tasks=tasks,
        fitted_tasks=fitted,
    )


def _inputs(rng: np.random.Generator, n: int) -> tuple[Tensor, Tensor, Tensor, Signal]:
    """Random inputs and a function that draws a task's latent score [N] from them."""
    num = rng.standard_normal((n, _N_NUMERIC))
    cat = np.stack([rng.integers(0, c, n) for c in _CARDINALITIES], axis=1)
    lengths = rng.integers(1, _TEXT_LEN + 1, n)
    ids = rng.integers(1, _VOCAB, (n, _TEXT_LEN))
    ids[np.arange(_TEXT_LEN)[None, :] >= lengths[:, None]] = 0
    positive = ((ids > 0) & (ids < _VOCAB // 2)).sum(axis=1) / lengths  # share of words < 20
    shared = rng.standard_normal(_N_NUMERIC)

    def signal(task_rng: np.random.Generator) -> np.ndarray:
        weights = shared + 0.5 * task_rng.standard_normal(_N_NUMERIC)
        effect = task_rng.standard_normal(_CARDINALITIES[0])
        latent: np.ndarray = num @ weights + effect[cat[:, 0]] + 2.0 * (positive - 0.5)
        return latent

    tensors = (
        torch.from_numpy(num.astype(np.float32)),
        torch.from_numpy(cat.astype(np.int64)),
        torch.from_numpy(ids.astype(np.int64)),
    )
    return (*tensors, signal)


def _tasks(task_types: Sequence[str]) -> tuple[Task, ...]:
    tasks: list[Task] = []
    for task_type in task_types:
        if task_type not in _TYPES:
            raise InvalidParameterError(
                f"The 'task_types' parameter of make_toy_problem takes types among "
                f"{', '.join(_TYPES)}. Got {task_type!r} instead."
            )
        count = sum(t.type == task_type for t in tasks)
        name = task_type if count == 0 else f"{task_type}_{count + 1}"
        columns = (
            tuple(f"{name}_{j}" for j in range(_N_LABELS)) if task_type == "multilabel" else None
        )
        tasks.append(Task(name, type=task_type, columns=columns))
    return tuple(tasks)


def _labels(task: Task, latent: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Raw label columns of ``task`` from its latent score."""
    if task.type == "regression":
        return {task.name: latent + 0.1 * rng.standard_normal(latent.shape)}
    if task.type == "binary":
        return {task.name: (latent > np.median(latent)).astype(float)}
    if task.type == "multiclass":
        cuts = np.quantile(latent, np.linspace(0, 1, _N_LABELS + 1)[1:-1])
        return {task.name: np.digitize(latent, cuts).astype(float)}
    # multilabel: label j is on when a shifted copy of the latent score is above its median
    out = {}
    for j, col in enumerate(task.label_columns):
        score = latent + rng.standard_normal(latent.shape) * (0.5 + j)
        out[col] = (score > np.median(score)).astype(float)
    return out
