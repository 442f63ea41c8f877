"""Numeric feature embeddings for tables (Gorishniy, Rubachev and Babenko, NeurIPS 2022).

"On Embeddings for Numerical Features in Tabular Deep Learning" maps each numeric input to a
vector of its own before the backbone mixes the features, which narrows the gap to gradient
boosting on tables (issue 17). The ``tabular_embed`` encoder is the ``tabular`` encoder with its
numbers embedded one of three ways (``numeric``):

* ``ple``: piecewise-linear encoding over bins from the train quantiles (paper Eq. 1, §3.2.1),
  then a per-feature linear layer, plus a per-feature linear embedding of the raw value; the
  piecewise part starts at zero, so training starts from the linear embedding (the "version B"
  that TabM, Gorishniy et al. ICLR 2025, uses).
* ``periodic`` / ``periodic_lite``: ``[cos(2 pi w x), sin(2 pi w x)]`` with ``k`` learned
  frequencies per feature drawn from ``N(0, sigma^2)`` (truncated at 3 sigma), then a linear layer
  and a ReLU ("PLR", §3.3); the lite variant shares the linear layer between features (TabR).
* ``linear``: ``w x + b`` per feature (the paper's "L" baseline).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from manyheads._validation import (
    COUNT,
    POSITIVE,
    Constraints,
    Interval,
    SequenceOf,
    StrOptions,
    option_message,
)
from manyheads.data.preprocess import InputSpec
from manyheads.encoders.ensemble import MemberAdapter
from manyheads.encoders.numeric_scaling import NumericScaling
from manyheads.encoders.tabular import TabularInput
from manyheads.errors import InvalidParameterError

__all__ = [
    "NUMERIC_EMBEDDINGS",
    "NumericEmbeddingInput",
    "PiecewiseLinearEncoding",
    "gaussian_edges",
    "quantile_edges",
]

NUMERIC_EMBEDDINGS = ("ple", "periodic", "periodic_lite", "linear")
N_BINS = 48  #: bins per feature of ``ple`` (the reference default)
#: Frequencies per feature of the periodic embeddings (the paper's k; the reference default).
N_FREQUENCIES = 48
_OWNER = "the 'tabular_embed' encoder"
#: One list of bin edges per numeric input: increasing finite numbers.
_EDGES = SequenceOf(SequenceOf(Interval(float, None, None, closed="neither"), non_empty=True))


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


class NumericEmbeddingInput(TabularInput):
    """The ``tabular`` input layer with each numeric input embedded into ``d_embedding`` numbers.

    Every column of ``x["num"]`` is embedded on its own, the missing indicators too (a missing
    cell is the train mean plus an indicator, as in the ``tabular`` encoder); categorical
    embeddings and text bags are the ``tabular`` encoder's. Width: ``n_numeric * d_embedding +
    n_categorical * embed_dim + n_text * text_dim``.

    Args:
        spec: input sizes from the fitted preprocessor.
        numeric: ``ple``, ``periodic``, ``periodic_lite`` or ``linear`` (see the module).
        d_embedding: width of each numeric input's embedding.
        n_bins: bins per feature of ``ple`` when ``edges`` is not given.
        sigma: standard deviation of the initial periodic frequencies (the paper's sigma; its
            reference default 0.01, an important hyperparameter).
        edges: ``ple`` bin edges, one increasing list per numeric input, from the train split
            (:func:`quantile_edges` of the encoded train inputs); None: :func:`gaussian_edges`,
            the quantiles of a standardised normal column. They are saved with the model.
        embed_dim: width of each categorical embedding.
        text_dim: width of each text bag.
        numeric_scaling: the fitted map applied before the embeddings (the ``tabular``
            encoder's option; ``ple``'s edges are then fitted on the mapped values).
        scaling_values: its fitted values (the ``tabular`` encoder's option).
        ensemble: the members of a TabM-style ensemble (the ``tabular`` encoder's option).

    Raises:
        InvalidParameterError: ``edges`` without one increasing list per numeric input.

    Example:
        >>> layer = NumericEmbeddingInput(InputSpec(2, (3,), ()), d_embedding=4, embed_dim=2)
        >>> layer({"num": torch.zeros(5, 2), "cat": torch.zeros(5, 1, dtype=torch.long)}).shape
        torch.Size([5, 10])
    """

    _params_owner: ClassVar[str | None] = _OWNER
    _parameter_constraints: ClassVar[Constraints] = {
        **TabularInput._parameter_constraints,
        "numeric": [StrOptions(NUMERIC_EMBEDDINGS)],
        "d_embedding": [COUNT],
        "n_bins": [COUNT],
        "sigma": [POSITIVE],
        "edges": [_EDGES, None],
    }

    def __init__(  # noqa: PLR0913 - public constructor: one keyword per documented option
        self,
        spec: InputSpec,
        *,
        numeric: str = "ple",
        d_embedding: int = 16,
        n_bins: int = N_BINS,
        sigma: float = 0.01,
        edges: Sequence[Sequence[float]] | None = None,
        embed_dim: int = 8,
        text_dim: int = 32,
        numeric_scaling: str = "standard",
        scaling_values: Sequence[Sequence[float]] | None = None,
        ensemble: int = 1,
    ) -> None:
        super().__init__(
            spec,
            embed_dim=embed_dim,
            text_dim=text_dim,
            numeric_scaling=numeric_scaling,
            scaling_values=scaling_values,
        )
        n = spec.n_numeric
        if edges is not None:
            _check_edges(edges, n, numeric)
        self.numeric: nn.Module | None = None
        if n:
            self.numeric = _build(
                numeric, n, d_embedding, sigma, edges or gaussian_edges(n, n_bins)
            )
            self.out_dim += n * (d_embedding - 1)
        # after the numeric embeddings, so a plain model draws its weights as it always did
        self.n_members = ensemble
        self.members = MemberAdapter(ensemble, self.out_dim) if ensemble > 1 else None

    @classmethod
    def fitted_options(cls, options: dict[str, Any], num: Tensor) -> dict[str, Any]:
        """The options learnt from ``num`` ``[N, n_numeric]``, the encoded numeric inputs of the
        TRAIN split: the ``tabular`` encoder's ``scaling_values``, then the ``ple`` bin edges
        (:func:`quantile_edges`) of the scaled inputs, each unless ``options`` has it. Joined to
        the model's ``encoder_options``, they are saved with it.

        Example:
            >>> NumericEmbeddingInput.fitted_options({"n_bins": 2}, torch.tensor([[0.0], [1.0]]))
            {'edges': [[0.0, 0.5, 1.0]]}
        """
        learnt = super().fitted_options(options, num)
        if options.get("numeric", "ple") != "ple" or "edges" in options or not num.shape[1]:
            return learnt
        kind = options.get("numeric_scaling", "standard")
        values = learnt.get("scaling_values", options.get("scaling_values"))
        if kind != "standard" and values is not None:
            with torch.no_grad():
                num = NumericScaling(kind, values)(num)
        return {**learnt, "edges": quantile_edges(num, options.get("n_bins", N_BINS))}

    def numeric_features(self, num: Tensor) -> Tensor:
        """Each (scaled) numeric input embedded, flattened: ``[B, n_numeric * d_embedding]``."""
        scaled = super().numeric_features(num)
        if self.numeric is None:
            return scaled
        embedded: Tensor = self.numeric(scaled)  # [B, F, d_embedding]
        return embedded.flatten(1)


def _build(
    numeric: str, n: int, d: int, sigma: float, edges: Sequence[Sequence[float]]
) -> nn.Module:
    if numeric == "ple":
        return _PiecewiseLinear(edges, d)
    if numeric == "linear":
        return _Linear(n, d)
    return _Periodic(n, d, sigma, lite=numeric == "periodic_lite")


def _check_edges(edges: Sequence[Sequence[float]], n_numeric: int, numeric: str) -> None:
    """Edges go with ``ple``: one increasing list of two or more per numeric input."""
    if numeric != "ple":
        got, fix = f"{len(edges)} list(s)", "Remove 'edges' or set numeric: ple."
        msg = option_message(_OWNER, "edges", f"left out with numeric: {numeric!r}", got, fix)
        raise InvalidParameterError(msg)
    expected = f"{n_numeric} lists (one per numeric input) of at least two increasing bin edges"
    if len(edges) != n_numeric:
        fix = "Compute them with quantile_edges() on the encoded train inputs."
        got = f"{len(edges)} list(s)"
        raise InvalidParameterError(option_message(_OWNER, "edges", expected, got, fix))
    for i, feature in enumerate(edges):
        if len(feature) < 2 or any(b <= a for a, b in itertools.pairwise(feature)):
            fix = f"The list of numeric input {i} is not: fix it or recompute the edges."
            raise InvalidParameterError(option_message(_OWNER, "edges", expected, feature, fix))
