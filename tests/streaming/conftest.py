"""A small table written as a directory of Parquet files (three files, row groups of 250 rows)
and a validation file: what the streamed path and the in-memory path both read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

WORDS = np.array(["good", "bad", "dress", "hat", "small", "large", "fits", "runs", "soft"])


def make_rows(n: int, seed: int) -> pd.DataFrame:
    """``n`` rows: a row id, a numeric input with missing cells, a categorical and a short
    text input; a binary task ``y`` and a regression task ``z``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[rng.random(n) < 0.05] = np.nan
    colour = rng.choice(["red", "green", "blue", "teal"], n)
    text = [" ".join(rng.choice(WORDS, rng.integers(2, 6))) for _ in range(n)]
    y = ((np.nan_to_num(x) + (colour == "red")) > 0.3).astype(int)
    z = np.nan_to_num(x) * 2 + rng.normal(size=n) * 0.1
    return pd.DataFrame(
        {"rid": np.arange(n, dtype=float), "x": x, "c": colour, "t": text, "y": y, "z": z}
    )


def write_parts(frame: pd.DataFrame, folder: Path, n_files: int, row_group: int) -> Path:
    """``frame`` as ``n_files`` Parquet files of ``row_group``-row groups in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(np.array_split(np.arange(len(frame)), n_files)):
        table = pa.Table.from_pandas(frame.iloc[part], preserve_index=False)
        pq.write_table(table, folder / f"part-{i}.parquet", row_group_size=row_group)
    return folder


@pytest.fixture
def table_dir(tmp_path: Path) -> Path:
    """3000 training rows in three files of four row groups each, and ``valid.parquet``."""
    write_parts(make_rows(3000, 1), tmp_path / "train", n_files=3, row_group=250)
    make_rows(500, 2).to_parquet(tmp_path / "valid.parquet")
    return tmp_path


def write_config(folder: Path, **data: object) -> Path:
    """A run config over ``folder``'s table (``data`` keys added or replacing)."""
    cfg = {
        "data": {"train": str(folder / "train"), "valid": str(folder / "valid.parquet"), **data},
        "inputs": {"x": "numeric", "c": "categorical", "t": "text"},
        "tasks": {"y": {"type": "binary"}, "z": {"type": "regression"}},
        "train": {"epochs": 2, "batch_size": 128, "seed": 3},
        "output": None,
    }
    path = folder / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path
