"""A table with a text column trains with the wide TF-IDF path by default (issue 17), saves it
(IDF and weights in model.safetensors), and a loaded run predicts exactly as the trained one;
a table without text gets no path and no new option, so its runs are as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from manyheads.config.load import build_config
from manyheads.encoders._wide import WidePath
from manyheads.workflow._fit import train_config
from manyheads.workflow._run import load

WORDS = {0: ["noir", "detective", "night"], 1: ["space", "robot", "star"], 2: ["love", "kiss"]}


def _table(rows: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    genre = rng.integers(0, 3, rows)
    filler = ["the", "a", "of", "big", "small", "red", "old", "new"]
    titles = [" ".join([*rng.choice(WORDS[int(g)], 2), *rng.choice(filler, 2)]) for g in genre]
    return pd.DataFrame(
        {
            "title": titles,
            "year": rng.normal(size=rows).round(2),
            "noir": (genre == 0).astype(int),
            "scifi": (genre == 1).astype(int),
            "rating": genre + rng.normal(scale=0.3, size=rows),
            "split": ["train"] * 160 + ["valid"] * 40 + ["test"] * 40,
        }
    )


def _config(path: Path, out: Path, inputs: dict[str, str], **model: object) -> object:
    return build_config(
        {
            "data": {"train": str(path), "split_column": "split"},
            "inputs": inputs,
            "tasks": {
                "genres": {"type": "multilabel", "columns": ["noir", "scifi"]},
                "rating": {"type": "regression"},
            },
            "model": {"architecture": "hps", **model},
            "train": {"epochs": 3, "batch_size": 32, "seed": 0},
            "output": str(out),
        }
    )


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wide") / "movies.csv"
    _table().to_csv(path, index=False)
    return path


def test_text_tables_train_the_wide_path_and_reload_it_exactly(table: Path, tmp_path: Path) -> None:
    run = train_config(_config(table, tmp_path / "run", {"title": "text", "year": "numeric"}))
    assert (run.options["wide"], run.options["wide_decay"], run.options["wide_lr"]) == (
        True,
        0.0,
        None,
    )
    wide = run.model.towers.wide
    assert isinstance(wide, WidePath)
    assert float(wide.idf_0.max()) > 1.0  # fitted on the train rows
    assert float(wide.weight["genres"].detach().abs().max()) > 0  # trained
    frame = pd.read_csv(table)
    loaded = load(tmp_path / "run")
    torch.testing.assert_close(loaded.model.towers.wide.idf_0, wide.idf_0, rtol=0, atol=0)
    pd.testing.assert_frame_equal(loaded.predict(frame), run.predict(frame))
    subset = loaded.predict(frame, tasks=["genres"])
    pd.testing.assert_frame_equal(subset, run.predict(frame)[list(subset.columns)])


def test_the_path_options_given_are_kept(table: Path, tmp_path: Path) -> None:
    inputs = {"title": "text", "year": "numeric"}
    config = _config(table, tmp_path / "run", inputs, wide_decay=0.5, wide_lr=0.01)
    run = train_config(config)
    assert (run.options["wide"], run.options["wide_decay"], run.options["wide_lr"]) == (
        True,
        0.5,
        0.01,
    )
    assert (run.model.towers.wide.weight_decay, run.model.towers.wide.lr) == (0.5, 0.01)


def test_wide_false_trains_without_the_path(table: Path, tmp_path: Path) -> None:
    config = _config(table, tmp_path / "run", {"title": "text", "year": "numeric"}, wide=False)
    run = train_config(config)
    assert run.options["wide"] is False
    assert getattr(run.model.towers, "wide", None) is None


def test_a_table_without_text_gets_no_path_and_no_option(table: Path, tmp_path: Path) -> None:
    run = train_config(_config(table, tmp_path / "run", {"year": "numeric"}))
    assert "wide" not in run.options
    assert getattr(run.model.towers, "wide", None) is None
