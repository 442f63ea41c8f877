"""The space file: its form, and its keys and values checked against the config."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from manyheads.config.load import read_yaml
from manyheads.errors import ConfigError
from manyheads.search import parse_space
from manyheads.search._space import apply_values, check_space
from tests.search._helpers import CONFIG, write_files


def test_parse_reads_every_kind_and_the_condition() -> None:
    space = parse_space(
        {
            "train.lr": {"float": [1e-4, 1e-2], "log": True},
            "train.epochs": {"int": [2, 20], "step": 2},
            "train.method": {"categorical": ["ew", "cagrad"]},
            "train.method_options.c": {"float": [0.1, 0.9], "when": {"train.method": "cagrad"}},
            "model.hidden": {"categorical": [[64], [128, 64]]},
        }
    )
    kinds = [(d.key, d.kind) for d in space.dimensions]
    assert kinds[0] == ("train.lr", "float")
    assert kinds[-1] == ("model.hidden", "categorical")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen_c = set()
    for _ in range(12):
        values = space.suggest(study.ask())
        assert 1e-4 <= values["train.lr"] <= 1e-2
        assert values["train.epochs"] % 2 == 0
        assert values["model.hidden"] in ([64], [128, 64])  # lists come back as lists
        seen_c.add("train.method_options.c" in values)
        assert ("train.method_options.c" in values) == (values["train.method"] == "cagrad")
    assert seen_c == {True, False}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"train.lr": {"flaot": [1, 2]}},
            "unknown option 'flaot' of 'train.lr'. Did you mean 'float'",
        ),
        ({"train.lr": {"float": [0.1, 0.01]}}, "low must be below high"),
        ({"train.lr": {"float": [0.0, 0.1], "log": True}}, "log: true needs low > 0"),
        ({"train.epochs": {"int": [1.5, 3]}}, r"must be \[low, high\] of two ints"),
        ({"model.hidden": {"categorical": []}}, "non-empty list"),
        ({"train.lr": 0.1}, "must map to a distribution"),
        ({"a.b": {"float": [0, 1], "when": {"train.method": "x"}}}, "not an earlier key"),
    ],
)
def test_bad_forms_are_named(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_space(spec, source="space.yaml")


def test_keys_and_values_are_checked_against_the_config(tmp_path: Path) -> None:
    config, _ = write_files(tmp_path)
    raw = read_yaml(config)
    space = parse_space(
        {
            "train.lrr": {"float": [1e-4, 1e-2]},
            "model.architecture": {"categorical": ["hps", "mmeo"]},
            "tasks.yy.weight": {"float": [0.5, 2.0]},
            "train.epochs": {"int": [0, 3]},
        },
        source="space.yaml",
    )
    with pytest.raises(ConfigError) as info:
        check_space(space, raw, config_source="cfg.yaml")
    problems = info.value.problems
    assert len(problems) == 4  # every problem at once; the unknown key said once, not per value
    assert "unknown key 'train.lrr'. Did you mean 'lr'?" in problems[0]
    assert "'model.architecture' = 'mmeo'" in problems[1]
    assert "Did you mean 'mmoe'" in problems[1]
    assert "no task 'yy' in cfg.yaml. Did you mean 'y'?" in problems[2]
    assert "'train.epochs' = 0" in problems[3]
    assert str(info.value).startswith("space.yaml: 4 problems")


def test_apply_values_leaves_the_config_as_read() -> None:
    raw = {"train": {"lr": 0.1}, "model": {"hidden": [4]}}
    out = apply_values(raw, {"model.hidden": [8, 4], "tasks.y.weight": 2.0})
    assert out["model"]["hidden"] == [8, 4]
    assert out["tasks"] == {"y": {"weight": 2.0}}
    assert raw == {"train": {"lr": 0.1}, "model": {"hidden": [4]}}
    assert CONFIG  # the helper's config is what the e2e tests search
