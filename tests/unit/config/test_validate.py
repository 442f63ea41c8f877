"""The dry run of ``manyheads validate``: what ``train`` builds, checked without data."""

from __future__ import annotations

from typing import Any

import pytest

from manyheads.config.load import build_config
from manyheads.config.validate import dry_run


def _raw(**sections: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "data": {"train": "t.csv"},
        "tasks": {"y": {"type": "binary"}, "z": {"type": "regression"}},
    }
    raw.update(sections)
    return raw


def test_a_good_config_has_no_problem() -> None:
    assert dry_run(build_config(_raw())) == []
    assert dry_run(build_config(_raw(model={"architecture": "mmoe", "n_experts": 3}))) == []


def test_every_bad_option_is_named_by_its_key_path() -> None:
    raw = _raw(
        model={"architecture": "mmoe", "n_experts": 0, "norm": "zz"},
        train={"method": "cagrad", "method_options": {"c": -5, "alpha": 1}},
    )
    problems = dry_run(build_config(raw))
    assert [p.split(":")[0] for p in problems] == [
        "'train.method_options.c'",
        "'train.method_options.alpha'",
        "'model.n_experts'",
        "'model.norm'",
    ]
    assert "Valid options: c, reduction, rep_grad" in problems[1]


def test_the_encoder_and_its_options_are_tried_together() -> None:
    raw = _raw(inputs={"t": "text"}, model={"encoder": "cnn", "encoder_options": {"widths": [0]}})
    [problem] = dry_run(build_config(raw))
    assert problem.startswith("'model.encoder_options': The 'widths' option of the 'cnn'")


def test_a_token_task_needs_a_sequence_encoder() -> None:
    raw = {"data": {"train": "t.csv"}, "tasks": {"pos": {"type": "tagging"}}}
    [problem] = dry_run(build_config(raw))
    assert "'model'" in problem
    assert "one label per token" in problem
    raw["model"] = {"encoder": "bilstm"}
    assert dry_run(build_config(raw)) == []  # a tokens column stands in for the inferred input


@pytest.mark.parametrize(
    "model", [{"architecture": "mtan"}, {"encoder": "lenet"}, {"encoder": "resnet18"}]
)
def test_image_models_wait_for_the_data(model: dict[str, Any]) -> None:
    # the image size comes from the data: no stand-in, no false refusal
    assert dry_run(build_config(_raw(model=model))) == []


def test_rep_grad_on_a_loss_weighting() -> None:
    raw = _raw(train={"method": "uw", "method_options": {"rep_grad": True}})
    [problem] = dry_run(build_config(raw))
    assert problem.startswith("'train.method_options.rep_grad': The 'rep_grad' option")


def test_static_weights_come_from_the_tasks() -> None:
    assert dry_run(build_config(_raw(train={"method": "static"}))) == []
    raw = _raw(train={"method": "static", "method_options": {"weights": [1.0]}})
    [problem] = dry_run(build_config(raw))
    assert problem.startswith("'train.method_options.weights'")


def test_a_built_in_dataset_brings_its_tasks() -> None:
    # no tasks in the config: the per-task option's length stands for the task count
    raw = {
        "data": {"dataset": "census-income"},
        "train": {"method": "static", "method_options": {"weights": [1.0, 2.0, 0.5]}},
    }
    assert dry_run(build_config(raw)) == []


def test_the_dry_run_joins_the_other_problems_of_the_config() -> None:
    from manyheads.errors import ConfigError

    raw = _raw(
        model={"architecture": "mmoe", "n_experts": 0, "dropout": 1.5},
        train={"clip_norm": -1, "method": "cagrad", "method_options": {"c": -5}},
    )
    with pytest.raises(ConfigError) as info:
        build_config(raw, dry_run=True)
    problems = info.value.problems
    assert len(problems) == 4  # dropout is reported once, by its range
    assert [p for p in problems if "dropout" in p] == [
        "'model.dropout' must be a number in [0, 1) (the share of units dropped). Got 1.5."
    ]
    assert dry_run(build_config(_raw(), dry_run=True)) == []
