"""Folds: stratified over several label columns, grouped, forward-chaining; bad columns named."""

from __future__ import annotations

import numpy as np
import pytest

from manyheads.errors import DataError, InvalidParameterError
from manyheads.search import FoldPlan, make_folds
from tests.search._helpers import make_table


def _cover(folds: list[tuple[np.ndarray, np.ndarray]], n: int) -> None:
    valid = np.concatenate([v for _, v in folds])
    assert sorted(valid) == list(range(n))  # every row validates exactly once
    for train, v in folds:
        assert not set(train) & set(v)


def test_iterative_stratification_keeps_both_label_columns_in_proportion() -> None:
    frame = make_table(600)
    folds = make_folds(frame, FoldPlan(k=5, stratify=("y", "k")))
    _cover(folds, len(frame))
    for _, valid in folds:
        part = frame.iloc[valid]
        assert abs(part.y.mean() - frame.y.mean()) < 0.02
        # the rare class of the second column (10%) in every fold, in proportion
        assert abs((part.k == "r").mean() - (frame.k == "r").mean()) < 0.02


def test_grouped_folds_keep_each_group_in_one_fold() -> None:
    frame = make_table(300)
    folds = make_folds(frame, FoldPlan(k=4, group_by="g"))
    _cover(folds, len(frame))
    for train, valid in folds:
        assert not set(frame.g.iloc[train]) & set(frame.g.iloc[valid])


def test_forward_chaining_validates_on_later_rows_only() -> None:
    frame = make_table(300)
    folds = make_folds(frame, FoldPlan(k=3, time_column="t"))
    assert [len(t) for t, _ in folds] == [75, 150, 225]
    for train, valid in folds:
        assert frame.t.iloc[train].max() < frame.t.iloc[valid].min()


def test_bad_fold_settings_are_named() -> None:
    frame = make_table(50)
    frame.attrs["path"] = "data.csv"
    with pytest.raises(
        DataError, match=r"data.csv: column 'gg' for the folds not found. Did you mean 'g'"
    ):
        make_folds(frame, FoldPlan(k=3, group_by="gg"))
    with pytest.raises(DataError, match="12 groups cannot fill 20 folds"):
        make_folds(make_table(300), FoldPlan(k=20, group_by="g"))
    with pytest.raises(InvalidParameterError, match="--cv must be an int >= 2"):
        make_folds(frame, FoldPlan(k=1))
