"""Δm% (``compare``): the relative rule, and the absolute rule for baselines that can be <= 0."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from manyheads.workflow._compare import absolute_tasks, delta_m


def test_relative_difference_for_positive_baselines() -> None:
    # auc 0.8 -> 0.9 (higher is better): -12.5; rmse 2 -> 1 (lower is better): -50
    assert delta_m({"a": 0.9, "b": 1.0}, {"a": 0.8, "b": 2.0}, {"a": True, "b": False}) == (
        pytest.approx(-31.25)
    )


def test_negative_r2_baseline_is_scored_by_absolute_difference() -> None:
    # r2 from -0.2 to 0.1 is better: the relative rule read +150 (worse)
    metrics, baseline, higher = {"r": 0.1}, {"r": -0.2}, {"r": True}
    assert delta_m(metrics, baseline, higher, absolute={"r"}) == pytest.approx(-30.0)
    assert delta_m(metrics, baseline, higher) == pytest.approx(-30.0)  # baseline <= 0 alone


def test_positive_r2_baseline_is_still_absolute_when_named() -> None:
    assert delta_m({"r": 0.5}, {"r": 0.25}, {"r": True}, absolute={"r"}) == pytest.approx(-25.0)


@pytest.mark.parametrize(("value", "expected"), [(0.5, -50.0), (0.0, 0.0), (-0.1, 10.0)])
def test_zero_baseline_gives_a_finite_score(value: float, expected: float) -> None:
    got = delta_m({"f": value}, {"f": 0.0}, {"f": True})
    assert math.isfinite(got)
    assert got == pytest.approx(expected)


def test_absolute_tasks_names_signed_metrics_and_non_positive_baselines() -> None:
    primary = {"a": "r2", "b": "auc", "c": "f1", "d": "rmse"}
    baseline = {"a": 0.3, "b": 0.7, "c": 0.0, "d": float("nan")}
    assert absolute_tasks(primary, baseline) == {"a", "c"}


def test_report_note_names_the_tasks_scored_by_absolute_difference(tmp_path: Path) -> None:
    from manyheads.workflow._compare import Comparison
    from manyheads.workflow._report import _absolute_note

    variant = {"delta_m": {"absolute_tasks": ["price"]}}
    note = _absolute_note(Comparison("test", [variant, variant], tmp_path))
    assert "price" in note
    assert "absolute difference ×100" in note
    assert _absolute_note(Comparison("test", [{"delta_m": {}}], tmp_path)) == ""
