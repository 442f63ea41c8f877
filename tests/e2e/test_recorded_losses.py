"""A tiny CLI run whose training losses are compared to recorded values (torchtune style).

If a change alters these numbers on purpose (initialisation, loss, batching order), re-record them
and say why in the commit message.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

RECORDED = [  # train_loss/income, train_loss/never_married per epoch
    (0.745051, 0.674396),
    (0.668735, 0.660313),
    (0.576311, 0.640863),
]


def test_recorded_training_losses(tmp_path: Path, census_sample: pd.DataFrame) -> None:
    train = census_sample[census_sample.split == "train"].head(2000).drop(columns=["split"])
    valid = census_sample[census_sample.split == "valid"].head(500).drop(columns=["split"])
    train.to_csv(tmp_path / "train.csv", index=False)
    valid.to_csv(tmp_path / "valid.csv", index=False)
    (tmp_path / "cfg.yaml").write_text(
        f"""
data: {{train: {tmp_path / "train.csv"}, valid: {tmp_path / "valid.csv"}}}
inputs: {{age: numeric, weeks_worked: numeric, sex: categorical, class_worker: categorical}}
tasks: {{income: {{type: binary}}, never_married: {{type: binary}}}}
model: {{architecture: hps, hidden: [16], tower: [8]}}
train: {{epochs: 3, batch_size: 128, seed: 0}}
output: {tmp_path / "run"}
"""
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "manyheads.cli.main",
            "train",
            str(tmp_path / "cfg.yaml"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert history["train_loss/income"].tolist() == pytest.approx(
        [r[0] for r in RECORDED], rel=1e-4
    )
    assert history["train_loss/never_married"].tolist() == pytest.approx(
        [r[1] for r in RECORDED], rel=1e-4
    )
