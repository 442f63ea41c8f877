"""Class + box on Fashion-MNIST localisation through the CLI: train (mtan), predict from an .npz
table with pixel coordinates, and a box outside the image refused before anything is written."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from manyheads.builtin_datasets import load_dataset

OPTIONS = {"n_train": 400, "n_test": 100, "seed": 1}
COORDS = ["x1", "y1", "x2", "y2"]

Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_train_and_predict_boxes(cli: Cli, tmp_path: Path, shared_data: Path) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        f"""
data: {{dataset: fashion-mnist-loc, dataset_options: {json.dumps(OPTIONS)}}}
model: {{architecture: mtan, channels: [4, 8], tower: [16]}}
train: {{epochs: 2, batch_size: 60, lr: 0.01}}
output: {tmp_path / "run"}
"""
    )
    done = cli("train", str(cfg), "--quiet", cwd=tmp_path, data=shared_data)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["architecture"] == "mtan"
    box = metrics["tasks"]["box"]
    assert box["primary"] == "iou"
    assert box["n"] == 100
    assert 0.0 < box["iou"] <= 1.0
    assert 0.0 <= box["acc50"] <= 1.0
    assert metrics["tasks"]["label"]["primary"] == "accuracy"

    test = load_dataset("fashion-mnist-loc", **OPTIONS).test
    assert test is not None
    source = tmp_path / "images.npz"
    np.savez(source, images=np.stack(test["image"].head(20).tolist()), id=np.arange(20))
    out = tmp_path / "pred.csv"
    done = cli(
        "predict", str(tmp_path / "run"), str(source), "-o", str(out), "--keep", "id",
        cwd=tmp_path, data=shared_data,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    pred = pd.read_csv(out)
    normalised = [f"box_{c}" for c in COORDS]
    pixels = [f"box_{c}_px" for c in COORDS]
    assert list(pred.columns) == ["id", "label", "label_proba", *normalised, *pixels]
    assert len(pred) == 20
    corners = pred[normalised].to_numpy()
    assert ((corners >= 0) & (corners <= 1)).all()
    assert (corners[:, 2] > corners[:, 0]).all()
    assert (corners[:, 3] > corners[:, 1]).all()
    np.testing.assert_allclose(pred[pixels].to_numpy(), 64 * corners, rtol=1e-5)


def test_a_box_outside_the_image_stops_training(
    cli: Cli, tmp_path: Path, shared_data: Path
) -> None:
    frame = load_dataset("fashion-mnist-loc", n_train=60, n_test=10).train.head(40)
    boxes = frame[COORDS].to_numpy(dtype=float, copy=True)
    boxes[4] *= 64  # row 5 in pixels: the mistake the message explains
    table = tmp_path / "boxes.npz"
    labels = {c: boxes[:, j] for j, c in enumerate(COORDS)}
    np.savez(
        table,
        images=np.stack(frame["image"].tolist()),
        label=frame["label"].to_numpy(dtype=str),
        **labels,
    )
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        f"""
data: {{train: {table}, valid_fraction: 0.25}}
tasks:
  label: {{type: multiclass}}
  box: {{type: box, columns: [x1, y1, x2, y2], image_size: [64, 64]}}
inputs: {{image: image}}
model: {{architecture: mtan, channels: [4, 8]}}
train: {{epochs: 1}}
output: {tmp_path / "run"}
"""
    )
    done = cli("train", str(cfg), "--quiet", cwd=tmp_path, data=shared_data)
    assert done.returncode == 2, done.stderr
    assert "boxes.npz, line 5, column 'x1'" in done.stderr
    assert "outside [0, 1]" in done.stderr
    assert "divide pixel coordinates by the image width" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_an_unreadable_image_file_stops_training(cli: Cli, tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    rows = []
    for i in range(12):
        name = f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8)).save(tmp_path / name)
        rows.append({"image": name, "label": i % 2})
    (tmp_path / "img7.png").write_bytes(b"not a png")  # row 8 of the table: line 9
    pd.DataFrame(rows).to_csv(tmp_path / "train.csv", index=False)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        f"""
data: {{train: {tmp_path / "train.csv"}}}
inputs: {{image: image}}
tasks: {{label: {{type: binary}}}}
model: {{architecture: hps, encoder: lenet, hidden: []}}
train: {{epochs: 1, batch_size: 4}}
output: {tmp_path / "run"}
"""
    )
    done = cli("train", str(cfg), "--quiet", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "train.csv" in done.stderr
    assert "line 9" in done.stderr
    assert "img7.png" in done.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()
