"""The per-feature numeric embedding layers of ``tabular_embed``: bin edges, linear,
piecewise-linear and periodic embeddings (see :mod:`manyheads.encoders.numeric_embeddings`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "N_FREQUENCIES",
    "PiecewiseLinearEncoding",
    "build_numeric_embedding",
    "gaussian_edges",
    "quantile_edges",
]

#: Frequencies per feature of the periodic embeddings (the paper's k; the reference default).
N_FREQUENCIES = 48


def quantile_edges(values: Tensor, n_bins: int) -> list[list[float]]:
    """Bin edges of each column of ``values`` ``[N, F]`` (the encoded TRAIN split): its quantiles
    at ``0, 1/n_bins, ..., 1`` with repeats removed (paper §3.2.1), so a column with few distinct
    values gets fewer bins; a constant column gets the one bin ``[v, v + 1]``.

    Example:
        >>> quantile_edges(torch.tensor([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [4.0, 1.0]]), 2)
        [[0.0, 1.5, 4.0], [1.0, 2.0]]
    """
    levels = np.linspace(0.0, 1.0, n_bins + 1)
    # numpy: torch.quantile refuses more than 2**24 values
    quantiles = np.quantile(values.detach().cpu().double().numpy(), levels, axis=0).T
    # float32 first: the buffers are float32, and two edges must not meet there
    edges = [np.unique(column.astype(np.float32)).tolist() for column in quantiles]
    return [e if len(e) > 1 else [e[0], e[0] + 1.0] for e in edges]


def gaussian_edges(n_features: int, n_bins: int) -> list[list[float]]:
    """The edges :func:`quantile_edges` gives a standard normal column (the inputs are
    standardised): the inner edges are its quantiles at ``1/n_bins, ..., (n_bins - 1)/n_bins``;
    the outer ones, which only set the slope outside them, at ``1/(4 n_bins)`` and
    ``1 - 1/(4 n_bins)`` instead of an infinite 0 and 1.

    Example:
        >>> [round(e, 3) for e in gaussian_edges(1, 2)[0]]
        [-1.15, 0.0, 1.15]
    """
    levels = torch.linspace(0.0, 1.0, n_bins + 1, dtype=torch.float64)
    levels[0], levels[-1] = 1 / (4 * n_bins), 1 - 1 / (4 * n_bins)
    return [torch.special.ndtri(levels).tolist()] * n_features


class PiecewiseLinearEncoding(nn.Module):
    """Piecewise-linear encoding (paper Eq. 1): ``x`` in bin ``t`` of ``[b_0, ..., b_T]`` gives
    ``[1, ..., 1, (x - b_{t-1}) / (b_t - b_{t-1}), 0, ..., 0]`` (``T`` components).

    The first component is not clipped below and the last not above, so values outside the train
    range keep a slope. Features with fewer bins are padded with zeros to the most bins
    ``K``. The edges are buffers: a saved model keeps them.

    Args:
        edges: increasing bin edges of each feature.

    Example:
        >>> ple = PiecewiseLinearEncoding([[0.0, 1.0, 2.0, 4.0], [0.0, 10.0]])
        >>> ple(torch.tensor([[1.5, 5.0]]))  # [B, F, K]
        tensor([[[1.0000, 0.5000, 0.0000],
                 [0.5000, 0.0000, 0.0000]]])
    """

    edges: Tensor
    n_bins: Tensor

    def __init__(self, edges: Sequence[Sequence[float]]) -> None:
        super().__init__()
        most = max(len(e) for e in edges)
        # Padded by repeating the last edge; components past a feature's n_bins are masked.
        padded = [[*e, *[e[-1]] * (most - len(e))] for e in edges]
        self.register_buffer("edges", torch.tensor(padded, dtype=torch.float32))  # [F, K + 1]
        self.register_buffer("n_bins", torch.tensor([len(e) - 1 for e in edges]))  # [F]

    def forward(self, x: Tensor) -> Tensor:
        """``[B, F] -> [B, F, K]``."""
        step = torch.arange(self.edges.shape[1] - 1, device=x.device)  # [K]
        valid = step < self.n_bins[:, None]  # [F, K]
        width = torch.where(valid, self.edges.diff(dim=1), 1.0)
        z = (x[..., None] - self.edges[:, :-1]) / width  # [B, F, K]
        first, last = step == 0, step == self.n_bins[:, None] - 1
        z = torch.where(first & (z < 0), z, torch.where(last & (z > 1), z, z.clamp(0.0, 1.0)))
        return torch.where(valid, z, 0.0)


class _PerFeatureLinear(nn.Module):
    """One ``Linear(d_in, d_out)`` per feature: ``[B, F, d_in] -> [B, F, d_out]``."""

    def __init__(self, n_features: int, d_in: int, d_out: int) -> None:
        super().__init__()
        bound = d_in**-0.5  # nn.Linear's scale
        self.weight = nn.Parameter(torch.empty(n_features, d_in, d_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_features, d_out).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        return torch.einsum("bfi,fio->bfo", x, self.weight) + self.bias


class _Linear(nn.Module):
    """``w_f x_f + b_f``: ``[B, F] -> [B, F, d]`` (the paper's "L")."""

    def __init__(self, n_features: int, d_embedding: int) -> None:
        super().__init__()
        self.embed = _PerFeatureLinear(n_features, 1, d_embedding)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.embed(x[..., None])
        return out


class _PiecewiseLinear(nn.Module):
    """``L(x) + L'(PLE(x))`` with ``L'`` zero at the start (TabM's "version B")."""

    def __init__(self, edges: Sequence[Sequence[float]], d_embedding: int) -> None:
        super().__init__()
        self.linear = _Linear(len(edges), d_embedding)
        self.encoding = PiecewiseLinearEncoding(edges)
        n_bins = self.encoding.edges.shape[1] - 1
        self.bins = _PerFeatureLinear(len(edges), n_bins, d_embedding)
        nn.init.zeros_(self.bins.weight)
        nn.init.zeros_(self.bins.bias)  # the bias of L already shifts the embedding

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x) + self.bins(self.encoding(x))  # type: ignore[no-any-return]


