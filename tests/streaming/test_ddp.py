"""A streamed table under ``train --nproc 2``: each rank reads its own row groups
(``StreamingTable.shard``), both take the same number of steps, rank 0 alone writes the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from tests.streaming.conftest import write_config


def test_two_ranks_train_a_streamed_directory(table_dir: Path, tmp_path: Path) -> None:
    config = write_config(table_dir)
    raw = yaml.safe_load(config.read_text())
    raw["output"] = str(tmp_path / "run")
    config.write_text(yaml.safe_dump(raw))
    env = {
        "PATH": "/usr/bin:/bin",
        "OMP_NUM_THREADS": "1",
        "MANYHEADS_DDP_TIMEOUT": "60",
        "HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "manyheads", "train", str(config), "--nproc", "2", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["tasks"]["y"]["auc"] > 0.9  # y follows x and the colour: learnt
    assert metrics["tasks"]["z"]["r2"] > 0.5
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert len(history) == 2  # two epochs, written once (rank 0)
