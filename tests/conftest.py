"""Shared fixtures: small real data (the census sample shipped in the package) and toy frames."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

# Two xdist workers share two cores: more than one intra-op thread per worker oversubscribes the
# CPU and makes small steps 10-50x slower (OpenMP spin-waits).
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def census_sample() -> pd.DataFrame:
    """The 24k-row census-income sample shipped in the package (with its split column)."""
    from importlib import resources

    ref = resources.files("manyheads.builtin_datasets") / "_files" / "census_income_sample.csv.gz"
    with resources.as_file(ref) as path:
        return pd.read_csv(path, keep_default_na=False)


@pytest.fixture
def census_files(census_sample: pd.DataFrame, tmp_path: Path) -> dict[str, Path]:
    """Small train/valid/test CSV files of real census rows (3000/600/600)."""
    frames = {
        "train": census_sample[census_sample.split == "train"].head(3000),
        "valid": census_sample[census_sample.split == "valid"].head(600),
        "test": census_sample[census_sample.split == "test"].head(600),
    }
    paths = {}
    for name, frame in frames.items():
        paths[name] = tmp_path / f"{name}.csv"
        frame.drop(columns=["split"]).to_csv(paths[name], index=False)
    return paths


@pytest.fixture
def toy_frame() -> pd.DataFrame:
    """400 rows: numbers, a category and short text; binary, multiclass, regression labels."""
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    words = np.where(x > 0, "lovely soft dress", "awful cheap fabric")
    frame = pd.DataFrame({"x": x, "x2": rng.normal(size=n), "colour": colour, "review": words})
    frame["good"] = (x > 0).astype(int)
    frame["shade"] = np.where(colour == "red", "warm", np.where(colour == "blue", "cold", "mid"))
    frame["score"] = 3.0 * x + 1.0
    return frame


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``$MANYHEADS_DATA``; fails in CI when missing, skips with the reason elsewhere."""
    root = os.environ.get("MANYHEADS_DATA")
    if root and Path(root).is_dir():
        return Path(root)
    if os.environ.get("CI") == "true":
        pytest.fail("MANYHEADS_DATA is not set to the shared data folder in CI")
    pytest.skip("MANYHEADS_DATA is not set (set it to ../shared/data)")


class CLI:
    """Runs ``manyheads`` in a subprocess with a clean environment (one intra-op thread)."""

    def __call__(
        self, *args: str, cwd: Path, data: Path | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
            "OMP_NUM_THREADS": "1",
            "HOME": str(cwd),
        }
        if data is not None:
            env["MANYHEADS_DATA"] = str(data)
        if "PYTHONPATH" in os.environ:  # a git worktree's src/ over the editable install
            # absolute: the subprocess runs in another folder, where 'src' names nothing
            parts = os.environ["PYTHONPATH"].split(os.pathsep)
            env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in parts if p)
        return subprocess.run(
            [sys.executable, "-m", "manyheads.cli.main", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )


@pytest.fixture(scope="session")
def cli() -> CLI:
    """``cli("train", "cfg.yaml", cwd=tmp_path)`` -> the completed ``manyheads`` process."""
    return CLI()


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch intra-op thread for the test, restored after it: intra-op threads only add
    overhead on models this small, two xdist workers on two cores with two threads each slow
    every step down tenfold, and some comparisons are bit for bit."""
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)
