"""A tiny MultiMNIST run through the CLI: ``manyheads train`` (hps + lenet), then ``predict``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from manyheads.builtin_datasets import load_dataset

Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_train_and_predict_multi_mnist(cli: Cli, tmp_path: Path, shared_data: Path) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        f"""
data: {{dataset: multi-mnist, dataset_options: {{n_train: 1000, n_test: 200}}}}
model: {{architecture: hps, encoder: lenet, hidden: [], tower: [50]}}
train: {{epochs: 2, batch_size: 100, lr: 0.003}}
output: {tmp_path / "run"}
"""
    )
    done = cli("train", str(cfg), "--quiet", cwd=tmp_path, data=shared_data)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["split"] == "test"
    assert metrics["tasks"]["left"]["n"] == 200
    assert metrics["tasks"]["left"]["accuracy"] > 0.2  # 10 classes: chance is 0.1
    state = json.loads((tmp_path / "run" / "model.json").read_text())["preprocessor"]
    assert state["inputs"] == {"image": "image"}
    assert state["image"]["image"]["shape"] == [1, 28, 28]

    test = load_dataset("multi-mnist", n_train=1000, n_test=200).test
    assert test is not None
    test = test.head(30)
    rows = [
        {"id": i, "image": img.tolist()} for i, img in enumerate(test["image"])
    ]  # images as nested lists in JSONL
    source = tmp_path / "images.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "pred.csv"
    done = cli(
        "predict", str(tmp_path / "run"), str(source), "-o", str(out), "--keep", "id",
        cwd=tmp_path, data=shared_data,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["id", "left", "left_proba", "right", "right_proba"]
    assert len(pred) == 30
    assert pred["left"].between(0, 9).all()
