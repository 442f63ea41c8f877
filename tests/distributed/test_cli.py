"""``manyheads train --nproc 2``: a killed rank fails the run in bounded time with a clear
message; ``--resume`` continues it on two ranks; rank 0 alone writes the run, which predicts
and whose losses equal one process's with the global batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import manyheads as mh

ENV = {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "MANYHEADS_DDP_TIMEOUT": "60"}
BATCH = 32  # per rank: the global batch is 64


@pytest.fixture
def census_slice(census_sample: pd.DataFrame, tmp_path: Path) -> dict[str, Path]:
    """599 / 200 / 200 real census rows (the last global batch of 23 rows: 12 + 11)."""
    paths = {}
    for name, n in (("train", 599), ("valid", 200), ("test", 200)):
        frame = census_sample[census_sample.split == name].head(n).drop(columns=["split"])
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


def _config(tmp_path: Path, files: dict[str, Path], output: str, epochs: int) -> Path:
    path = tmp_path / f"{output}.yaml"
    path.write_text(
        f"""
data: {{train: {files["train"]}, valid: {files["valid"]}, test: {files["test"]}}}
tasks: {{income: {{type: binary}}, never_married: {{type: binary}}}}
model: {{architecture: mmoe, n_experts: 2, expert_hidden: [16], tower: [8]}}
train: {{epochs: {epochs}, batch_size: {BATCH}, method: upgrad, schedule: cosine, seed: 3}}
output: {tmp_path / output}
"""
    )
    return path


def _train(config: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "manyheads", "train", str(config), "--quiet", *extra],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**ENV, "HOME": str(config.parent), "PYTHONPATH": os.pathsep.join(sys.path)},
        )


def _one_process(config: Path, tmp_path: Path) -> pd.DataFrame:
    """The history of one process with the global batch (no run directory)."""
    cfg = mh.load_config(config, [f"train.batch_size={2 * BATCH}", "output=null"])
    run = mh.train_config(cfg)
    return pd.DataFrame(run.history)


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


@pytest.mark.slow  # two launches of 2 ranks and one process: about 40 s of CPU
def test_a_killed_rank_fails_the_run_then_resume_finishes_it(
    tmp_path: Path, census_slice: dict[str, Path]
) -> None:
    config = _config(tmp_path, census_slice, "cut", epochs=3)
    log = tmp_path / "cut.log"
    launcher = _train(config, log, "--nproc", "2")
    checkpoint = tmp_path / "cut" / "checkpoint.json"
    deadline = time.monotonic() + 240
    while not checkpoint.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert launcher.poll() is None, log.read_text()  # still training
    workers = _children(launcher.pid)  # the launcher is torch's elastic agent
    assert len(workers) == 2
    for pid in workers:  # hold both where they are, then one dies
        os.kill(pid, signal.SIGSTOP)
    os.kill(max(workers), signal.SIGKILL)
    os.kill(min(workers), signal.SIGCONT)
    began = time.monotonic()
    assert launcher.wait(timeout=120) == 1
    assert time.monotonic() - began < 90  # no hang: the other rank is stopped
    message = log.read_text()
    assert "the data-parallel run on 2 processes failed: " in message
    assert "was killed by SIGKILL" in message
    assert "continue with --resume" in message
    assert "Traceback" not in message
    assert not (tmp_path / "cut" / "metrics.json").exists()
    assert json.loads(checkpoint.read_text())["epoch"] < 3

    resumed = _train(config, tmp_path / "resume.log", "--nproc", "2", "--resume")
    assert resumed.wait(timeout=300) == 0, (tmp_path / "resume.log").read_text()
    history = pd.read_csv(tmp_path / "cut" / "history.csv")
    assert history["epoch"].tolist() == [1, 2, 3]
    single = _one_process(config, tmp_path)
    columns = [c for c in history.columns if c.startswith(("train_loss", "valid_loss"))]
    for column in columns:  # equal to one process with the global batch
        assert history[column].tolist() == pytest.approx(single[column].tolist(), abs=1e-5)
    run = tmp_path / "cut"
    assert (run / "metrics.json").exists()
    assert not checkpoint.exists()
    assert len(list(run.glob("events.out.tfevents.*"))) == 2  # rank 0's, once per start
    predictions = mh.load(run).predict(str(census_slice["test"]))
    assert len(predictions) == 200
    assert {"income", "never_married"} <= set(predictions.columns)


def test_bad_data_found_by_the_ranks_exits_2(tmp_path: Path, census_slice: dict[str, Path]) -> None:
    config = _config(tmp_path, census_slice, "bad", epochs=1)
    log = tmp_path / "bad.log"
    process = _train(config, log, "--nproc", "2", "tasks={nope: {type: binary}}")
    assert process.wait(timeout=120) == 2
    message = log.read_text()
    assert "the label column 'nope' of task 'nope' is missing" in message
    assert "Traceback" not in message
    assert not (tmp_path / "bad").exists()
