"""How training examples are drawn across the sources of a multi-source run.

With sources of sizes ``n_s``, each example of an epoch comes from source ``s`` with probability

* ``proportional``: ``p_s = n_s / sum(n)`` (plain concatenation; large sources dominate),
* ``uniform``: ``p_s = 1 / S`` (small sources are repeated, large ones subsampled),
* ``temperature``: ``p_s ∝ n_s^(1/T)`` (Liu et al. 2019, MT-DNN; Raffel et al. 2020, T5 mixing):
  T = 1 is proportional, T → ∞ uniform.

An epoch is always ``sum(n)`` examples, so the number of optimiser steps per epoch does not depend
on the sampling. Source ``s`` contributes ``k_s`` examples (largest-remainder rounding of
``p_s * sum(n)``), drawn without replacement from a fresh permutation, repeated permutations when
``k_s > n_s``. Everything is drawn from the training generator, so a resumed run draws the same
epochs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from manyheads.errors import InvalidParameterError

__all__ = ["SourceSampler", "source_probabilities"]


def source_probabilities(
    sizes: Sequence[int], mode: str = "proportional", temperature: float = 1.0
) -> list[float]:
    """The probability of drawing from each source.

    Example:
        >>> source_probabilities([900, 100], "proportional")
        [0.9, 0.1]
        >>> source_probabilities([900, 100], "uniform")
        [0.5, 0.5]
        >>> [round(p, 3) for p in source_probabilities([900, 100], "temperature", 2.0)]
        [0.75, 0.25]
    """
    n = np.asarray(sizes, dtype=np.float64)
    if n.size == 0 or (n <= 0).any():
        raise InvalidParameterError(f"Every source needs training rows; sizes {list(sizes)}.")
    if mode == "proportional":
        weights = n
    elif mode == "uniform":
        weights = np.ones_like(n)
    elif mode == "temperature":
        if not temperature > 0:
            raise InvalidParameterError(f"The temperature must be > 0. Got {temperature!r}.")
        weights = n ** (1.0 / temperature)
    else:
        raise InvalidParameterError(
            "The sampling must be proportional, uniform or temperature. Got " + repr(mode) + "."
        )
    return [float(w) for w in weights / weights.sum()]


def _counts(probabilities: Sequence[float], total: int) -> list[int]:
    """Largest-remainder rounding of ``p * total`` (sums to ``total`` exactly)."""
    raw = np.asarray(probabilities) * total
    counts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: total - int(counts.sum())]] += 1
    return [int(c) for c in counts]


class SourceSampler:
    """Draws the row order of one training epoch over stacked sources.

    Args:
        sizes: training rows per source, in the order the sources are stacked.
        mode: ``proportional``, ``uniform`` or ``temperature``.
        temperature: the temperature of ``temperature`` sampling.

    Example:
        >>> sampler = SourceSampler([6, 2], "uniform")
        >>> order = sampler.order(torch.Generator().manual_seed(0))
        >>> len(order), int((order >= 6).sum())  # half the epoch from the small source
        (8, 4)
    """

    def __init__(self, sizes: Sequence[int], mode: str = "proportional", temperature: float = 1.0):
        self.sizes = [int(n) for n in sizes]
        self.mode = mode
        self.temperature = temperature
        self.probabilities = source_probabilities(self.sizes, mode, temperature)
        self.counts = _counts(self.probabilities, sum(self.sizes))

    @property
    def n_rows(self) -> int:
        """Examples per epoch (all sources' training rows together)."""
        return sum(self.sizes)

    def order(self, generator: torch.Generator) -> Tensor:
        """Row indices of one epoch, shuffled across sources."""
        parts = []
        offset = 0
        for n, k in zip(self.sizes, self.counts, strict=True):
            reps = -(-k // n) if k else 0
            draws = [torch.randperm(n, generator=generator) for _ in range(reps)]
            if draws:
                parts.append(torch.cat(draws)[:k] + offset)
            offset += n
        rows = torch.cat(parts)
        return rows[torch.randperm(len(rows), generator=generator)]

    def describe(self, names: Sequence[str]) -> dict[str, dict[str, float]]:
        """Per source: training rows, probability, and examples drawn per epoch."""
        return {
            name: {"rows": n, "probability": round(p, 6), "examples_per_epoch": k}
            for name, n, p, k in zip(
                names, self.sizes, self.probabilities, self.counts, strict=True
            )
        }
