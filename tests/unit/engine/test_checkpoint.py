"""Checkpoint files and the resume fingerprint (``manyheads.engine.checkpoint``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from manyheads.engine._checkpoint_json import unstrict, write_json
from manyheads.engine.checkpoint import (
    fingerprint,
    fingerprint_changes,
    load_checkpoint,
    remove_checkpoint,
    split_digest,
    table_digest,
)
from manyheads.errors import DataError

CONFIG = {
    "data": {"train": "toy.csv"},
    "tasks": {"y": {"type": "binary"}},
    "model": {"architecture": "hps", "hidden": [8]},
    "train": {"epochs": 3, "lr": 0.001, "batch_size": 32},
    "output": "run",
}


def _fp(config: dict[str, object] | None = None, **kw: object) -> dict[str, object]:
    return fingerprint(config or CONFIG, **{"data": {}, "encodings": {}, **kw})  # type: ignore[arg-type]


def _with(section: str, **values: object) -> dict[str, object]:
    return {**CONFIG, section: {**CONFIG[section], **values}}  # type: ignore[dict-item]


def test_the_same_run_has_no_changes() -> None:
    assert fingerprint_changes(_fp(), _fp()) == []


def test_every_changed_key_is_listed_old_to_new() -> None:
    new = _with("train", lr=0.01, batch_size=16)
    new["model"] = {"architecture": "mmoe", "hidden": [8], "n_experts": 4}
    assert fingerprint_changes(_fp(), _fp(new)) == [
        'model.architecture: "hps" → "mmoe"',
        "model.n_experts: (absent) → 4",
        "train.batch_size: 32 → 16",
        "train.lr: 0.001 → 0.01",
    ]


def test_epochs_may_grow_but_not_shrink() -> None:
    assert fingerprint_changes(_fp(), _fp(_with("train", epochs=10))) == []
    assert fingerprint_changes(_fp(), _fp(_with("train", epochs=2))) == [
        "train.epochs: 3 → 2 (epochs may grow, not shrink)"
    ]
    assert fingerprint_changes(_fp(), _fp(_with("train", epochs=10)), more_epochs=False) == [
        "train.epochs: 3 → 10"
    ]


def test_a_checkpoint_older_than_a_setting_resumes_with_its_old_behaviour() -> None:
    # train.fused_optimizer / train.compile came later: absent in an old checkpoint means off
    old = _fp()
    assert fingerprint_changes(old, _fp(_with("train", fused_optimizer=False, compile=False))) == []
    assert fingerprint_changes(old, _fp(_with("train", fused_optimizer=True))) == [
        "train.fused_optimizer: (absent) → true"
    ]


def test_the_output_directory_is_not_part_of_the_fingerprint() -> None:
    assert fingerprint_changes(_fp(), _fp({**CONFIG, "output": "moved"})) == []


def test_changed_data_is_listed_with_its_file(tmp_path: Path) -> None:
    path = tmp_path / "toy.csv"
    path.write_text("x\n1\n")
    files = [str(path)]
    old = _fp(data={"train": split_digest(1, {"x": torch.ones(1)}), "test": None}, files=files)
    path.write_text("x\n1\n2\n")
    new = _fp(data={"train": split_digest(2, {"x": torch.ones(2)}), "test": None}, files=files)
    lines = fingerprint_changes(old, new)
    assert lines[0].startswith("data (train split, encoded): 1 rows, sha256 ")
    assert " → 2 rows, sha256 " in lines[0]
    assert lines[1].startswith(f"data file {path}: 4 bytes, modified ")
    assert " → 6 bytes, modified " in lines[1]
    assert len(lines) == 2


def test_a_touched_but_equal_file_is_no_change(tmp_path: Path) -> None:
    path = tmp_path / "toy.csv"
    path.write_text("x\n1\n")
    old = _fp(data={"train": split_digest(1, {"x": torch.ones(1)})}, files=[str(path)])
    path.write_text("x\n1\n")  # same bytes, new mtime
    new = _fp(data={"train": split_digest(1, {"x": torch.ones(1)})}, files=[str(path)])
    assert fingerprint_changes(old, new) == []


def test_a_changed_encoding_is_listed() -> None:
    old = _fp(encodings={"labels.y": {"classes": ["a", "b"]}})
    new = _fp(encodings={"labels.y": {"classes": ["a", "c"]}})
    (line,) = fingerprint_changes(old, new)
    assert line.startswith("encodings.labels.y: the encoding learnt from the training data")


@pytest.mark.parametrize(
    "other",
    [
        {"x": torch.ones(2, 3)},
        {"x": torch.zeros(3, 2)},
        {"x": torch.zeros(2, 3, dtype=torch.float64)},
        {"y": torch.zeros(2, 3)},
    ],
    ids=["values", "shape", "dtype", "name"],
)
def test_the_data_digest_sees_any_difference(
    other: dict[str, torch.Tensor],
) -> None:
    assert table_digest({"x": torch.zeros(2, 3)}) != table_digest(other)


def test_the_data_digest_reads_every_dtype() -> None:
    tensors = {
        "bool": torch.ones(3, dtype=torch.bool),
        "bf16": torch.ones(2, 2, dtype=torch.bfloat16),
        "scalar": torch.tensor(1.0),
        "ids": torch.arange(6).reshape(2, 3).t(),  # not contiguous
    }
    assert table_digest(tensors) == table_digest(dict(reversed(tensors.items())))


def test_remove_checkpoint_removes_only_checkpoint_files(tmp_path: Path) -> None:
    for name in ("checkpoint.json", "checkpoint-00003.safetensors", "model.json", "notes.txt"):
        (tmp_path / name).write_text("x")
    remove_checkpoint(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "notes.txt"]


def test_a_checkpoint_without_its_tensors_names_the_file(tmp_path: Path) -> None:
    meta = {
        "epoch": 1,
        "step": 2,
        "stale": 0,
        "history": [{"epoch": 1.0, "valid_score": 0.5}],
        "best_epoch": 1,
        "best_score": 0.5,
        "train_seconds": 0.1,
        "task_best": None,
        "optimizer": {"param_groups": [], "scalars": {}},
        "tensors_file": "checkpoint-00001.safetensors",
        "fingerprint": {},
    }
    (tmp_path / "checkpoint.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"checkpoint-00001\.safetensors: the checkpoint's tensors"):
        load_checkpoint(tmp_path)


def test_non_finite_state_is_strict_json_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.json"
    data = {"best_score": math.inf, "history": [{"auc": math.nan, "loss": 0.5}], "low": -math.inf}
    write_json(path, data)
    text = path.read_text()
    assert "Infinity" not in text
    assert "NaN" not in text
    back = json.loads(text, object_hook=unstrict)
    assert back["best_score"] == math.inf
    assert back["low"] == -math.inf
    assert math.isnan(back["history"][0]["auc"])
    assert back["history"][0]["loss"] == 0.5
