from __future__ import annotations

from pathlib import Path

import pytest

from manyheads.config.load import build_config, load_config
from manyheads.errors import ConfigError

BASE = """
data: {train: train.csv}
tasks:
  income: {type: binary}
model: {architecture: hps, hidden: [32]}
train: {epochs: 5, lr: 0.01}
output: runs/x
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return path


def test_precedence_defaults_file_command_line(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, BASE), ["train.epochs=3", "model.hidden=[8, 4]"])
    assert cfg.train.epochs == 3  # command line beats file
    assert cfg.train.lr == 0.01  # file beats default
    assert cfg.train.batch_size is None  # default: resolved by the tasks when training
    assert cfg.model.options["hidden"] == [8, 4]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = """
data: {train: t.csv, valid_fraction: 2}
tasks:
  income: {type: binary, colum: income}
  age: {type: regresion}
model: {architecture: mmoe, n_expert: 4}
train: {epochs: three, weighting: eww}
outptu: x
"""
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    message = str(info.value)
    assert "7 problems" in message
    for expected in [
        "unknown key 'outptu'. Did you mean 'output'?",
        "'data.valid_fraction' must be in [0, 1); got 2.",
        "unknown key 'tasks.income.colum'. Did you mean 'column'?",
        "Unknown task type 'regresion'",
        "unknown key 'model.n_expert'. Did you mean 'n_experts'?",
        "'train.epochs' must be of type int; got 'three' (str).",
        "unknown weighting 'eww' in 'train.weighting'. Did you mean 'ew'?",
    ]:
        assert expected in message


def test_duplicate_task_name_names_the_line(tmp_path: Path) -> None:
    text = "data: {train: t.csv}\ntasks:\n  a: {type: binary}\n  a: {type: regression}\n"
    with pytest.raises(ConfigError, match=r"duplicate key 'a' at line 4"):
        load_config(_write(tmp_path, text))


def test_task_column_that_is_also_an_input_is_refused() -> None:
    raw = {
        "data": {"train": "t.csv"},
        "inputs": {"income": "numeric"},
        "tasks": {"income": {"type": "binary"}},
    }
    with pytest.raises(ConfigError, match="also an input"):
        build_config(raw)


def test_monitor_must_name_a_task_metric() -> None:
    raw = {
        "data": {"train": "t.csv"},
        "tasks": {"y": {"type": "binary"}},
        "train": {"monitor": "y.rmse"},
    }
    with pytest.raises(ConfigError, match=r"'train\.monitor' metric 'rmse' is not a metric"):
        build_config(raw)


def test_round_trip_of_the_resolved_config(tmp_path: Path) -> None:
    import yaml

    cfg = load_config(_write(tmp_path, BASE))
    again = build_config(yaml.safe_load(yaml.safe_dump(cfg.to_dict())))
    assert again == cfg
