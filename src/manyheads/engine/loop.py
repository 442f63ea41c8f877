"""The explicit loop: LR -> forward -> task losses -> balancing backward -> step -> events."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from manyheads.aggregation.base import Aggregator
from manyheads.architectures.base import Features, MTLModel
from manyheads.config.train import TrainSettings
from manyheads.data.streaming import StreamingTable
from manyheads.data.tensors import Batch, EncodedTable
from manyheads.distributed._comm import LOCAL, Comm
from manyheads.distributed._losses import global_losses
from manyheads.encoders.ensemble import repeat_members
from manyheads.engine.backward import backward
from manyheads.engine.events import Events
from manyheads.tasks._fitted import FittedTask
from manyheads.tasks.task import Task
from manyheads.weighting.base import Weighting

__all__ = [
    "LoopState",
    "StepForward",
    "evaluate_losses",
    "label_shares",
    "labelled_flags",
    "predict_outputs",
    "score_outputs",
    "step_forward",
    "task_losses",
    "train_one_epoch",
]


def task_losses(outputs: dict[str, Tensor], batch: Batch, tasks: Sequence[FittedTask]) -> Tensor:
    """Masked per-task losses ``[T]``; a task without labels in the batch contributes 0.

    Outputs with ``k`` times the batch's rows are a training ensemble's ``k`` members
    (:mod:`manyheads.encoders.ensemble`): each is scored against the targets, and a task's loss
    is the mean over the members' labelled rows, the mean of the members' losses."""
    return torch.stack([_task_loss(t, outputs[t.name], batch) for t in tasks])


def _task_loss(task: FittedTask, output: Tensor, batch: Batch) -> Tensor:
    target, mask = batch.y[task.name], batch.mask[task.name]
    n_members = output.shape[0] // max(target.shape[0], 1)
    if n_members > 1:
        target, mask = repeat_members(target, n_members), repeat_members(mask, n_members)
    return task.loss(output, target, mask)


def label_shares(batch: Batch, tasks: list[Task]) -> Tensor:
    """The share of the batch's rows that carry each task's label, ``[T]`` (a tagging row
    counts when any of its tokens is labelled).

    Example:
        >>> mask = {"a": torch.tensor([True, False, False, False]), "b": torch.ones(4, dtype=bool)}
        >>> label_shares(Batch({}, {}, mask), [Task("a", type="binary"), Task("b", type="binary")])
        tensor([0.2500, 1.0000])
    """
    rows = [batch.mask[t.name].reshape(batch.mask[t.name].shape[0], -1).any(1) for t in tasks]
    return torch.stack([r.float().mean() for r in rows])


def labelled_flags(batch: Batch, tasks: Sequence[FittedTask]) -> Tensor:
    """1.0 for each task with at least one label in the batch, else 0.0: ``[T]`` float64 on the
    CPU, from one reduction when the masks share a shape (no per-task host round trip).

    Example:
        >>> mask = {"a": torch.tensor([False, False]), "b": torch.tensor([True, False])}
        >>> tasks = [FittedTask(Task(n, type="binary"), {}) for n in "ab"]
        >>> labelled_flags(Batch({}, {}, mask), tasks)
        tensor([0., 1.], dtype=torch.float64)
    """
    masks = [batch.mask[t.name] for t in tasks]
    if masks and all(m.shape == masks[0].shape for m in masks):
        flags = torch.stack(masks).reshape(len(masks), -1).any(1)
    else:
        flags = torch.stack([m.any() for m in masks]) if masks else torch.zeros(0, dtype=torch.bool)
    return flags.to("cpu", torch.float64)


#: ``(model, batch, tasks, precision, device) -> (features, losses [T])``: one step's forward.
StepForward = Callable[
    [MTLModel, Batch, Sequence[FittedTask], str, torch.device], tuple[Features, Tensor]
]


def _keep_lr(_step: int) -> None:
    """The default of :attr:`LoopState.set_lr`: leave the optimiser's learning rates alone."""


@dataclass
class LoopState:
    """What one epoch hands the next besides the weights: the optimiser, the shuffling
    generator, the global step (``train_one_epoch`` advances it) and where the batches go.

    Args:
        optimizer: steps the model (and a balancing method with parameters).
        generator: draws each epoch's batches (its state is checkpointed).
        device: where the batches and the model live.
        set_lr: sets the learning rate of a global step (``Schedule.set_lr``; default: keep).
        batch_tokens: the padded-piece budget of a batch (``batch_by: tokens``), else None.
        step: optimiser steps taken so far, over all epochs.
        epoch: the epoch being trained (1-based), reported with every ``step_end``.
        comm: the ranks of data-parallel training; each trains on its slice of every global
            batch of ``world_size`` × ``batch_size`` rows (one process by default).
        forward: a step's shared features and per-task losses (:func:`step_forward`, or its
            compiled form with ``train.compile``: :mod:`manyheads.engine._compile`).
    """

    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    device: torch.device
    set_lr: Callable[[int], None] = _keep_lr
    batch_tokens: int | None = None
    step: int = 0
    epoch: int = 1
    comm: Comm = LOCAL
    forward: StepForward = field(default_factory=lambda: step_forward)


