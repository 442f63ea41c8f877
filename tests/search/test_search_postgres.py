"""Two worker processes join one study through a real PostgreSQL (started by the tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawl_helpers.fixtures import postgres_url  # noqa: F401
from crawl_helpers.postgres import fresh_database
from tests.search._helpers import write_files

pytestmark = pytest.mark.slow


def _worker(folder: Path, out: str, url: str) -> subprocess.Popen[str]:
    args = ["search", "cfg.yaml", "--space", "space.yaml", "--trials", "4", "-o", out]
    args += ["--storage", url, "--study-name", "shared", "--no-final", "--quiet", "train.epochs=1"]
    return subprocess.Popen(
        [sys.executable, "-m", "manyheads.cli.main", *args],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def test_two_workers_share_one_study_in_postgresql(
    tmp_path: Path,
    postgres_url: str,  # noqa: F811
) -> None:
    url = fresh_database(postgres_url, "search_e2e")
    write_files(tmp_path)
    workers = [_worker(tmp_path, f"out{i}", url) for i in (1, 2)]
    for proc in workers:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
    storage = optuna.storages.RDBStorage(url)
    try:
        study = optuna.load_study(study_name="shared", storage=storage)
        finished = [t for t in study.get_trials() if t.state.name in ("COMPLETE", "PRUNED")]
    finally:
        storage.engine.dispose()
    # --trials counts over all workers: each stops once the study holds 4 (one trial more
    # when both were running one as the 4th finished)
    assert 4 <= len(finished) <= 5
    assert len({t.user_attrs["worker"] for t in finished}) == 2  # both worked on the one study
    for i in (1, 2):  # each worker wrote its own view of the study
        assert (tmp_path / f"out{i}" / "best.yaml").exists()
        assert not (tmp_path / f"out{i}" / "study.db").exists()
