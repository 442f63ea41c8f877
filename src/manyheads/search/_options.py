"""What a search is asked (:class:`SearchOptions`, the CLI's flags, checked by
:func:`check_options`) and what it found (:class:`SearchResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manyheads.errors import InvalidParameterError
from manyheads.search._objective import Objective

__all__ = ["SearchOptions", "SearchResult", "check_options"]


@dataclass(frozen=True)
class SearchOptions:
    """The options of one search (the CLI's flags).

    Args:
        trials: finished (complete or pruned) trials the study should hold, over all workers.
        storage: the study's storage URL (None: ``sqlite:///OUT/study.db``).
        study_name: the study's name in the storage (workers join by it).
        cv: K-fold cross-validation on train + valid (None: train, scored on valid).
        stratify: label columns the folds keep in proportion (None: the label columns of every
            binary, multiclass and multilabel task).
        group_by: grouped folds by this column.
        time_column: forward-chaining folds over this column.
        objective: ``TASK.METRIC`` (several: multi-objective), ``weighted`` or ``delta_m``.
        weights: task -> weight of ``weighted``.
        sampler: ``tpe`` or ``random``.
        pruner: ``median``, ``hyperband`` or ``none``.
        seed: the sampler's seed.
        resume: continue the study in the output folder.
        final: retrain the chosen config on train + valid and test it.
        top_k: rows of the report's trial table.
        timeout: stop starting trials after this many seconds (None: no limit); the search
            then reports the trials it has.
    """

    trials: int
    storage: str | None = None
    study_name: str = "manyheads"
    cv: int | None = None
    stratify: tuple[str, ...] | None = None
    group_by: str | None = None
    time_column: str | None = None
    objective: tuple[str, ...] = ()
    weights: dict[str, float] | None = None
    sampler: str = "tpe"
    pruner: str = "median"
    seed: int | None = 0
    resume: bool = False
    final: bool = True
    top_k: int = 10
    timeout: float | None = None


@dataclass
class SearchResult:
    """What a search found: the chosen trial's config values and scores, and the final run's."""

    directory: Path
    objective: Objective
    best_values: dict[str, Any]
    best_number: int
    best_scores: list[float]
    n_trials: dict[str, int]
    final: dict[str, Any] | None = None
    pareto: list[int] = field(default_factory=list)
    best_epochs: list[int] = field(default_factory=list)


def check_options(options: SearchOptions) -> None:
    """Refuse flags that cannot go together or are out of range (naming the flag)."""
    if options.trials < 1:
        raise InvalidParameterError(f"--trials must be an int >= 1; got {options.trials}.")
    if options.cv is None and (options.group_by or options.time_column or options.stratify):
        raise InvalidParameterError(
            "--group-by, --time-column and --stratify shape the folds of --cv K; pass --cv."
        )
    if options.timeout is not None and not options.timeout > 0:
        raise InvalidParameterError(
            f"--timeout must be a number of seconds > 0; got {options.timeout}."
        )
    if options.group_by and options.time_column:
        raise InvalidParameterError(
            "--group-by and --time-column exclude each other: pass one of them."
        )
