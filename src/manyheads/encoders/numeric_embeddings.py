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
from collections.abc import Sequence
from typing import Any, ClassVar

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
from manyheads.encoders._numeric_layers import (
    N_FREQUENCIES,
    PiecewiseLinearEncoding,
    build_numeric_embedding,
    gaussian_edges,
    quantile_edges,
)
from manyheads.encoders.ensemble import MemberAdapter
from manyheads.encoders.numeric_scaling import NumericScaling
from manyheads.encoders.tabular import TabularInput
from manyheads.errors import InvalidParameterError

__all__ = [
    "NUMERIC_EMBEDDINGS",
    "N_FREQUENCIES",
    "NumericEmbeddingInput",
    "PiecewiseLinearEncoding",
    "gaussian_edges",
    "quantile_edges",
]

NUMERIC_EMBEDDINGS = ("ple", "periodic", "periodic_lite", "linear")
N_BINS = 48  #: bins per feature of ``ple`` (the reference default)
_OWNER = "the 'tabular_embed' encoder"
#: One list of bin edges per numeric input: increasing finite numbers.
_EDGES = SequenceOf(SequenceOf(Interval(float, None, None, closed="neither"), non_empty=True))


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
        init_std: the categorical embeddings' initial spread (the ``tabular`` encoder's option).

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
        init_std: float | None = None,
    ) -> None:
        super().__init__(
            spec,
            embed_dim=embed_dim,
            text_dim=text_dim,
            numeric_scaling=numeric_scaling,
            scaling_values=scaling_values,
            init_std=init_std,
        )
        n = spec.n_numeric
        if edges is not None:
            _check_edges(edges, n, numeric)
        self.numeric: nn.Module | None = None
        if n:
            self.numeric = build_numeric_embedding(
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
