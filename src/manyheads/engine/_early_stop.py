"""``EarlyStopping``: keep the best validation epoch's weights, stop after ``patience`` epochs
without improvement."""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Track the best (lowest) validation score, its epoch and weights, and the stale epochs.

    A score improves when it is lower than the best so far (a NaN never does); the weights of
    the best epoch are kept on the CPU and loaded back by :meth:`apply` when training ends.

    Args:
        patience: stop after this many epochs without improvement (None: never).

    Example:
        >>> stop = EarlyStopping(patience=2)
        >>> model = torch.nn.Linear(1, 1)
        >>> for epoch, score in enumerate([0.5, 0.4, 0.6, 0.7], start=1):
        ...     stop.update(epoch, score, model)
        >>> stop.best_epoch, stop.stale, stop.should_stop()
        (2, 2, True)
    """

    def __init__(self, patience: int | None) -> None:
        self.patience = patience
        self.best_score = math.inf
        self.best_epoch = 0
        self.stale = 0
        self.best_state: dict[str, Tensor] | None = None

    def update(self, epoch: int, score: float, model: torch.nn.Module) -> None:
        """Record ``epoch``'s validation ``score``; keep ``model``'s weights if it improved."""
        if score < self.best_score:
            self.best_score, self.best_epoch, self.stale = score, epoch, 0
            self.best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:
            self.stale += 1

    def should_stop(self) -> bool:
        """Whether ``patience`` epochs in a row brought no improvement."""
        return self.patience is not None and self.stale >= self.patience

    def apply(self, model: torch.nn.Module) -> None:
        """Load the best epoch's weights into ``model`` (nothing before a first improvement)."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)

    def load(
        self, best_state: dict[str, Tensor], *, best_epoch: int, best_score: float, stale: int
    ) -> None:
        """Restore from a checkpoint (an empty ``best_state``: no epoch improved yet)."""
        self.best_state = best_state or None
        self.best_epoch, self.best_score, self.stale = best_epoch, best_score, stale
