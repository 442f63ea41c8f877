"""Objectives: one metric, several (Pareto), a weighted score, Δm% against stl; pruning."""

from __future__ import annotations

import optuna
import pytest

from manyheads.errors import InvalidParameterError
from manyheads.search import make_objective
from manyheads.search._trial import PruneHook
from manyheads.tasks.task import Task

TASKS = [Task("y", type="binary"), Task("z", type="regression")]
SCORES = {"y": {"auc": 0.8, "accuracy": 0.7}, "z": {"rmse": 0.5, "r2": 0.2}}


def test_each_kind_of_objective() -> None:
    assert make_objective(["y.accuracy"], TASKS).value(SCORES) == [0.7]
    multi = make_objective(["y.auc", "z.rmse"], TASKS)
    assert multi.directions == ["maximize", "minimize"]
    assert not multi.prunable
    weighted = make_objective(["weighted"], TASKS, weights={"y": 3.0, "z": 1.0})
    assert weighted.value(SCORES) == [pytest.approx((3 * 0.8 - 0.5) / 4)]
    delta = make_objective(["delta_m"], TASKS)
    delta = type(delta)(**{**delta.__dict__, "baseline": {"y": 0.5, "z": 1.0}})
    # y: auc 0.8 vs 0.5 (+60% better -> -60), z: rmse 0.5 vs 1.0 (-50% -> better, -50)
    assert delta.value(SCORES) == [pytest.approx(-55.0)]
    assert delta.directions == ["minimize"]
    # the default: the monitor when it names a metric, else the weighted score
    assert make_objective([], TASKS, monitor="z.rmse").names == ["z.rmse"]
    assert make_objective([], TASKS).kind == "weighted"


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["y.aucc"], "task 'y' \\(binary\\) has no metric 'aucc'. Did you mean 'auc'"),
        (["yy.auc"], "Did you mean 'y'"),
        (["delta_m", "y.auc"], "single objective of its own"),
    ],
)
def test_bad_objectives_are_named(names: list[str], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        make_objective(names, TASKS)


def test_epoch_scores_prune_a_trial_below_the_median() -> None:
    objective = make_objective(["y.auc"], TASKS)
    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=1)
    )
    good = study.ask()
    for epoch in (1, 2):
        good.report(0.9, epoch)
    study.tell(good, 0.9)
    trial = study.ask()
    hook = PruneHook(trial, objective)
    hook._epoch_end(epoch=1, record={"valid_auc/y": 0.95, "valid_rmse/z": 1.0})  # above: runs on
    assert not trial.should_prune()
    trial = study.ask()
    hook = PruneHook(trial, objective)
    with pytest.raises(optuna.TrialPruned, match="pruned at epoch 2"):
        hook._epoch_end(epoch=2, record={"valid_auc/y": 0.6, "valid_rmse/z": 1.0})
    assert trial.user_attrs["pruned_at_epoch"] == 2
    # a metric that is not its task's primary one is not in the epoch's row: no report ...
    accuracy = make_objective(["y.accuracy"], TASKS)
    assert accuracy.intermediate({"valid_auc/y": 0.9}) is None
    # ... unless the run monitors it: then the row's valid_score holds it (lower is better)
    row = {"valid_auc/y": 0.9, "valid_score": -0.75}
    assert accuracy.intermediate(row, monitor="y.accuracy") == pytest.approx(0.75)