class _Periodic(nn.Module):
    """``ReLU(L([cos(2 pi w x), sin(2 pi w x)]))``, ``w ~ N(0, sigma^2)`` cut at 3 sigma ("PLR")."""

    def __init__(self, n_features: int, d_embedding: int, sigma: float, *, lite: bool) -> None:
        super().__init__()
        frequencies = torch.empty(n_features, N_FREQUENCIES)
        nn.init.trunc_normal_(frequencies, 0.0, sigma, a=-3 * sigma, b=3 * sigma)
        self.frequencies = nn.Parameter(frequencies)  # [F, k]
        self.linear: nn.Module = (
            nn.Linear(2 * N_FREQUENCIES, d_embedding)
            if lite
            else _PerFeatureLinear(n_features, 2 * N_FREQUENCIES, d_embedding)
        )

    def forward(self, x: Tensor) -> Tensor:
        angle = 2 * math.pi * self.frequencies * x[..., None]  # [B, F, k]
        waves = torch.cat([torch.cos(angle), torch.sin(angle)], dim=-1)  # [B, F, 2k]
        return torch.relu(self.linear(waves))


def build_numeric_embedding(
    numeric: str, n: int, d: int, sigma: float, edges: Sequence[Sequence[float]]
) -> nn.Module:
    """The ``numeric`` embedding of ``n`` features, ``d`` numbers each: ``[B, n] -> [B, n, d]``."""
    if numeric == "ple":
        return _PiecewiseLinear(edges, d)
    if numeric == "linear":
        return _Linear(n, d)
    return _Periodic(n, d, sigma, lite=numeric == "periodic_lite")
