"""Batches of a streamed table: every training row once per epoch through a small shuffle
buffer, seeded, sharded per DDP rank, and the rows held out by hash left out."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest
import torch

from manyheads.data._parquet import ParquetSource
from manyheads.data.preprocess import TablePreprocessor
from manyheads.data.streaming import (
    Holdout,
    StreamedTrain,
    StreamingTable,
    StreamOptions,
    fit_stream,
)
from manyheads.errors import InvalidParameterError
from manyheads.tasks.task import Task


def _table(
    table_dir: Path, *, buffer: int, holdout: Holdout | None = None, cache: bool = True
) -> StreamingTable:
    pre = TablePreprocessor({"rid": "numeric"}, [Task("y", type="binary")])
    source = ParquetSource(table_dir / "train")
    options = StreamOptions(shuffle_buffer=buffer, cache=cache)
    return fit_stream(pre, StreamedTrain(source, holdout, options))


def _row_ids(table: StreamingTable, batches: list[torch.Tensor]) -> list[int]:
    """The row ids (the ``rid`` input, un-standardised) of the rows of ``batches``."""
    st = table.pre.numeric_["rid"]  # type: ignore[index]
    ids = torch.cat(batches).double() * st["std"] + st["mean"]
    return [round(v) for v in ids.tolist()]


def _epoch(table: StreamingTable, generator: torch.Generator | None) -> list[list[int]]:
    return [_row_ids(table, [b.x["num"][:, 0]]) for b in table.batches(64, generator=generator)]


@pytest.mark.parametrize("cache", [True, False])
def test_small_buffer_draws_every_row_once_per_epoch(table_dir: Path, cache: bool) -> None:
    table = _table(table_dir, buffer=400, cache=cache)
    assert (table.cache is not None) is cache
    generator = torch.Generator().manual_seed(0)
    first, second = _epoch(table, generator), _epoch(table, generator)
    for epoch in (first, second):
        rows = [r for batch in epoch for r in batch]
        assert sorted(rows) == list(range(3000))
        assert [len(b) for b in epoch[:-1]] == [64] * (len(epoch) - 1)
        assert rows != sorted(rows)  # shuffled
    assert first != second
    assert _epoch(table, torch.Generator().manual_seed(0)) == first  # seeded
    in_order = [r for batch in _epoch(table, None) for r in batch]
    assert in_order == list(range(3000))
    dropped = [len(b.x["num"]) for b in table.batches(64, generator=generator, drop_last=True)]
    assert dropped == [64] * (3000 // 64)  # only the epoch's last, short batch is dropped


def test_shards_split_the_row_groups_and_take_equal_steps(table_dir: Path) -> None:
    table = _table(table_dir, buffer=300)
    assert len(table.groups) == 12
    shards = [table.shard(rank, 5) for rank in range(5)]  # 3, 3, 2, 2, 2 row groups
    assert [len(s.groups) for s in shards] == [3, 3, 2, 2, 2]
    assert {s.n_rows for s in shards} == {500}
    seen: list[int] = []
    for rank, shard in enumerate(shards):
        epoch = _epoch(shard, torch.Generator().manual_seed(rank))
        rows = [r for batch in epoch for r in batch]
        assert len(rows) == 500
        assert len(epoch) == 8  # every rank takes the same number of steps
        groups = {r // 250 for r in rows}
        assert groups <= set(range(rank, 12, 5))
        seen += rows
    assert len(seen) == len(set(seen))  # no row on two ranks
    with pytest.raises(InvalidParameterError, match=r"'rank' of StreamingTable.shard must be"):
        table.shard(5, 5)
    with pytest.raises(InvalidParameterError, match="12 row groups, fewer than the 13 ranks"):
        table.shard(0, 13)


def test_rows_held_out_by_hash_never_train(table_dir: Path) -> None:
    holdout = Holdout(seed=0, valid_fraction=0.1, test_fraction=0.05)
    source = ParquetSource(table_dir / "train")
    valid, test = holdout.held_frames(source)
    assert valid is not None
    assert test is not None
    assert len(valid) == pytest.approx(300, abs=60)
    assert len(test) == pytest.approx(150, abs=45)
    table = _table(table_dir, buffer=500, holdout=holdout)
    rows = [r for batch in _epoch(table, torch.Generator().manual_seed(0)) for r in batch]
    held = set(valid["rid"].astype(int)) | set(test["rid"].astype(int))
    assert not held & set(rows)
    assert sorted(held | set(rows)) == list(range(3000))
    assert table.n_rows == len(rows) == 3000 - len(held)
    assert table.labelled_counts() == {"y": len(rows)}
    again, _ = Holdout(seed=0, valid_fraction=0.1, test_fraction=0.05).held_frames(source)
    assert again is not None
    assert np.array_equal(again["rid"], valid["rid"])


def test_cache_folder_is_removed_with_the_table(table_dir: Path) -> None:
    table = _table(table_dir, buffer=400)
    assert table.cache is not None
    folder = table.cache.directory
    assert len(list(folder.iterdir())) == 12  # one chunk per row group
    del table
    gc.collect()
    assert not folder.exists()


def test_length_grouping_in_the_buffer_keeps_every_row(table_dir: Path) -> None:
    pre = TablePreprocessor(
        {"rid": "numeric", "t": "text"},
        [Task("y", type="binary")],
        text_options={"mode": "sequence", "vocab_size": 60, "min_count": 1},
    )
    options = StreamOptions(shuffle_buffer=500)
    table = fit_stream(pre, StreamedTrain(ParquetSource(table_dir / "train"), None, options))
    generator = torch.Generator().manual_seed(0)
    batches = list(table.batches(64, generator=generator, group_by_length=True))
    rows = [r for b in batches for r in _row_ids(table, [b.x["num"][:, 0]])]
    assert sorted(rows) == list(range(3000))
    spread = [float(b.x["attn:t"].sum(1).float().std()) for b in batches[:20]]
    shuffled = list(table.batches(64, generator=torch.Generator().manual_seed(0)))
    mixed = [float(b.x["attn:t"].sum(1).float().std()) for b in shuffled[:20]]
    assert np.mean(spread) < np.mean(mixed)  # rows of similar length share a batch
