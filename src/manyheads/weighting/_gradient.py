"""Loss weightings that also read per-task gradient norms at the last shared layer.

The engine (:mod:`manyheads.engine.backward`) checks for :class:`GradientNormWeighting`, computes
the norms ``||∇_W L_t||`` [T] with one vectorised backward restricted to the last shared layer
``W``, and passes them to :meth:`GradientNormWeighting.observe_grad_norms` before calling the
weighting.
"""

from __future__ import annotations

from abc import abstractmethod

from torch import Tensor

from manyheads.weighting.base import Weighting

__all__ = ["GradientNormWeighting"]


class GradientNormWeighting(Weighting):
    """A weighting that needs ``||∇_W L_t||`` for the last shared layer ``W`` (GradNorm)."""

    @abstractmethod
    def observe_grad_norms(self, losses: Tensor, norms: Tensor) -> None:
        """Receive the step's detached losses ``[T]`` and gradient norms ``[T]``."""
