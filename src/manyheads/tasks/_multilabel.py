"""Multi-label classification: 0/1 columns, the sum of the labels' BCE, F1 and mean AUC."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from manyheads.errors import DataError, InvalidParameterError
from manyheads.tasks._base import (
    State,
    TaskExample,
    first_line,
    masked_mean,
    missing_mask,
    sigmoid_scores,
)
from manyheads.tasks._valued import ValuedTaskType
from manyheads.tasks.task import Task

__all__ = ["Multilabel"]

_TRUE = {"1", "1.0", "true", "yes", "y", "t"}
_FALSE = {"0", "0.0", "false", "no", "n", "f"}


class Multilabel(ValuedTaskType):
    """Any subset of L labels, given as L 0/1 columns; a row with an empty cell is unlabelled."""

    name = "multilabel"
    extra_fields: ClassVar[tuple[str, ...]] = ("threshold",)
    multi_column = True
    needs = "fully labelled row"
    summary = "any subset of L labels (L 0/1 columns); summed BCE; micro_f1, macro_f1, mean_auc"
    metric_directions: ClassVar[dict[str, bool]] = {
        "micro_f1": True,
        "macro_f1": True,
        "mean_auc": True,
    }
    example = TaskExample({"a": (0, 1, 1, 0, 1, 0), "b": (1, 1, 0, 0, 0, 1)})

    def check_task(self, task: Task) -> None:
        if task.columns is None or len(task.columns) < 1:
            raise InvalidParameterError(
                f"Multilabel task '{task.name}' needs 'columns': the list of its 0/1 label "
                "columns, e.g. columns: [Action, Comedy]."
            )
        super().check_task(task)

    def _values(self, task: Task, frame: pd.DataFrame, path: str) -> tuple[np.ndarray, np.ndarray]:
        cols = []
        missing_any = np.zeros(len(frame), dtype=bool)
        for col in task.label_columns:
            if col not in frame.columns:
                raise DataError(
                    f"the label column '{col}' of multilabel task '{task.name}' is missing.",
                    path=path,
                )
            series = frame[col]
            miss = missing_mask(series)
            text = series.astype("string").str.strip().str.lower().fillna("")
            ok = text.isin(_TRUE | _FALSE).to_numpy() | miss
            if not ok.all():
                bad = series.to_numpy()[np.flatnonzero(~ok)[0]]
                raise DataError(
                    f"multilabel task '{task.name}' expects 0/1 (or true/false) values, got "
                    f"{bad!r}. Fix the cell or leave it empty for a missing label.",
                    path=path,
                    line=first_line(frame, ~ok),
                    column=col,
                )
            cols.append(text.isin(_TRUE).to_numpy())
            missing_any |= miss
        return np.stack(cols, axis=1).astype(np.float32), ~missing_any

    def fit(self, task: Task, frame: pd.DataFrame, path: str) -> State:
        self._training_values(task, frame, path)
        return {"labels": list(task.label_columns)}

    def out_dim(self, state: State) -> int:
        return len(state["labels"])

    def loss(
        self, task: Task, state: State, output: Tensor, target: Tensor, mask: Tensor
    ) -> Tensor:
        """The labels' BCE summed per row, averaged over the labelled rows.

        Summed, not averaged over the L labels: the mean gave a task of many rare labels 1/L
        of the gradient of a regression task beside it, so the shared layers learnt the other
        task and the labels stayed at their rates (issue 17, ``bench/short_text.py``).
        """
        per_row = F.binary_cross_entropy_with_logits(output, target, reduction="none").sum(dim=1)
        return masked_mean(per_row, mask)

    def predict(self, task: Task, state: State, output: Tensor) -> dict[str, np.ndarray]:
        proba = torch.sigmoid(output.float()).cpu().numpy()
        chosen = proba >= thresholds(task, state)
        return {
            f"{task.name}_{label}": chosen[:, j].astype(int)
            for j, label in enumerate(state["labels"])
        } | {f"{task.name}_{label}_proba": proba[:, j] for j, label in enumerate(state["labels"])}

    def tune(self, task: Task, state: State, output: Tensor, target: Tensor, mask: Tensor) -> State:
        """Each label's threshold with the best F1 of that label on the validation rows, when
        the task reports an F1 and sets no ``threshold`` (a label seen with one value only, or
        not at all, keeps 0.5)."""
        if task.threshold is not None or not any("f1" in m for m in self.metric_names(task)):
            return state
        m = mask.cpu().numpy()
        y = target.cpu().numpy()[m].astype(int)
        p = torch.sigmoid(output.float()).cpu().numpy()[m]
        return state | {
            "thresholds": [best_f1_threshold(y[:, j], p[:, j]) for j in range(y.shape[1])]
        }

    def score(
        self, task: Task, state: State, output: Tensor, target: Tensor, mask: Tensor
    ) -> dict[str, float]:
        """The task's metrics, then ``auc:<label>`` per label (NaN where the scored rows hold
        one of its values only): a rare label's AUC is not hidden in the mean."""
        cut = thresholds(task, state)
        scores = sigmoid_scores(
            self.metric_names(task), output, target, mask, lambda n, y, p: _metric(n, y, p, cut)
        )
        m = mask.cpu().numpy()
        y = target.cpu().numpy()[m].astype(int)
        p = torch.sigmoid(output.float()).cpu().numpy()[m]
        for j, name in enumerate(self.detail_names(task, state)):
            scores[name] = _label_auc(y[:, j], p[:, j])
        return scores

    def detail_names(self, task: Task, state: State) -> tuple[str, ...]:
        """``auc:<label>`` for each label, in column order."""
        del task
        return tuple(f"auc:{label}" for label in state["labels"])


