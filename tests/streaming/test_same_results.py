"""A streamed train gives what the in-memory path gives on a table that fits.

Defined as: the preprocessing statistics are the same (vocabularies and label classes
identical; numeric and regression means/stds equal to float64 rounding, 1e-12 relative); with a
shuffle buffer at least as large as the table and the same seed the batches are identical,
hence the trained weights and the metrics; with a buffer of a fifth of the table the test
metrics stay within a stated tolerance (AUC ± 0.02, RMSE ± 15%).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from manyheads.config.load import load_config
from manyheads.data._parquet import ParquetSource
from manyheads.data.io import read_table
from manyheads.data.preprocess import TablePreprocessor
from manyheads.data.streaming import StreamedTrain, StreamOptions, fit_stream
from manyheads.tasks.task import Task
from manyheads.workflow._fit import train_config
from tests.streaming.conftest import write_config

INPUTS = {"x": "numeric", "c": "categorical", "t": "text"}
TASKS = [Task("y", type="binary"), Task("z", type="regression")]


def _fitted(table_dir: Path) -> tuple[TablePreprocessor, TablePreprocessor]:
    memory = TablePreprocessor(INPUTS, TASKS).fit(read_table(table_dir / "train"))
    streamed = TablePreprocessor(INPUTS, TASKS)
    fit_stream(streamed, StreamedTrain(ParquetSource(table_dir / "train"), None, StreamOptions()))
    return memory, streamed


def test_statistics_equal_the_in_memory_fit(table_dir: Path) -> None:
    memory, streamed = _fitted(table_dir)
    assert streamed.categorical_ == memory.categorical_ == {"c": ["blue", "green", "red", "teal"]}
    assert streamed.text_["t"].tokenizer_.get_vocab() == memory.text_["t"].tokenizer_.get_vocab()
    st, mem = streamed.numeric_["x"], memory.numeric_["x"]  # type: ignore[index]
    assert st["indicator"] is mem["indicator"] is True
    assert st["mean"] == pytest.approx(mem["mean"], rel=1e-12, abs=1e-15)
    assert st["std"] == pytest.approx(mem["std"], rel=1e-12)
    assert streamed.task_states_["y"] == memory.task_states_["y"]
    for key in ("mean", "std"):
        assert streamed.task_states_["z"][key] == pytest.approx(
            memory.task_states_["z"][key], rel=1e-12
        )


def test_whole_buffer_draws_the_in_memory_batches(table_dir: Path) -> None:
    memory, streamed = _fitted(table_dir)
    table = memory.transform(read_table(table_dir / "train"))
    source = ParquetSource(table_dir / "train")
    stream = fit_stream(streamed, StreamedTrain(source, None, StreamOptions(shuffle_buffer=3000)))
    assert stream.n_rows == table.n_rows == 3000
    for seed in (0, 1):
        a = list(table.batches(128, generator=torch.Generator().manual_seed(seed)))
        b = list(stream.batches(128, generator=torch.Generator().manual_seed(seed)))
        assert len(a) == len(b) == 24
        for left, right in zip(a, b, strict=True):
            for part in ("x", "y", "mask"):
                l_, r_ = getattr(left, part), getattr(right, part)
                assert l_.keys() == r_.keys()
                assert all(torch.equal(l_[k], r_[k]) for k in l_), part


def _train(cfg: Path, *overrides: str) -> dict[str, object]:
    run = train_config(load_config(cfg, list(overrides), hardware=False))
    return {"weights": run.model.state_dict(), "metrics": run.metrics["tasks"]}


def test_training_equals_the_in_memory_run(table_dir: Path) -> None:
    cfg = write_config(table_dir)
    streamed = _train(cfg, "data.stream=true")
    memory = _train(cfg, "data.stream=false")
    a, b = streamed["weights"], memory["weights"]
    assert isinstance(a, dict)
    assert isinstance(b, dict)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert streamed["metrics"] == memory["metrics"]


def test_small_buffer_stays_within_tolerance(table_dir: Path) -> None:
    cfg = write_config(table_dir)
    streamed = _train(cfg, "data.stream_options.shuffle_buffer=600")
    memory = _train(cfg, "data.stream=false")
    st, mem = streamed["metrics"], memory["metrics"]
    assert isinstance(st, dict)
    assert isinstance(mem, dict)
    assert st["y"]["auc"] == pytest.approx(mem["y"]["auc"], abs=0.02)
    assert st["z"]["rmse"] == pytest.approx(mem["z"]["rmse"], rel=0.15)
    assert st["y"]["auc"] != mem["y"]["auc"]  # other batches: the buffer was used


def test_a_resumed_streamed_run_equals_an_uninterrupted_one(
    table_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.catalogue.test_resume import interrupt_after

    cfg = write_config(table_dir, stream_options={"shuffle_buffer": 600})
    whole = _train(cfg, f"output={table_dir / 'whole'}")
    undo = interrupt_after(1, monkeypatch)
    config = load_config(cfg, [f"output={table_dir / 'cut'}"], hardware=False)
    with pytest.raises(KeyboardInterrupt):
        train_config(config)
    undo()
    resumed = train_config(config, resume=True)
    a, b = whole["weights"], resumed.model.state_dict()
    assert isinstance(a, dict)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.metrics["tasks"] == whole["metrics"]
