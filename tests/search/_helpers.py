"""A small table, its config and space files, for the search tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

CONFIG = """\
data: {train: data.csv, test_fraction: 0.2}
inputs: {x1: numeric, x2: numeric, c: categorical}
tasks: {y: {type: binary}, z: {type: regression}}
train: {epochs: 2, batch_size: 64}
output: runs/unused
"""

SPACE = """\
train.lr: {float: [1.0e-3, 3.0e-2], log: true}
model.architecture: {categorical: [hps, mmoe]}
model.hidden: {categorical: [[8], [16, 8]]}
"""


def make_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Two numbers and a category; a binary label of x1, a regression label of x2; a group
    column and a time column for the folds."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "c": rng.choice(list("abc"), n),
            "g": rng.integers(0, 12, n),
            "t": rng.permutation(n),
        }
    )
    frame["y"] = ((frame.x1 + 0.5 * rng.normal(size=n)) > 0).astype(int)
    frame["k"] = rng.choice(["p", "q", "r"], n, p=[0.6, 0.3, 0.1])
    frame["z"] = 2.0 * frame.x2 + 0.1 * rng.normal(size=n)
    return frame


def write_files(folder: Path, space: str = SPACE, config: str = CONFIG) -> tuple[Path, Path]:
    """``data.csv``, ``cfg.yaml`` and ``space.yaml`` in ``folder``; returns (config, space)."""
    make_table().to_csv(folder / "data.csv", index=False)
    (folder / "cfg.yaml").write_text(config)
    (folder / "space.yaml").write_text(space)
    return folder / "cfg.yaml", folder / "space.yaml"


def run_search(folder: Path, *args: str) -> int:
    """``manyheads search cfg.yaml --space space.yaml --quiet ARGS`` in ``folder``, in-process."""
    from manyheads.cli.main import main

    cwd = Path.cwd()
    os.chdir(folder)
    try:
        return main(["search", "cfg.yaml", "--space", "space.yaml", "--quiet", *args])
    finally:
        os.chdir(cwd)
