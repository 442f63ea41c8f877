"""One trial: draw a config from the space, train it on each fold (or on train, scored on
valid), report per-epoch validation scores to the pruner, return the objective's mean.

The test split never reaches a trial: every training here gets splits without it.
"""

from __future__ import annotations

import dataclasses
import math
import os
import socket
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from manyheads.config.schema import RunConfig
from manyheads.engine import TrainInputs
from manyheads.errors import ConfigError
from manyheads.search._dimension import SearchSpace
from manyheads.search._folds import FoldPlan, make_folds
from manyheads.search._objective import Objective
from manyheads.search._space_check import apply_values
from manyheads.workflow._splits import Splits

if TYPE_CHECKING:
    import optuna

    from manyheads.engine.events import Events
    from manyheads.workflow._encoding import Encoded

__all__ = ["PruneHook", "SearchData", "TrialRunner", "search_data"]


@dataclass(frozen=True)
class SearchData:
    """The rows a search trains and scores on (never the test split), and the test split kept
    for the chosen config.

    ``folds`` holds one train/valid pair per fold (``--cv``), or the one pair train/valid.
    """

    folds: tuple[Splits, ...]
    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame | None
    plan: FoldPlan | None = None

    def describe(self) -> str:
        """How the search scores a trial, for the report."""
        if self.plan is None:
            return f"trained on train ({len(self.train)} rows), scored on valid ({len(self.valid)})"
        rows = len(self.train) + len(self.valid)
        return f"{self.plan.describe()} of train + valid ({rows} rows), mean ± std over folds"


def pooled(train: pd.DataFrame, valid: pd.DataFrame) -> pd.DataFrame:
    """Train and valid rows as one table (the cross-validation rows, the final training rows)."""
    both = pd.concat([train, valid], axis=0, ignore_index=True, sort=False)
    both.attrs["path"] = f"<train + valid of {train.attrs.get('path', 'the config')}>"
    return both


def search_data(splits: Splits, plan: FoldPlan | None) -> SearchData:
    """Cut ``splits`` into what the trials see: with a ``plan``, K folds of train + valid."""
    if plan is None:
        return SearchData(
            (Splits(splits.train, splits.valid, None),), splits.train, splits.valid, splits.test
        )
    rows = pooled(splits.train, splits.valid)
    folds = []
    for train_at, valid_at in make_folds(rows, plan):
        train, valid = rows.iloc[train_at].copy(), rows.iloc[valid_at].copy()
        train.attrs.update(rows.attrs)
        valid.attrs.update(rows.attrs)
        folds.append(Splits(train, valid, None))
    return SearchData(tuple(folds), splits.train, splits.valid, splits.test, plan)


class PruneHook:
    """Reports the objective of each epoch's validation scores and prunes (a
    :class:`~manyheads.workflow._fit.TrainHook`)."""

    def __init__(self, trial: optuna.Trial, objective: Objective, monitor: str = "loss") -> None:
        self.trial = trial
        self.objective = objective
        self.monitor = monitor

    def train_inputs(self, config: RunConfig, splits: Splits, encoded: Encoded) -> TrainInputs:
        """The run's own training inputs, unchanged."""
        return TrainInputs(encoded.train, encoded.valid, encoded.pre.fitted(config.tasks))

    def attach(self, events: Events, directory: Path | None) -> None:
        """Report at every ``epoch_end``."""
        events.connect("epoch_end", self._epoch_end)

    def _epoch_end(self, epoch: int, record: dict[str, float], **_: object) -> None:
        import optuna

        value = self.objective.intermediate(record, self.monitor)
        if value is None:
            return
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            self.trial.set_user_attr("pruned_at_epoch", epoch)
            raise optuna.TrialPruned(f"pruned at epoch {epoch}")


@dataclass
class TrialRunner:
    """Turns a trial into trainings: ``raw`` is the user's config as read (overrides applied),
    ``base`` its checked form (with a built-in dataset's tasks and inputs)."""

    raw: dict[str, Any]
    base: RunConfig
    space: SearchSpace
    objective: Objective
    data: SearchData
    prune: bool = True
    encodings: list[dict[str, Encoded]] = field(default_factory=list)

    def config(self, values: dict[str, Any]) -> RunConfig:
        """The run config of ``values`` (raises ConfigError for a combination it refuses)."""
        from manyheads.config.load import build_config

        config = build_config(apply_values(self.raw, values))
        if not config.tasks:  # a built-in dataset brings its tasks and inputs
            config = dataclasses.replace(config, tasks=self.base.tasks)
        if config.inputs is None:
            config = dataclasses.replace(config, inputs=self.base.inputs)
        return dataclasses.replace(config, output=None)

    def __call__(self, trial: optuna.Trial) -> list[float]:
        """Train the trial's config on every fold; the objective's mean over folds."""
        values = self.space.suggest(trial)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        try:
            config = self.config(values)
        except ConfigError as exc:  # each value passed alone; this combination does not
            trial.set_user_attr("error", "; ".join(exc.problems))
            return [math.nan] * len(self.objective.names)
        scores, epochs = self.train_folds(config, trial)
        per_fold = [self.objective.value(s) for s in scores]
        trial.set_user_attr("cv", summarise_scores(scores))
        trial.set_user_attr("best_epochs", epochs)
        trial.set_user_attr("fold_values", per_fold)
        return [float(np.mean([v[i] for v in per_fold])) for i in range(len(per_fold[0]))]

    def train_folds(
        self, config: RunConfig, trial: optuna.Trial | None = None
    ) -> tuple[list[dict[str, Any]], list[int]]:
        """Each fold's validation scores (task -> metric -> value) and best epoch."""
        from manyheads.workflow._fit import RunOptions, run_config

        while len(self.encodings) < len(self.data.folds):
            self.encodings.append({})
        scores, epochs = [], []
        for i, splits in enumerate(self.data.folds):
            hook = None
            if trial is not None and i == 0 and self.prune and self.objective.prunable:
                hook = PruneHook(trial, self.objective, config.train.monitor)
            run = run_config(config, splits, RunOptions(), self.encodings[i], hook)
            metrics = run.metrics or {}
            scores.append(metrics["valid"])
            epochs.append(int(metrics["best_epoch"]))
        return scores, epochs


def summarise_scores(scores: list[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """Per task and metric: [mean, std] over folds (std 0 for one fold).

    Example:
        >>> summarise_scores([{"y": {"auc": 0.8, "primary": "auc"}}, {"y": {"auc": 0.9}}])
        {'y': {'auc': [0.85, 0.05]}}
    """
    out: dict[str, dict[str, list[float]]] = {}
    for task, entry in scores[0].items():
        for metric, value in entry.items():
            if metric == "n" or not isinstance(value, int | float) or isinstance(value, bool):
                continue
            values = [float(s[task][metric]) for s in scores if metric in s.get(task, {})]
            mean = statistics.fmean(values)
            std = statistics.pstdev(values) if len(values) > 1 else 0.0
            out.setdefault(task, {})[metric] = [round(mean, 6), round(std, 6)]
    return out
