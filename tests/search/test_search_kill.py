"""A search killed with SIGKILL mid-study continues with --resume."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from tests.search._helpers import run_search, write_files

pytestmark = pytest.mark.slow


def _finished(db: Path) -> int:
    """Trials COMPLETE or PRUNED in the SQLite study (0 while the tables do not exist yet)."""
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        try:
            rows = conn.execute(
                "SELECT COUNT(*) FROM trials WHERE state IN ('COMPLETE', 'PRUNED')"
            ).fetchone()
        except sqlite3.OperationalError:
            return 0
    return int(rows[0])


def test_a_search_killed_mid_trial_resumes(tmp_path: Path) -> None:
    write_files(tmp_path)
    args = ["search", "cfg.yaml", "--space", "space.yaml", "--trials", "50", "-o", "out"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "manyheads.cli.main", *args, "--quiet", "train.epochs=3"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    db = tmp_path / "out" / "study.db"
    deadline = time.monotonic() + 120
    while _finished(db) < 1 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(0.3)  # well into the next trial (a 3-epoch trial takes longer)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    before = _finished(db)
    assert before >= 1
    assert run_search(tmp_path, "--trials", str(before + 2), "-o", "out", "--resume") == 0
    study = optuna.load_study(study_name="manyheads", storage=f"sqlite:///{db}")
    states = [t.state.name for t in study.get_trials()]
    assert "RUNNING" not in states
    assert states.count("COMPLETE") + states.count("PRUNED") == before + 2
    failed = [t.number for t in study.get_trials() if t.state.name == "FAIL"]
    retried = [t.user_attrs["retry_of"] for t in study.get_trials() if "retry_of" in t.user_attrs]
    assert failed  # the kill cut a trial short ...
    assert retried == failed  # ... and it ran again
    assert (tmp_path / "out" / "final" / "metrics.json").exists()
