"""``train_model``: wires model, data, optimiser, schedule, balancing, checkpoints and events.

The loop reads top to bottom: train an epoch, score it on the validation rows, record it, let
the selectors keep the best weights (:class:`~manyheads.engine._early_stop.EarlyStopping`,
:class:`~manyheads.engine._per_task_best.PerTaskBest`), tell the subscribers
(:mod:`manyheads.engine.events`), checkpoint. Resuming is :mod:`manyheads.engine._resume`.
"""

from __future__ import annotations

import time
from dataclasses import replace

import torch
from torch import Tensor

from manyheads.aggregation.base import Aggregator
from manyheads.architectures.base import MTLModel
from manyheads.config.train import TrainSettings
from manyheads.data.tensors import EncodedTable
from manyheads.distributed._ddp import current_comm
from manyheads.engine._bookkeeping import Bookkeeping, TrainResult
from manyheads.engine._checkpointing import Checkpoints
from manyheads.engine._compile import compiled_forward
from manyheads.engine._early_stop import EarlyStopping
from manyheads.engine._inputs import TrainInputs
from manyheads.engine._monitor import validation_score
from manyheads.engine._optim import build_optimizer, param_groups
from manyheads.engine._per_task_best import PerTaskBest
from manyheads.engine._resume import restore, resume_point
from manyheads.engine._schedule import Schedule, batch_token_budget
from manyheads.engine.events import Events
from manyheads.engine.loop import (
    LoopState,
    evaluate_losses,
    predict_outputs,
    score_outputs,
    train_one_epoch,
)
from manyheads.weighting.base import Weighting

__all__ = ["TrainResult", "train_model"]


def train_model(
    model: MTLModel,
    method: Weighting | Aggregator,
    inputs: TrainInputs,
    *,
    settings: TrainSettings,
    events: Events,
    checkpoints: Checkpoints | None = None,
    resume: bool = False,
) -> TrainResult:
    """Train ``model`` in place, keep the best validation epoch, checkpoint after every epoch.

    With ``resume``, training continues after the last completed epoch of the checkpoint in
    ``checkpoints`` and ends with the same weights and metrics as an uninterrupted run.

    Raises:
        InvalidParameterError: ``resume`` without a checkpoint, or with a changed fingerprint.
        DataError: the checkpoint is damaged or does not fit the model.
    """
    s = settings
    method.reset()  # a run starts from the method's initial state (seeded draws included)
    loop, schedule = _start(model, method, inputs, s)
    per_task = PerTaskBest.for_model(model, inputs.tasks, s.monitor)
    book = Bookkeeping(EarlyStopping(s.patience), per_task)
    point = resume_point(checkpoints, resume=resume, model=model, method=method, settings=s)
    done = 0 if point is None else restore(point, model=model, method=method, loop=loop, book=book)
    events.send(
        "train_start", n_epochs=s.epochs, n_batches=schedule.steps_per_epoch, start_epoch=done + 1
    )
    for epoch in range(done + 1, s.epochs + 1):
        if book.stopper.should_stop():
            break
        loop.epoch, began = epoch, time.perf_counter()
        train_losses = train_one_epoch(
            model,
            inputs.train,
            tasks=inputs.tasks if inputs.train_tasks is None else inputs.train_tasks,
            method=method,
            settings=s,
            loop=loop,
            events=events,
        )
        method.end_epoch(train_losses.to(torch.float32))
        book.train_seconds += time.perf_counter() - began
        outputs = predict_outputs(
            model, inputs.valid, batch_size=s.eval_batch_size, device=loop.device
        )
        score = validation_score(outputs, inputs.valid, inputs.tasks, s.monitor)
        record = _record(epoch, train_losses, outputs, inputs, score)
        book.end_epoch(epoch, model, record, outputs, inputs)
        events.send("epoch_end", epoch=epoch, record=record, history=book.history)
        if checkpoints is not None and loop.comm.rank == 0:  # data-parallel: rank 0 writes
            checkpoints.save(epoch, model=model, method=method, loop=loop, book=book)
    result = book.select(model)
    events.send("train_end", best_epoch=result.best_epoch)
    return result


def _start(
    model: MTLModel, method: Weighting | Aggregator, inputs: TrainInputs, s: TrainSettings
) -> tuple[LoopState, Schedule]:
    """Move the model and method to the device; the optimiser, the seeded shuffling and the
    learning-rate schedule of a fresh run."""
    batch_tokens = batch_token_budget(s, inputs.train)
    device = s.resolve_device()
    model.to(device)
    method.to(device)
    optimizer = build_optimizer(param_groups(model, method, s), s)
    generator = torch.Generator().manual_seed(s.seed)
    comm = current_comm()  # the ranks of a data-parallel run (torchrun), else one process
    schedule = Schedule(optimizer, *_global_batch(s, batch_tokens, comm.world_size, inputs))
    loop = LoopState(optimizer, generator, device, schedule.set_lr, batch_tokens, comm=comm)
    if s.compile:
        loop.forward = compiled_forward(method, device)
    return loop, schedule


def _global_batch(
    s: TrainSettings, batch_tokens: int | None, n_ranks: int, inputs: TrainInputs
) -> tuple[TrainSettings, EncodedTable, int | None]:
    """The schedule's settings: with ``n_ranks`` data-parallel ranks a step takes ``n_ranks``
    batches (the learning rate follows the global batches, as one process's would)."""
    if n_ranks == 1:
        return s, inputs.train, batch_tokens
    tokens = None if batch_tokens is None else batch_tokens * n_ranks
    return replace(s, batch_size=s.rows_per_batch() * n_ranks), inputs.train, tokens


def _record(
    epoch: int, train_losses: Tensor, outputs: dict[str, Tensor], inputs: TrainInputs, score: float
) -> dict[str, float]:
    """The epoch's row of ``history.csv``: score, then per task the training and validation
    loss and the primary validation metric."""
    record: dict[str, float] = {"epoch": float(epoch), "valid_score": score}
    valid, tasks = inputs.valid, inputs.tasks
    valid_losses = evaluate_losses(outputs, valid, tasks)
    metrics = score_outputs(outputs, valid, tasks)
    for t, loss in zip(tasks, train_losses.tolist(), strict=True):
        record[f"train_loss/{t.name}"] = loss
        record[f"valid_loss/{t.name}"] = valid_losses[t.name]
        primary = t.task_type.metric_names(t.task)[0]
        record[f"valid_{primary}/{t.name}"] = metrics[t.name][primary]
    return record
