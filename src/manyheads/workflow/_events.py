"""The run's own handlers of the loop events (:mod:`manyheads.engine.events`): the time
estimate said before training, and the task relations recorded while it trains."""

from __future__ import annotations

import json
import time
from pathlib import Path

from manyheads._files import atomic_write_text
from manyheads.architectures.base import MTLModel
from manyheads.data.preprocess import TablePreprocessor
from manyheads.data.tensors import EncodedTable
from manyheads.engine.events import Events
from manyheads.workflow._builders import Log
from manyheads.workflow._run import json_safe

__all__ = ["attach_estimate", "attach_relations", "duration"]


def attach_estimate(events: Events, say: Log, timed_steps: int = 10, warmup_steps: int = 5) -> None:
    """Say the run's length before it starts (steps per epoch × epochs), then the time it
    will take as measured on ``timed_steps`` optimiser steps after the first
    ``warmup_steps`` (the first steps are slower: allocation, lazy initialisation)."""
    state: dict[str, float] = {}

    def start(n_epochs: int, n_batches: int, start_epoch: int, **_: object) -> None:
        epochs = max(0, n_epochs - start_epoch + 1)
        state.update(per_epoch=n_batches, total=n_batches * epochs, done=0)
        say(
            f"{n_batches} optimiser steps per epoch × {epochs} epoch(s) = {n_batches * epochs} "
            "steps (fewer if train.patience stops early)"
        )

    def step(**_: object) -> None:
        state["done"] += 1
        if state["done"] == warmup_steps:
            state["began"] = time.perf_counter()
        if state["done"] != warmup_steps + timed_steps:
            return
        per_step = (time.perf_counter() - state["began"]) / timed_steps
        say(
            f"up to about {duration(per_step * state['per_epoch'])} per epoch and "
            f"{duration(per_step * state['total'])} for the run (timed on steps "
            f"{warmup_steps + 1}-{warmup_steps + timed_steps}, which tend to be slower than "
            "later ones, e.g. while new batch shapes are first seen; validation passes come "
            "on top)"
        )

    events.connect("train_start", start)
    events.connect("step_end", step)


def duration(seconds: float) -> str:
    """``42 s``, ``3.5 min`` or ``1.2 h``.

    Example:
        >>> duration(42.0), duration(210.0), duration(6480.0)
        ('42 s', '3.5 min', '1.8 h')
    """
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def attach_relations(
    events: Events,
    directory: Path,
    model: MTLModel,
    table: EncodedTable,
    pre: TablePreprocessor,
    every: int,
) -> None:
    """Record task relations every ``every`` epochs into ``task_relations_history.json``."""
    from manyheads.workflow._analysis import table_relations

    if not [p for p in model.shared_parameters() if p.requires_grad]:
        return  # nothing is shared: no gradients to compare
    path = directory / "task_relations_history.json"
    tasks = pre.fitted_tasks

    def epoch_end(epoch: int, **_: object) -> None:
        if epoch % every:
            return
        history = json.loads(path.read_text()) if path.exists() else []
        rel = table_relations(model, table, tasks, max_batches=20)
        history = [h for h in history if h["epoch"] < epoch]  # a resumed run rewrites its tail
        history.append({"epoch": epoch, **json.loads(rel.to_json())})
        atomic_write_text(path, json.dumps(json_safe(history), indent=1, allow_nan=False))

    events.connect("epoch_end", epoch_end)
