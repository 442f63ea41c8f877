"""Teacher annealing (BAM!, Clark et al., ACL 2019): the weight λ of the gold label, per step.

The training target of a task is ``λ·gold + (1 − λ)·teacher`` with λ rising linearly from 0 at
the first step to 1 at the last (Clark et al. 2019, teacher annealing: the student moves from
distillation to supervised learning over training). :class:`Annealing` follows the loop's events
(:mod:`manyheads.engine.events`): ``train_start`` gives the planned steps (and the first epoch of
a resumed run), ``step_end`` the global step, so a resumed run anneals as an uninterrupted one.
"""

from __future__ import annotations

from manyheads.engine.events import Events

__all__ = ["Annealing", "linear_lambda"]


def linear_lambda(step: int, total: int) -> float:
    """λ after ``step`` of ``total`` optimiser steps: ``step / total``, clipped to [0, 1].

    Example:
        >>> [linear_lambda(s, 4) for s in range(6)]
        [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    if total <= 0:
        return 1.0
    return min(1.0, max(0.0, step / total))


class Annealing:
    """The current λ of a distilled run, advanced by the loop's events.

    Args:
        anneal: False keeps λ at 0 (the student learns from the teachers alone wherever a
            teacher exists; gold labels still score the epochs).

    Example:
        >>> a, events = Annealing(), Events()
        >>> a.attach(events)
        >>> events.send("train_start", n_epochs=2, n_batches=5, start_epoch=1)
        >>> a.lam
        0.0
        >>> events.send("step_end", epoch=1, step=4, losses={})
        >>> a.lam, a.total_steps
        (0.4, 10)
    """

    def __init__(self, *, anneal: bool = True) -> None:
        self.anneal = anneal
        self.total_steps = 0
        self.step = 0

    @property
    def lam(self) -> float:
        """The weight of the gold label at the current step."""
        return linear_lambda(self.step, self.total_steps) if self.anneal else 0.0

    def attach(self, events: Events) -> None:
        """Follow ``train_start`` and ``step_end`` of ``events``."""
        events.connect("train_start", self._on_start)
        events.connect("step_end", self._on_step)

    def _on_start(self, *, n_epochs: int, n_batches: int, start_epoch: int) -> None:
        self.total_steps = n_epochs * n_batches
        self.step = (start_epoch - 1) * n_batches  # a resumed run starts where it stopped

    def _on_step(self, *, step: int, **_: object) -> None:
        self.step = step
