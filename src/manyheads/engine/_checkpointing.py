"""``Checkpoints``: where a run writes its checkpoint after every epoch, and what it carries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from manyheads.engine._bookkeeping import Bookkeeping
from manyheads.engine.checkpoint import save_checkpoint
from manyheads.engine.loop import LoopState

__all__ = ["Checkpoints", "ResumePoint"]

#: A checkpoint read by :func:`~manyheads.engine._resume.read_resume_point`: tensors by group,
#: and ``checkpoint.json``.
ResumePoint = tuple[dict[str, dict[str, Tensor]], dict[str, Any]]


@dataclass(frozen=True)
class Checkpoints:
    """A run's checkpoints: written into ``directory`` after every epoch.

    Args:
        directory: the run directory.
        fingerprint: stored in every checkpoint; a resume whose fingerprint differs is refused
            (:func:`~manyheads.engine.checkpoint.fingerprint`; None stores an empty one).
        restored: the checkpoint to continue when the caller read and checked it already
            (:func:`~manyheads.engine._resume.read_resume_point`); else a resume reads it.
    """

    directory: Path
    fingerprint: dict[str, Any] | None = None
    restored: ResumePoint | None = None

    def save(
        self,
        epoch: int,
        *,
        model: torch.nn.Module,
        method: torch.nn.Module,
        loop: LoopState,
        book: Bookkeeping,
    ) -> None:
        """Write the checkpoint after ``epoch``: weights, method, optimiser, random states
        and the bookkeeping, so that a resumed run continues exactly here."""
        rng = {"shuffle": loop.generator.get_state(), "torch": torch.get_rng_state()}
        save_checkpoint(
            self.directory,
            model=model,
            method=method,
            optimizer=loop.optimizer,
            rng=rng,
            best_model=book.tensors(),
            meta=book.meta(epoch=epoch, step=loop.step) | {"fingerprint": self.fingerprint or {}},
        )
