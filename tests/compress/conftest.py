"""Tiny trained runs for the compression tests: a config file, train/valid/test CSV files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def toy_rows(n: int, seed: int) -> pd.DataFrame:
    """Numbers, a category and short reviews; a binary and a multiclass label that they decide."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    words = np.where(x > 0, "lovely soft dress", "awful cheap fabric")
    frame = pd.DataFrame({"x": x, "x2": rng.normal(size=n), "colour": colour, "review": words})
    frame["good"] = (x + 0.3 * rng.normal(size=n) > 0).astype(int)
    frame["shade"] = np.where(colour == "red", "warm", np.where(colour == "blue", "cold", "mid"))
    return frame


def train_run(root: Path, model: str, inputs: str) -> Path:
    """Train a run from a config file (as ``manyheads train`` does) and return its folder."""
    from manyheads.config.load import load_config
    from manyheads.workflow._fit import train_config

    root.mkdir(parents=True, exist_ok=True)
    for i, (name, n) in enumerate((("train", 400), ("valid", 150), ("test", 150))):
        toy_rows(n, i).to_csv(root / f"{name}.csv", index=False)
    cfg = root / "cfg.yaml"
    cfg.write_text(
        f"data: {{train: {root / 'train.csv'}, valid: {root / 'valid.csv'}, "
        f"test: {root / 'test.csv'}}}\n"
        f"inputs: {inputs}\n"
        "tasks:\n  good: {type: binary}\n  shade: {type: multiclass}\n"
        f"model: {model}\n"
        "train: {epochs: 3, batch_size: 64, lr: 0.01, monitor: good.auc}\n"
        f"output: {root / 'run'}\n"
    )
    train_config(load_config(cfg))
    return root / "run"


TABLE = "{x: numeric, x2: numeric, colour: categorical}"


@pytest.fixture(scope="module")
def make_run() -> Callable[[Path, str, str], Path]:
    """:func:`train_run`, for a test that trains its own model."""
    return train_run


@pytest.fixture(scope="module")
def hps_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-epoch hps run on 400 toy rows (hidden [16, 8], tower [8])."""
    root = tmp_path_factory.mktemp("hps")
    return train_run(root, "{architecture: hps, hidden: [16, 8], tower: [8]}", TABLE)


@pytest.fixture(scope="module")
def mmoe_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-epoch mmoe run on 400 toy rows (3 experts [16, 8], tower [8], layer norm)."""
    root = tmp_path_factory.mktemp("mmoe")
    model = "{architecture: mmoe, n_experts: 3, expert_hidden: [16, 8], tower: [8], norm: layer}"
    return train_run(root, model, TABLE)
