"""What a search found: the chosen trial (the Pareto front's best on the first objective for
several objectives), its ``best.yaml``, and the final retrain on train + valid tested once."""

from __future__ import annotations

import dataclasses
import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from manyheads.config.schema import RunConfig
from manyheads.errors import InvalidParameterError
from manyheads.search._optimize import Log, short_value
from manyheads.search._options import SearchResult
from manyheads.search._space_check import apply_values
from manyheads.search._trial import SearchData, TrialRunner, pooled
from manyheads.workflow._splits import Splits

if TYPE_CHECKING:
    import optuna

__all__ = ["final_run", "search_result"]


def _finished(study: optuna.Study) -> dict[str, int]:
    from optuna.trial import TrialState

    counts = {s.name.lower(): 0 for s in TrialState}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name.lower()] += 1
    return counts


def search_result(study: optuna.Study, runner: TrialRunner, out: Path) -> SearchResult:
    """The chosen trial as a :class:`SearchResult`, its config written to ``best.yaml``."""
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise InvalidParameterError(
            "search: no trial finished (every trial was pruned or failed; see the lines above). "
            "Widen the space, lower the pruning (--pruner none) or check the config."
        )
    objective = runner.objective
    pareto: list[int] = []
    if objective.prunable:
        best = study.best_trial
    else:  # the Pareto front; best.yaml holds its best trial on the first objective
        front = study.best_trials
        pareto = sorted(t.number for t in front)
        sign = 1.0 if objective.directions[0] == "maximize" else -1.0
        best = max(front, key=lambda t: sign * t.values[0])
    values = runner.space.decode(best.params)
    _write_best(out, runner, values, best.number)
    return SearchResult(
        directory=out,
        objective=objective,
        best_values=values,
        best_number=best.number,
        best_scores=list(best.values),
        n_trials=_finished(study),
        pareto=pareto,
        best_epochs=[int(e) for e in best.user_attrs.get("best_epochs", [])],
    )


def _write_best(out: Path, runner: TrialRunner, values: dict[str, Any], number: int) -> None:
    import yaml

    from manyheads._files import atomic_write_text

    raw = apply_values(runner.raw, values)
    head = (
        f"# manyheads search: the config of trial {number}, the best on {runner.objective.names}"
        f"\n# ({runner.data.describe()}). Searched: "
        + ", ".join(f"{k}={short_value(v)}" for k, v in values.items())
        + "\n"
    )
    atomic_write_text(out / "best.yaml", head + yaml.safe_dump(raw, sort_keys=False))


def final_run(result: SearchResult, runner: TrialRunner, out: Path, say: Log) -> dict[str, Any]:
    """The chosen config retrained on train + valid for its trial's best epoch count and tested
    once on the test split (none: not tested)."""
    from manyheads.workflow._fit import RunOptions, run_config

    data: SearchData = runner.data
    config = runner.config(result.best_values)
    epochs = _final_epochs(result, config)
    config = dataclasses.replace(
        config,
        train=dataclasses.replace(config.train, epochs=epochs, patience=None),
        output=str(out / "final"),
    )
    rows = pooled(data.train, data.valid)
    say(
        f"search: retraining trial {result.best_number}'s config on train + valid "
        f"({len(rows)} rows) for {epochs} epochs"
    )
    run = run_config(config, Splits(rows, data.valid, data.test), RunOptions(overwrite=True))
    metrics = run.metrics or {}
    tested = data.test is not None
    return {
        "directory": str(out / "final"),
        "tested": tested,
        "epochs": epochs,
        "train_rows": len(rows),
        "test_rows": 0 if data.test is None else len(data.test),
        "tasks": metrics.get("tasks", {}) if tested else {},
        "note": (
            f"the chosen config was retrained on train + valid ({len(rows)} rows) for {epochs} "
            "epochs (its trial's best epoch count) and tested once on the test split, which the "
            "search never saw"
            if tested
            else "no test split: the chosen config was retrained on train + valid but not tested"
        ),
    }


def _final_epochs(result: SearchResult, config: RunConfig) -> int:
    """The chosen trial's best epoch (the mean over folds, rounded up); its ``train.epochs``
    when unknown."""
    if not result.best_epochs:
        return config.train.epochs
    return max(1, math.ceil(statistics.fmean(result.best_epochs)))
