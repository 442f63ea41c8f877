"""Scaling of heavy-tailed numeric inputs, fitted on the TRAIN split (the tabular encoders'
``numeric_scaling`` option, issue 17).

The preprocessor standardises every numeric column with its train mean and standard deviation,
which leaves a heavy-tailed column (capital gains: mostly zeros, a few huge values) squeezed
near one point with a few outliers far away. Two fitted maps spread it out again:

* ``quantile``: each column through its train quantiles onto the standard normal's
  (scikit-learn's ``QuantileTransformer(output_distribution="normal")``, which TabM and the
  numeric-embeddings paper apply to their inputs): a value at train quantile level ``p`` maps to
  ``Phi^-1(p)``, linear between the quantiles; tied quantiles (a mass of zeros) map to the mean of
  their levels, as scikit-learn's averaging of the forward and backward interpolation does.
* ``robust``: ``(x - median) / IQR``, then the smooth clip ``z / sqrt(1 + (z / 3)^2)`` of
  RealMLP (Holzmüller et al., NeurIPS 2024), which keeps the order of the outliers but bounds
  them by 3; a column with a zero IQR is scaled by half its range instead (1 if constant).
* ``standard``: nothing more (the preprocessor's standardisation).

The fitted values are plain lists (:func:`fit_scaling`) joined to the encoder's options, so they
are saved with the run as JSON and a loaded model rebuilds the same map without refitting.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from manyheads._validation import Interval, SequenceOf, option_message
from manyheads.errors import InvalidParameterError

__all__ = [
    "NUMERIC_SCALINGS",
    "SCALING_VALUES",
    "NumericScaling",
    "default_values",
    "fit_scaling",
    "quantile_levels",
]

NUMERIC_SCALINGS = ("standard", "quantile", "robust")
#: Train quantiles kept per column by ``quantile`` (scikit-learn keeps up to 1000; 256 keep the
#: saved options small and are finer than the 48 bins of ``ple``).
N_QUANTILES = 256
#: Where the smooth clip of ``robust`` bends (RealMLP's 3).
ROBUST_CLIP = 3.0
#: The quantile levels are kept this far from 0 and 1 (scikit-learn's bound), so the outermost
#: values map to about +-5.2 instead of an infinite Phi^-1(0).
_BOUND = 1e-7
#: The fitted values: one non-empty list of finite numbers per numeric input.
SCALING_VALUES = SequenceOf(
    SequenceOf(Interval(float, None, None, closed="neither"), non_empty=True)
)


def quantile_levels(quantiles: Sequence[float]) -> tuple[list[float], list[float]]:
    """The knots and normal targets of one column from its train quantiles at ``0, 1/n, ..., 1``.

    Repeated quantiles become one knot whose target is ``Phi^-1`` of the mean of their levels.

    Example:
        >>> knots, targets = quantile_levels([0.0, 0.0, 0.0, 1.0, 2.0])
        >>> knots, [round(t, 3) for t in targets]
        ([0.0, 1.0, 2.0], [-0.674, 0.674, 5.199])
    """
    values = np.asarray(quantiles, dtype=np.float64)
    levels = np.linspace(0.0, 1.0, len(values))
    knots, inverse = np.unique(values, return_inverse=True)
    mean_level = np.bincount(inverse, levels) / np.bincount(inverse)
    mean_level = np.clip(mean_level, _BOUND, 1 - _BOUND)
    targets = torch.special.ndtri(torch.from_numpy(mean_level)).tolist()
    return knots.tolist(), targets


def fit_scaling(kind: str, num: Tensor, *, n_quantiles: int = N_QUANTILES) -> list[list[float]]:
    """The values ``kind`` learns from ``num`` ``[N, F]``, the encoded TRAIN numeric inputs: per
    column its quantiles at ``n_quantiles`` evenly spaced levels (``quantile``) or
    ``[median, scale]`` (``robust``); ``standard`` learns nothing.

    Example:
        >>> fit_scaling("robust", torch.tensor([[0.0], [1.0], [2.0], [3.0], [10.0]]))
        [[2.0, 2.0]]
        >>> fit_scaling("quantile", torch.tensor([[0.0], [1.0], [2.0]]), n_quantiles=3)
        [[0.0, 1.0, 2.0]]
    """
    if kind == "standard":
        return []
    values = num.detach().cpu().double().numpy()
    if kind == "quantile":
        levels = np.linspace(0.0, 1.0, min(n_quantiles, len(values)))
        # float32: the map runs in float32, and two knots must not meet there
        return np.quantile(values, levels, axis=0).T.astype(np.float32).tolist()  # type: ignore[no-any-return]
    low, median, high = np.quantile(values, [0.25, 0.5, 0.75], axis=0)
    half_range = (values.max(axis=0) - values.min(axis=0)) / 2
    scale = np.where(high > low, high - low, np.where(half_range > 0, half_range, 1.0))
    return [[float(m), float(s)] for m, s in zip(median, scale, strict=True)]


def default_values(kind: str, n_features: int) -> list[list[float]]:
    """The values :func:`fit_scaling` gives a standard normal column (the inputs are
    standardised), for an encoder built without fitted values (``manyheads validate``): the
    normal's quantiles at :data:`N_QUANTILES` levels (the outer two at ``1/(4n)`` and
    ``1 - 1/(4n)``, as :func:`~manyheads.encoders.numeric_embeddings.gaussian_edges`), or its
    median and IQR.

    Example:
        >>> [[round(v, 3) for v in c] for c in default_values("robust", 1)]
        [[0.0, 1.349]]
    """
    if kind == "robust":
        return [
            [0.0, float(2 * torch.special.ndtri(torch.tensor(0.75, dtype=torch.float64)))]
        ] * n_features
    levels = torch.linspace(0.0, 1.0, N_QUANTILES, dtype=torch.float64)
    levels[0], levels[-1] = 1 / (4 * N_QUANTILES), 1 - 1 / (4 * N_QUANTILES)
    return [torch.special.ndtri(levels).float().tolist()] * n_features


class NumericScaling(nn.Module):
    """The fitted map of ``kind`` (``quantile`` or ``robust``): ``[B, F] -> [B, F]``.

    ``quantile`` is written as a sum of clamped ramps, ``t_0 + sum_j s_j clamp(x - k_j, 0,
    k_{j+1} - k_j)``, rather than a search for each value's interval: the same numbers, and
    only element-wise operations, so it exports to ONNX. The values are buffers: a saved model
    keeps them.

    Args:
        kind: ``quantile`` or ``robust``.
        values: :func:`fit_scaling`'s values, one list per numeric input.
        owner: who takes the option, for the error message.

    Raises:
        InvalidParameterError: ``values`` of the wrong shape for ``kind``.

    Example:
        >>> scale = NumericScaling("robust", [[2.0, 2.0]])
        >>> scale(torch.tensor([[4.0], [2.0]]))
        tensor([[0.9487],
                [0.0000]])
        >>> NumericScaling("quantile", [[0.0, 1.0, 2.0]])(torch.tensor([[1.0], [9.0]]))
        tensor([[0.0000],
                [5.1993]])
    """

    center: Tensor
    scale: Tensor
    left: Tensor
    width: Tensor
    slope: Tensor
    start: Tensor

    def __init__(self, kind: str, values: Sequence[Sequence[float]], *, owner: str = "") -> None:
        super().__init__()
        self.kind = kind
        if kind == "robust":
            _check(owner, values, kind, lambda v: len(v) == 2 and v[1] > 0)
            table = torch.tensor(values, dtype=torch.float32)  # [F, 2]
            self.register_buffer("center", table[:, 0].contiguous())
            self.register_buffer("scale", table[:, 1].contiguous())
            return
        _check(owner, values, kind, lambda v: all(b >= a for a, b in itertools.pairwise(v)))
        columns = [quantile_levels(v) for v in values]
        most = max(2, *(len(k) for k, _ in columns))
        knots = np.empty((len(columns), most))
        targets = np.empty((len(columns), most))
        for i, (k, t) in enumerate(columns):
            pad = most - len(k)  # flat segments past the last knot
            knots[i] = [*k, *(k[-1] + 1.0 + j for j in range(pad))]
            targets[i] = [*t, *[t[-1]] * pad]
        width = np.diff(knots, axis=1)
        as_buffer = functools.partial(torch.tensor, dtype=torch.float32)
        self.register_buffer("left", as_buffer(knots[:, :-1]))  # [F, K - 1]
        self.register_buffer("width", as_buffer(width))  # [F, K - 1]
        self.register_buffer("slope", as_buffer(np.diff(targets, axis=1) / width))  # [F, K - 1]
        self.register_buffer("start", as_buffer(targets[:, 0]))  # [F]

    def forward(self, x: Tensor) -> Tensor:
        if self.kind == "robust":
            z = (x - self.center) / self.scale
            return z / torch.sqrt(1 + (z / ROBUST_CLIP) ** 2)
        ramps = (x[..., None] - self.left).clamp(min=0.0).minimum(self.width)  # [B, F, K - 1]
        out: Tensor = self.start + (ramps * self.slope).sum(-1)
        return out


def _check(
    owner: str,
    values: Sequence[Sequence[float]],
    kind: str,
    ok: Callable[[Sequence[float]], bool],
) -> None:
    """Refuse values that are not one list per column of the form ``kind`` fits."""
    for i, column in enumerate(values):
        if not ok(column) or not all(math.isfinite(v) for v in column):
            expected = (
                "one [median, scale > 0] pair per numeric input"
                if kind == "robust"
                else "one non-decreasing list of train quantiles per numeric input"
            )
            fix = f"Numeric input {i} has {list(column)!r}: remove the option to refit it."
            msg = option_message(owner, "scaling_values", expected, f"{len(values)} list(s)", fix)
            raise InvalidParameterError(msg)
