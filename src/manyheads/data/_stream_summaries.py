"""Running summaries that a streaming pass updates chunk by chunk: the moments of numeric
values, a uniform sample of rows, and the counts of a categorical column's values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from manyheads.tasks._base import label_strings, missing_mask

__all__ = ["Moments", "RowSample", "ValueCounts"]


@dataclass
class Moments:
    """Running count, mean and sum of squared deviations (Chan et al., 1979).

    Example:
        >>> m = Moments()
        >>> m.update(np.array([1.0, 2.0])); m.update(np.array([3.0, 4.0]))
        >>> m.mean, round(m.std, 6)
        (2.5, 1.118034)
    """

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def update(self, values: np.ndarray) -> None:
        """Merge the moments of ``values`` (float64, none missing)."""
        if not values.size:
            return
        with np.errstate(over="ignore", invalid="ignore"):
            n_b = int(values.size)
            mean_b = float(values.mean())
            m2_b = float(((values - mean_b) ** 2).sum())
            n = self.n + n_b
            delta = mean_b - self.mean
            self.mean += delta * n_b / n
            self.m2 += m2_b + delta * delta * self.n * n_b / n
            self.n = n

    @property
    def std(self) -> float:
        """Population standard deviation (numpy's ``std``, ``ddof=0``)."""
        return float(np.sqrt(self.m2 / self.n)) if self.n else 1.0


class RowSample:
    """A uniform sample of ``size`` rows (bottom-k of a seeded uniform key), in row order."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.parts: list[pd.DataFrame] = []
        self.held = 0
        self.threshold = np.inf

    def add(self, frame: pd.DataFrame, rows: np.ndarray) -> None:
        keys = self.rng.random(len(frame))
        keep = keys < self.threshold
        if not keep.any():
            return
        part = frame[keep].assign(__key=keys[keep], __row=rows[keep])
        self.parts.append(part)
        self.held += len(part)
        if self.held > 2 * self.size:
            self._compact()

    def _compact(self) -> None:
        joined = pd.concat(self.parts)
        joined = joined.nsmallest(self.size, "__key")
        self.threshold = float(joined["__key"].max())
        self.parts, self.held = [joined], len(joined)

    def frame(self, path: str) -> pd.DataFrame:
        self._compact() if self.held > self.size else None
        joined = pd.concat(self.parts) if len(self.parts) > 1 else self.parts[0]
        out = joined.sort_values("__row", kind="stable").drop(columns=["__key", "__row"])
        out.attrs.update(path=path, row_word="row")
        return out


class ValueCounts:
    """Counts of a categorical column's values, pruned to the most frequent past 2 × cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.counts: dict[str, int] = {}
        self.pruned = False

    def add(self, series: pd.Series) -> None:
        values = label_strings(series[~missing_mask(series)])
        for value, n in values.value_counts(sort=False).items():
            self.counts[str(value)] = self.counts.get(str(value), 0) + int(n)
        if len(self.counts) > 2 * self.cap:
            self._prune()

    def _prune(self) -> None:
        top = sorted(self.counts.items(), key=lambda kv: -kv[1])[: self.cap]
        self.counts, self.pruned = dict(top), True

    def vocabulary(self) -> list[str]:
        if len(self.counts) > self.cap:
            self._prune()
        return sorted(self.counts)
