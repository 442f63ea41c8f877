"""The add-task loop: train the new task's parameters (and with ``unfreeze`` the old heads or
everything, under Learning without Forgetting), keep the epoch with the best validation metric
of the new task.

Per epoch: set which parameters train -> batches -> new task's loss (+ distillation of the old
tasks, + the architecture's penalty) -> Adam step -> validation metric -> keep the best.
Modules whose parameters are all frozen run in evaluation mode, so that their batch-norm
statistics and dropout stay those of the original model.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Sequence

import torch
from torch import Tensor

from manyheads.architectures.base import MTLModel
from manyheads.data.tensors import EncodedTable
from manyheads.engine.loop import predict_outputs
from manyheads.extend._lwf import distillation
from manyheads.extend._settings import AddTaskSettings
from manyheads.tasks._fitted import FittedTask

__all__ = ["TrainedTask", "set_trainable", "train_new_task"]


@dataclasses.dataclass(frozen=True)
class TrainedTask:
    """What the loop hands back: one history row per epoch, the epoch kept, the seconds."""

    history: list[dict[str, float]]
    best_epoch: int
    train_seconds: float


def set_trainable(model: MTLModel, task: str, unfreeze: str) -> list[torch.nn.Parameter]:
    """Freeze what ``unfreeze`` keeps (``none``: all but ``task``'s parameters; ``heads``: the
    shared parameters; ``all``: nothing) and return the parameters that train."""
    heads = {id(p) for t in model.task_names for p in model.task_parameters(t)}
    own = {id(p) for p in model.task_parameters(task)}
    for p in model.parameters():
        p.requires_grad_(
            unfreeze == "all" or id(p) in own or (unfreeze == "heads" and id(p) in heads)
        )
    return [p for p in model.parameters() if p.requires_grad]


def _set_modes(model: MTLModel) -> None:
    """Training mode for every module whose parameters all train, evaluation mode elsewhere."""
    model.eval()
    for module in model.modules():
        params = list(module.parameters())
        if params and all(p.requires_grad for p in params):
            module.train()


@dataclasses.dataclass
class _Best:
    """The best validation score of the new task so far and its weights."""

    higher: bool
    score: float = math.nan
    epoch: int = 0
    state: dict[str, Tensor] | None = None
    stale: int = 0

    def update(self, epoch: int, score: float, model: MTLModel) -> None:
        better = self.state is None or (
            not math.isnan(score)
            and (
                math.isnan(self.score)
                or (score > self.score if self.higher else score < self.score)
            )
        )
        if better:
            self.score, self.epoch, self.stale = score, epoch, 0
            self.state = copy.deepcopy(model.state_dict())
        else:
            self.stale += 1


def train_new_task(
    model: MTLModel,
    *,
    task: FittedTask,
    old: Sequence[FittedTask],
    train: EncodedTable,
    valid: EncodedTable,
    teacher: dict[str, Tensor] | None,
    unfreeze: str,
    settings: AddTaskSettings,
) -> TrainedTask:
    """Train ``model`` in place on ``train`` and keep the best validation epoch of ``task``.

    ``teacher`` holds the original model's outputs of the ``old`` tasks on every row of
    ``train`` (None with ``unfreeze`` ``none``: the old parts do not move).
    """
    s = settings
    trainable = set_trainable(model, task.name, unfreeze)
    optimizer = torch.optim.Adam(trainable, lr=s.lr, weight_decay=s.weight_decay)
    generator = torch.Generator().manual_seed(s.seed)
    primary = task.task_type.metric_names(task.task)[0]
    best = _Best(higher=task.task_type.metric_directions[primary])
    history: list[dict[str, float]] = []
    began = time.perf_counter()
    for epoch in range(1, s.epochs + 1):
        warm = unfreeze != "none" and epoch <= s.warmup_epochs  # LwF's warm-up: new task only
        set_trainable(model, task.name, "none" if warm else unfreeze)
        new_loss, kd_loss = _epoch(
            model, task, old, train, None if warm else teacher, optimizer, generator, s
        )
        device = next(model.parameters()).device
        outputs = predict_outputs(model, valid, batch_size=8192, device=device)
        score = task.score(outputs[task.name], valid.y[task.name], valid.mask[task.name])[primary]
        history.append(
            {
                "epoch": float(epoch),
                f"train_loss/{task.name}": new_loss,
                "distill_loss": kd_loss,
                f"valid_{primary}/{task.name}": score,
            }
        )
        best.update(epoch, score, model)
        if s.patience is not None and best.stale >= s.patience:
            break
    seconds = time.perf_counter() - began
    assert best.state is not None  # at least one epoch ran
    model.load_state_dict(best.state)
    for p in model.parameters():
        p.requires_grad_(True)
    model.eval()
    return TrainedTask(history, best.epoch, seconds)


def _epoch(
    model: MTLModel,
    task: FittedTask,
    old: Sequence[FittedTask],
    train: EncodedTable,
    teacher: dict[str, Tensor] | None,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    s: AddTaskSettings,
) -> tuple[float, float]:
    """One pass over ``train``; the mean loss of the new task and the mean distillation loss."""
    _set_modes(model)
    device = next(model.parameters()).device
    totals = [0.0, 0.0]
    n_batches = 0
    for index in train.batch_indices(s.batch_size, generator=generator):
        batch = train.take(index).to(device)
        optimizer.zero_grad(set_to_none=True)
        outputs = model(batch.x)
        loss = task.loss(outputs[task.name], batch.y[task.name], batch.mask[task.name])
        totals[0] += float(loss.detach())
        if teacher is not None and old:
            kept = {t.name: teacher[t.name].index_select(0, index).to(device) for t in old}
            kd = distillation(outputs, kept, old, s.temperature)
            totals[1] += float(kd.detach())
            loss = loss + s.distill_weight * kd
        penalty = model.penalty()
        if penalty is not None:
            loss = loss + penalty
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        n_batches += 1
    return totals[0] / max(n_batches, 1), totals[1] / max(n_batches, 1)
