"""Defaults that depend on the run: batch size by task level, the run-length estimate."""

from __future__ import annotations

import pytest

import manyheads as mh
from manyheads.config.schema import DataConfig, ModelConfig, RunConfig
from manyheads.config.train import TrainSettings
from manyheads.engine.events import Events
from manyheads.workflow._builders import resolve_defaults
from manyheads.workflow._events import attach_estimate


@pytest.mark.parametrize(
    ("task_type", "given", "n_train", "expected"),
    [
        ("tagging", None, 500, 16),
        ("binary", None, None, 512),  # the row count is not known (a streamed train)
        ("binary", None, 199_523, 512),
        ("binary", None, 51_200, 512),
        ("binary", None, 51_199, 256),
        ("binary", None, 20_000, 128),
        ("binary", None, 6_346, 32),
        ("binary", None, 100, 32),
        ("tagging", 100, 500, 100),
        ("binary", 7, 500, 7),
    ],
)
def test_a_batch_size_left_out_is_sentences_for_tagging_and_rows_by_the_tables_size(
    task_type: str, given: int | None, n_train: int | None, expected: int
) -> None:
    """Tables: 512 rows, or the largest power of two of at least 32 that gives an epoch 100
    steps (docs/benchmarks.md, "Tables: the default batch size by the table's size")."""
    config = RunConfig(
        data=DataConfig(train="t.jsonl"),
        tasks=(mh.Task("y", type=task_type),),
        train=TrainSettings(batch_size=given),
    )
    said: list[str] = []
    resolved = resolve_defaults(config, said.append, n_train=n_train)
    assert resolved.train.batch_size == expected
    if given is None and task_type == "binary" and expected < 512:
        assert said == [
            f"batch_size {expected} rows (the default for {n_train:,} training rows: at least "
            "100 steps an epoch; set train.batch_size to choose)"
        ]
    else:
        assert bool(said) == (task_type == "tagging" and given is None)


def test_the_run_says_its_length_before_it_starts_then_times_it() -> None:
    events, said = Events(), []
    attach_estimate(events, said.append, timed_steps=3, warmup_steps=2)
    events.send("train_start", n_epochs=20, n_batches=392, start_epoch=1)
    assert said == [
        "392 optimiser steps per epoch × 20 epoch(s) = 7840 steps "
        "(fewer if train.patience stops early)"
    ]
    for step in range(1, 5):
        events.send("step_end", epoch=1, step=step, losses={})
    assert len(said) == 1  # still timing
    events.send("step_end", epoch=1, step=5, losses={})
    assert len(said) == 2
    assert said[1].startswith("up to about ")
    assert "per epoch and" in said[1]
    assert "for the run (timed on steps 3-5" in said[1]


def test_a_resumed_run_counts_only_the_epochs_left() -> None:
    events, said = Events(), []
    attach_estimate(events, said.append)
    events.send("train_start", n_epochs=5, n_batches=10, start_epoch=4)
    assert said[0].startswith("10 optimiser steps per epoch × 2 epoch(s) = 20 steps")


@pytest.mark.parametrize(
    ("task_type", "encoder", "given", "expected"),
    [
        ("tagging", "bilstm", None, 1e-2),
        ("tagging", "cnn", None, 1e-2),
        ("tagging", "transformer", None, 1e-3),
        ("binary", "tabular", None, 1e-3),
        ("tagging", "bilstm", 3e-4, 3e-4),
    ],
)
def test_an_lr_left_out_is_faster_for_tagging_on_a_bilstm_or_cnn(
    task_type: str, encoder: str, given: float | None, expected: float
) -> None:
    config = RunConfig(
        data=DataConfig(train="t.jsonl"),
        tasks=(mh.Task("y", type=task_type),),
        model=ModelConfig(options={"encoder": encoder}),
        train=TrainSettings(lr=given),
    )
    assert resolve_defaults(config, lambda _: None).train.lr == expected