def _label_auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC of one label's column; NaN when it holds one value only (or no rows).

    Example:
        >>> y, p = np.array([0, 1, 1]), np.array([0.2, 0.9, 0.4])
        >>> _label_auc(y, p), _label_auc(np.ones(2), np.ones(2))
        (1.0, nan)
    """
    from sklearn.metrics import roc_auc_score  # on first use (see _metric)

    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


def thresholds(task: Task, state: State) -> np.ndarray:
    """The decision threshold of each label: the task's ``threshold``, else those tuned on
    validation (:meth:`Multilabel.tune`), else 0.5."""
    n = len(state["labels"])
    if task.threshold is not None:
        return np.full(n, float(task.threshold))
    return np.asarray(state.get("thresholds", [0.5] * n), dtype=np.float64)


def best_f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The threshold ``t`` for which ``p >= t`` has the best F1 against the 0/1 labels ``y``:
    halfway between the last probability predicted positive and the next one (the highest such
    cut on ties); 0.5 when ``y`` holds one value only.

    Example:
        >>> best_f1_threshold(np.array([0, 1, 1, 0]), np.array([0.1, 0.3, 0.35, 0.2]))
        0.25
        >>> best_f1_threshold(np.array([0, 0]), np.array([0.1, 0.9]))
        0.5
    """
    positives = int(y.sum())
    if positives in (0, len(y)):
        return 0.5
    order = np.argsort(-p, kind="stable")
    ps, tp = p[order], np.cumsum(y[order])
    f1 = 2 * tp / (np.arange(1, len(ps) + 1) + positives)
    cut = np.append(ps[1:] < ps[:-1], True)  # a threshold can only fall between distinct values
    i = int(np.flatnonzero(cut)[np.argmax(f1[cut])])
    return float((ps[i] + ps[i + 1]) / 2) if i + 1 < len(ps) else float(ps[i])


def _metric(metric: str, y: np.ndarray, p: np.ndarray, cut: np.ndarray) -> float:
    """One metric over the labelled rows (at least one): 0/1 targets ``y`` [N, L], probabilities
    ``p``, each label's threshold ``cut`` [L]; ``mean_auc`` averages the labels that have both
    values."""
    from sklearn.metrics import f1_score  # on first use: validate and --help load no sklearn

    if metric == "mean_auc":
        aucs = [a for j in range(y.shape[1]) if not np.isnan(a := _label_auc(y[:, j], p[:, j]))]
        return float(np.mean(aucs)) if aucs else float("nan")
    avg = "micro" if metric == "micro_f1" else "macro"
    return float(f1_score(y, p >= cut, average=avg, zero_division=0.0))
