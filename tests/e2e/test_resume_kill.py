"""`manyheads train --resume` after a real SIGKILL ends with the metrics of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ENV = {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}


def _config(tmp_path: Path, census_files: dict[str, Path], output: str) -> Path:
    path = tmp_path / f"{output}.yaml"
    path.write_text(
        f"""
data: {{train: {census_files["train"]}, valid: {census_files["valid"]},
        test: {census_files["test"]}}}
tasks: {{income: {{type: binary}}, never_married: {{type: binary}}}}
model: {{architecture: mmoe, n_experts: 4, expert_hidden: [16], tower: [8], dropout: 0.1}}
train: {{epochs: 6, batch_size: 64, schedule: cosine, seed: 3}}
output: {tmp_path / output}
"""
    )
    return path


def _train(config: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as err:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "manyheads.cli.main", "train", str(config), "--quiet", *extra],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**ENV, "HOME": str(config.parent)},
        )


def _finish(process: subprocess.Popen[bytes], log: Path) -> None:
    process.wait(timeout=300)
    assert process.returncode == 0, log.read_text()


def test_sigkill_then_resume_matches_the_uninterrupted_run(
    tmp_path: Path, census_files: dict[str, Path]
) -> None:
    full = _train(_config(tmp_path, census_files, "full"), tmp_path / "full.log")
    cut_config = _config(tmp_path, census_files, "cut")
    cut = _train(cut_config, tmp_path / "cut.log")
    checkpoint = tmp_path / "cut" / "checkpoint.json"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if checkpoint.exists() and json.loads(checkpoint.read_text())["epoch"] >= 2:
            break
        time.sleep(0.05)
    os.kill(cut.pid, signal.SIGKILL)
    cut.wait()
    assert cut.returncode == -signal.SIGKILL
    assert not (tmp_path / "cut" / "metrics.json").exists()
    assert not (tmp_path / "cut" / "model.json").exists()

    _finish(_train(cut_config, tmp_path / "resume.log", "--resume"), tmp_path / "resume.log")
    _finish(full, tmp_path / "full.log")
    got = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    want = json.loads((tmp_path / "full" / "metrics.json").read_text())
    assert got["tasks"] == want["tasks"]
    assert got["best_epoch"] == want["best_epoch"]
    history = pd.read_csv(tmp_path / "cut" / "history.csv")
    assert history["epoch"].tolist() == [1, 2, 3, 4, 5, 6]
    assert pd.read_csv(tmp_path / "full" / "history.csv").equals(history)