def train_one_epoch(
    model: MTLModel,
    table: EncodedTable,
    *,
    tasks: Sequence[FittedTask],
    method: Weighting | Aggregator,
    settings: TrainSettings,
    loop: LoopState,
    events: Events,
) -> Tensor:
    """Train one epoch of the fitted ``tasks`` (in the model's head order); return the mean
    training loss per task ``[T]`` (``loop.step`` moves on).

    From ``settings``: ``batch_size`` rows per batch; with ``group_by_length`` each batch holds
    rows of similar length (text inputs), with ``loop.batch_tokens`` as many of them as fit in
    that many padded pieces; with ``precision`` ``bf16`` the forward runs under bfloat16
    autocast and the losses in float32; with ``task_loss`` ``share`` each task's loss is scaled
    by :func:`label_shares` before the balancing method sees it (the returned epoch means are
    not); ``clip_norm`` clips the global gradient norm."""
    model.train()
    total = torch.zeros(len(tasks), dtype=torch.float64)
    counts = torch.zeros(len(tasks), dtype=torch.float64)
    params = [p for p in model.parameters() if p.requires_grad]
    names = [t.name for t in tasks]
    comm = loop.comm
    for batch in _batches(table, settings, loop):
        batch = batch.to(loop.device)
        loop.set_lr(loop.step)
        loop.optimizer.zero_grad(set_to_none=True)
        features, losses = loop.forward(model, batch, tasks, settings.precision, loop.device)
        if comm.active:  # the global batch's losses; this rank's part of their gradient
            losses, shares, labelled = global_losses(comm, losses, batch, tasks)
        else:
            labelled, shares = labelled_flags(batch, tasks), None
        raw = losses.detach()  # recorded unscaled
        if settings.task_loss == "share":
            if shares is None:  # computed only when asked: most runs never read them
                shares = label_shares(batch, [t.task for t in tasks])
            losses = losses * shares.to(losses)
        backward(losses, model, method, features=features, penalty=model.penalty(), comm=comm)
        if settings.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, settings.clip_norm)
        loop.optimizer.step()
        detached = raw.to("cpu", torch.float64)
        total += detached * labelled
        counts += labelled
        loop.step += 1
        events.send(
            "step_end",
            epoch=loop.epoch,
            step=loop.step,
            losses=dict(zip(names, detached.tolist(), strict=True)),
        )
    return total / counts.clamp(min=1.0)


def _batches(table: EncodedTable, settings: TrainSettings, loop: LoopState) -> Iterator[Batch]:
    """The epoch's batches; under data parallelism, this rank's rows of every global batch of
    ``world_size`` × ``batch_size`` rows (the same shuffle on every rank)."""
    comm, tokens = loop.comm, loop.batch_tokens
    if comm.active and isinstance(table, StreamingTable):
        # a streamed table: each rank reads its own row groups (StreamingTable.shard), with
        # batch_size rows per rank; every rank takes as many steps (the smallest shard's rows)
        yield from table.shard(comm.rank, comm.world_size).batches(
            settings.rows_per_batch(),
            generator=loop.generator,
            group_by_length=settings.group_by_length,
            batch_tokens=tokens,
        )
        return
    if not comm.active:
        yield from table.batches(
            settings.rows_per_batch(),
            generator=loop.generator,
            group_by_length=settings.group_by_length,
            batch_tokens=tokens,
        )
        return
    chunks = table.batch_indices(
        settings.rows_per_batch() * comm.world_size,
        generator=loop.generator,
        group_by_length=settings.group_by_length,
        batch_tokens=None if tokens is None else tokens * comm.world_size,
    )
    for chunk in chunks:
        yield table.take(comm.rows(chunk))


def step_forward(
    model: MTLModel,
    batch: Batch,
    tasks: Sequence[FittedTask],
    precision: str,
    device: torch.device,
) -> tuple[Features, Tensor]:
    """The shared features and the per-task losses ``[T]`` of one batch; with ``bf16`` the
    forward runs under autocast and the head outputs are cast back to float32 for the losses."""
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        features = model.forward_features(batch.x)
        outputs = model.task_outputs(features)
    if precision == "bf16":
        outputs = {name: out.float() for name, out in outputs.items()}
    return features, task_losses(outputs, batch, tasks)


@torch.no_grad()
def predict_outputs(
    model: MTLModel,
    table: EncodedTable,
    *,
    batch_size: int,
    device: torch.device,
    tasks: Sequence[str] | None = None,
) -> dict[str, Tensor]:
    """Raw head outputs for every row of ``table``, concatenated on the CPU in row order; only
    ``tasks``' (None: every task), computed by the model alone (``model(x, tasks=...)``).

    Rows with text inputs run shortest first, so that each trimmed batch carries little
    padding; the outputs are put back in row order."""
    model.eval()
    lengths = table.lengths()
    order = None if lengths is None else torch.argsort(lengths, stable=True)
    names = model.task_names if tasks is None else model.asked_tasks(tasks)
    parts: dict[str, list[Tensor]] = {t: [] for t in names}
    for batch in table.batches(batch_size, order=order):
        x = batch.to(device).x
        out = model(x) if tasks is None else model(x, tasks=tasks)
        for t, v in out.items():
            parts[t].append(v.float().cpu())
    joined = {t: torch.cat(v) for t, v in parts.items()}
    if order is None:
        return joined
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(len(order))
    return {t: v[inverse] for t, v in joined.items()}


def evaluate_losses(
    outputs: dict[str, Tensor], table: EncodedTable, tasks: Sequence[FittedTask]
) -> dict[str, float]:
    """Per-task mean loss over the labelled rows of a whole split."""
    batch = Batch(x={}, y=table.y, mask=table.mask)
    with torch.no_grad():
        losses = task_losses(outputs, batch, tasks)
    return {t.name: float(v) for t, v in zip(tasks, losses, strict=True)}


def score_outputs(
    outputs: dict[str, Tensor], table: EncodedTable, tasks: Sequence[FittedTask]
) -> dict[str, dict[str, float]]:
    """Every metric of every task over its labelled rows."""
    return {t.name: t.score(outputs[t.name], table.y[t.name], table.mask[t.name]) for t in tasks}
