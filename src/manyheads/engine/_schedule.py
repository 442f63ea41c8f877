"""Batches per epoch and the learning-rate schedule (warm-up, then constant, cosine, linear or
step), set on the optimiser before every step."""

from __future__ import annotations

import math

import torch

from manyheads.config.train import TrainSettings
from manyheads.data.tensors import EncodedTable
from manyheads.errors import InvalidParameterError

__all__ = ["Schedule", "batch_token_budget", "lr_factor"]


def lr_factor(step: int, *, steps_per_epoch: int, s: TrainSettings) -> float:
    """Multiplier of the initial learning rate at global ``step`` (warm-up, then the schedule).

    Example:
        >>> s = TrainSettings(epochs=2, schedule="cosine")
        >>> lr_factor(0, steps_per_epoch=10, s=s)
        1.0
        >>> round(lr_factor(10, steps_per_epoch=10, s=s), 3)
        0.5
    """
    warmup = int(s.warmup_epochs * steps_per_epoch)
    if step < warmup:
        return (step + 1) / warmup
    total = max(1, s.epochs * steps_per_epoch - warmup)
    progress = (step - warmup) / total
    if s.schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    if s.schedule == "linear":
        return max(0.0, 1.0 - progress)
    if s.schedule == "step":
        return float(s.gamma ** ((step // steps_per_epoch) // max(1, s.step_size)))
    return 1.0


def batch_token_budget(s: TrainSettings, train: EncodedTable) -> int | None:
    """The padded-piece budget of a batch (``batch_by: tokens``), else None; refuses length
    grouping on a table without token sequences."""
    mean = train.mean_length()
    key = "batch_by" if s.batch_by == "tokens" else "group_by_length"
    if (s.group_by_length or s.batch_by == "tokens") and mean is None:
        raise InvalidParameterError(
            f"The '{key}' setting needs token sequences (a text or tokens input read "
            "by a sequence encoder: model.encoder cnn, bilstm, transformer or pretrained); this "
            f"run's encoded inputs are {sorted(train.x)}. Remove train.{key} or set "
            "model.encoder."
        )
    if s.batch_by != "tokens" or mean is None:
        return None
    return max(1, round(s.rows_per_batch() * mean))


class Schedule:
    """The learning rate of every step: :func:`lr_factor` times each group's ``initial_lr``.

    Args:
        optimizer: its groups carry ``initial_lr`` (:func:`~manyheads.engine._optim.param_groups`).
        settings: the run's schedule settings.
        train: the training table (how many batches an epoch draws).
        batch_tokens: the padded-piece budget of a batch (:func:`batch_token_budget`).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        settings: TrainSettings,
        train: EncodedTable,
        batch_tokens: int | None,
    ) -> None:
        self.optimizer = optimizer
        self.settings = settings
        self.steps_per_epoch = _steps_per_epoch(settings, train, batch_tokens)

    def set_lr(self, step: int) -> None:
        """Set every group's learning rate for global ``step``."""
        factor = lr_factor(step, steps_per_epoch=self.steps_per_epoch, s=self.settings)
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"] * factor


def _steps_per_epoch(s: TrainSettings, train: EncodedTable, batch_tokens: int | None) -> int:
    """Optimiser steps per epoch: with a token budget, as many batches as a seeded draw of
    the epoch makes (the count varies a little with the draw)."""
    if batch_tokens is None:
        return math.ceil(train.n_rows / s.rows_per_batch())
    draw = torch.Generator().manual_seed(s.seed)
    return len(train.batch_indices(s.rows_per_batch(), generator=draw, batch_tokens=batch_tokens))
