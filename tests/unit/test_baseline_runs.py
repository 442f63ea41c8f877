"""``compare --baselines``: what each fit of the baselines learns from, checked before training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from manyheads.config.load import build_config
from manyheads.config.schema import RunConfig
from manyheads.errors import InvalidParameterError
from manyheads.workflow._baseline_runs import (
    baseline_parts,
    check_baseline_names,
    train_baselines,
)
from manyheads.workflow._splits import SourceSplits, Splits


def _config(inputs: dict[str, str]) -> RunConfig:
    return build_config(
        {
            "data": {"train": "train.csv"},
            "inputs": inputs,
            "tasks": {"a": {"type": "binary"}, "b": {"type": "regression"}},
        },
        source="test",
    )


def _frame(seed: int, n: int, columns: tuple[str, ...]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.normal(size=n) for c in columns})
    frame["a"] = (frame[columns[0]] > 0).astype(int)
    frame["b"] = 2.0 * frame[columns[0]]
    return frame


def _source(name: str, task: str, columns: tuple[str, ...], *, test: bool = True) -> SourceSplits:
    train, valid = _frame(0, 120, columns), _frame(1, 40, columns)
    return SourceSplits(name, (task,), train, valid, _frame(2, 40, columns) if test else None)


def _splits(*sources: SourceSplits) -> Splits:
    tests = [s.test for s in sources if s.test is not None]
    return Splits(
        pd.concat([s.train for s in sources]),
        pd.concat([s.valid for s in sources]),
        pd.concat(tests) if tests else None,
        sources=sources,
    )


def test_each_source_learns_its_own_tasks_with_the_inputs_it_has() -> None:
    config = _config({"x": "numeric", "z": "numeric"})
    splits = _splits(_source("one", "a", ("x",)), _source("two", "b", ("x", "z")))
    parts = baseline_parts(["linear"], config, splits)
    assert [[t.name for t in p.tasks] for p in parts] == [["a"], ["b"]]
    assert [p.inputs for p in parts] == [{"x": "numeric"}, {"x": "numeric", "z": "numeric"}]
    results = train_baselines(["linear"], parts, [0, 1], lambda _: None)
    assert [r.seed for r in results["linear"]] == [0, 1]
    assert list(results["linear"][0].tasks) == ["a", "b"]
    assert results["linear"][0].split == "test"


def test_a_source_without_the_test_split_the_others_have_is_refused() -> None:
    config = _config({"x": "numeric"})
    splits = _splits(_source("one", "a", ("x",)), _source("two", "b", ("x",), test=False))
    with pytest.raises(InvalidParameterError, match="source 'two' has no test split"):
        baseline_parts(["gbdt"], config, splits)


def test_an_image_input_is_refused_with_the_column() -> None:
    config = _config({"x": "numeric", "photo": "image"})
    frame = _frame(0, 50, ("x",))
    with pytest.raises(InvalidParameterError, match=r"--baselines gbdt: .*column 'photo'"):
        baseline_parts(["gbdt"], config, Splits(frame, frame, None))


def test_names_are_checked_once_each() -> None:
    assert check_baseline_names([]) == []
    with pytest.raises(InvalidParameterError, match="name each baseline once"):
        check_baseline_names(["gbdt", "gbdt"])
    with pytest.raises(InvalidParameterError, match="Did you mean 'linear'"):
        check_baseline_names(["linar"])
