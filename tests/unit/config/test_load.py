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
train: {epochs: three, method: eww}
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
        "unknown method 'eww' in 'train.method'. Did you mean 'ew'?",
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


def test_numbers_in_yaml_12_form_are_numbers(tmp_path: Path) -> None:
    text = BASE.replace("lr: 0.01", "lr: 1e-3, weight_decay: 1E-4")
    cfg = load_config(_write(tmp_path, text), ["train.lr_task=5e-4"])
    assert cfg.train.lr == 1e-3
    assert cfg.train.weight_decay == 1e-4
    assert cfg.train.lr_task == 5e-4


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("train.clip_norm", "-1", "must be a finite number > 0 (or null: no clipping). Got -1."),
        ("train.gamma", "-1", "must be a finite number in (0, 1]. Got -1."),
        ("train.patience", "0", "must be an int >= 1 (or null: never stop early). Got 0."),
        ("train.lr", ".inf", "must be a finite number > 0 (or null: chosen by task"),
        ("train.warmup_epochs", "-2", "must be a finite number >= 0. Got -2."),
        ("train.relations_every", "-1", "must be an int >= 1 (or null: never). Got -1."),
        ("train.step_size", "0", "must be an int >= 1. Got 0."),
        ("train.weight_decay", "-0.1", "must be a finite number >= 0. Got -0.1."),
        ("train.momentum", "-0.1", "must be a finite number in [0, 1). Got -0.1."),
        ("train.device", "tpu9", "must be 'cpu', 'auto', 'cuda', 'cuda:N' or 'mps'. Got 'tpu9'."),
        ("tasks.income.weight", ".inf", "must be a finite number >= 0. Got inf."),
        ("model.hidden", "[-5]", "must be a list of ints in [1, 16384] (layer widths). Got -5"),
        (
            "model.hidden",
            "[1e12]",
            "must be a list of ints in [1, 16384] (layer widths). Got 1000000000000.0",
        ),
        ("model.dropout", "1.5", "must be a number in [0, 1) (the share of units dropped)."),
        ("model.embed_dim", "20000", "must be an int in [0, 16384]. Got 20000."),
        ("data.temperature", ".inf", "must be a finite number > 0; got inf."),
        ("data.split_seed", "-1", "must be an int >= 0; got -1."),
    ],
)
def test_every_numeric_setting_has_a_range(
    tmp_path: Path, key: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, BASE), [f"{key}={value}"])
    assert f"'{key}' {message}" in str(info.value)
    assert str(info.value).startswith(f"{tmp_path / 'cfg.yaml'}: 1 problem")


def test_every_bad_training_setting_is_reported_at_once(tmp_path: Path) -> None:
    overrides = [
        "train.optimizer=adamx",
        "train.schedule=cosin",
        "train.precision=fp16",
        "train.gamma=-1",
        "train.clip_norm=-1",
    ]
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, BASE), overrides)
    message = str(info.value)
    assert "5 problems" in message
    for key in ("optimizer", "schedule", "precision", "gamma", "clip_norm"):
        assert f"'train.{key}'" in message


def test_cuda_is_refused_on_a_machine_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"'train\.device' is 'cuda', and this machine has no"):
        load_config(_write(tmp_path, BASE), ["train.device=cuda"])
    assert load_config(_write(tmp_path, BASE), ["train.device=auto"]).train.device == "auto"
    # a finished run's config.yaml is read on any machine (manyheads analyze)
    cfg = load_config(_write(tmp_path, BASE), ["train.device=cuda"], hardware=False)
    assert cfg.train.device == "cuda"


@pytest.mark.parametrize("key", ["test_fraction", "valid_fraction", "valid", "split_column"])
def test_top_level_split_keys_are_refused_with_sources(key: str) -> None:
    value = "x.csv" if key in ("valid", "split_column") else 0.2
    raw = {
        "data": {"sources": [{"train": "a.csv", "tasks": ["y"]}], key: value},
        "tasks": {"y": {"type": "binary"}},
    }
    with pytest.raises(ConfigError, match=rf"'data\.{key}' is not used with 'data\.sources'"):
        build_config(raw)


def test_a_saved_multi_source_config_reads_back() -> None:
    """A run's config.yaml with data.sources is read again (analyze, eval, resume)."""
    raw = {
        "data": {"sources": [{"train": "a.csv", "tasks": ["y"], "valid_fraction": 0.2}]},
        "tasks": {"y": {"type": "binary"}},
    }
    saved = build_config(raw).to_dict()
    assert "valid_fraction" not in saved["data"]
    again = build_config(saved, saved_run=True)
    assert again.data.sources[0].valid_fraction == 0.2
    assert again.to_dict() == saved


def test_a_source_fraction_has_a_range() -> None:
    raw = {
        "data": {"sources": [{"train": "a.csv", "tasks": ["y"], "test_fraction": 1.5}]},
        "tasks": {"y": {"type": "binary"}},
    }
    with pytest.raises(ConfigError, match=r"'data\.sources\[0\]\.test_fraction' must be in"):
        build_config(raw)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"the file is empty \(or holds only comments\)"),
        ("- a\n- b\n", "must hold a mapping"),
        ("data: {train: t.csv\n", r"invalid YAML at line 2, column 1"),
    ],
)
def test_file_problems_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=rf"(?s)cfg\.yaml: .*{message}"):
        load_config(_write(tmp_path, text))


def test_a_bad_override_names_the_config_and_the_override(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"(?s)cfg\.yaml: .*override 'model\.hidden=\[64,'"):
        load_config(_write(tmp_path, BASE), ["model.hidden=[64,"])
