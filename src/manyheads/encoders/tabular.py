"""The tabular input layer: [numeric | categorical embeddings | text bags] -> one vector.

Two options of it (and of ``tabular_embed``) come from issue 17: ``numeric_scaling``, a map of
the numeric inputs fitted on the train split (:mod:`manyheads.encoders.numeric_scaling`), and
``ensemble``, a TabM-style ensemble of ``k`` members (:mod:`manyheads.encoders.ensemble`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from manyheads._validation import (
    COUNT,
    POSITIVE,
    Constraints,
    Interval,
    StrOptions,
    option_message,
)
from manyheads.data.preprocess import InputSpec
from manyheads.encoders.base import InputEncoder
from manyheads.encoders.ensemble import MemberAdapter
from manyheads.encoders.numeric_scaling import (
    NUMERIC_SCALINGS,
    SCALING_VALUES,
    NumericScaling,
    default_values,
    fit_scaling,
)
from manyheads.errors import InvalidParameterError

__all__ = ["EMBED_WIDTH", "TabularInput"]

#: The width of an embedding or text bag: an int >= 0 (0 leaves that kind of input out).
EMBED_WIDTH = Interval(int, 0, None, closed="left")


class TabularInput(InputEncoder):
    """Embeds one encoded row into a flat vector of width :attr:`out_dim`.

    All categorical columns share one embedding table through per-column offsets (one lookup per
    batch instead of one per column); each text column is a mean ``EmbeddingBag`` over its word
    and hashed bigram ids (fastText style; id 0 is padding).

    Args:
        spec: input sizes from the fitted preprocessor.
        embed_dim: width of each categorical embedding (the model's ``embed_dim``).
        text_dim: width of each text bag.
        numeric_scaling: ``standard`` (the preprocessor's standardisation only), ``quantile``
            or ``robust``: a map of the numeric inputs fitted on the train split
            (:mod:`~manyheads.encoders.numeric_scaling`).
        scaling_values: the fitted values of that map (:meth:`fitted_options` computes them
            from the train split, and they are saved with the model); None: those of a
            standard normal column.
        ensemble: ``k`` > 1 makes the model a TabM-style ensemble of ``k`` members: the
            features become ``[k*B, out_dim]``, each member's rows scaled by its own adapter
            (:mod:`~manyheads.encoders.ensemble`).
        init_std: the categorical embeddings start at N(0, ``init_std``²); None keeps
            ``nn.Embedding``'s N(0, 1). torch-rechub starts its embeddings at N(0, 1e-4); on
            id columns seen a few dozen times each (users, items) a small start trains better
            (docs/benchmarks.md, the ESMM comparison). Saved with the model's options.

    Raises:
        InvalidParameterError: ``scaling_values`` with ``standard`` scaling, or not one list
            per numeric input.

    Example:
        >>> layer = TabularInput(InputSpec(2, (3, 4), ()), embed_dim=4)
        >>> layer({"num": torch.zeros(5, 2), "cat": torch.zeros(5, 2, dtype=torch.long)}).shape
        torch.Size([5, 10])
    """

    _params_owner: ClassVar[str | None] = "the 'tabular' encoder"
    _parameter_constraints: ClassVar[Constraints] = {
        "embed_dim": [EMBED_WIDTH],
        "text_dim": [EMBED_WIDTH],
        "numeric_scaling": [StrOptions(NUMERIC_SCALINGS)],
        "scaling_values": [SCALING_VALUES, None],
        "ensemble": [COUNT],
        "init_std": [POSITIVE, None],
    }

    def __init__(
        self,
        spec: InputSpec,
        *,
        embed_dim: int = 8,
        text_dim: int = 32,
        numeric_scaling: str = "standard",
        scaling_values: Sequence[Sequence[float]] | None = None,
        ensemble: int = 1,
        init_std: float | None = None,
    ) -> None:
        super().__init__()
        self.scaling = _scaling(self._owner(), numeric_scaling, scaling_values, spec.n_numeric)
        self.n_numeric = spec.n_numeric
        self.n_categorical = len(spec.cardinalities)
        offsets = torch.tensor([0, *spec.cardinalities[:-1]], dtype=torch.long).cumsum(0)
        self.register_buffer("offsets", offsets if self.n_categorical else torch.zeros(0))
        self.embedding = (
            nn.Embedding(sum(spec.cardinalities), embed_dim) if self.n_categorical else None
        )
        if init_std is not None and self.embedding is not None:  # a redraw: only when asked
            nn.init.normal_(self.embedding.weight, std=init_std)
        self.text_keys = [f"text:{col}" for col, _ in spec.text_sizes]
        self.text = nn.ModuleList(
            nn.EmbeddingBag(size, text_dim, mode="mean", padding_idx=0)
            for _, size in spec.text_sizes
        )
        self.out_dim = (
            spec.n_numeric + self.n_categorical * embed_dim + len(spec.text_sizes) * text_dim
        )
        if self.out_dim == 0:
            raise ValueError("TabularInput needs at least one input column.")
        #: the members of a TabM-style ensemble (1: a plain model).
        self.n_members = ensemble
        self.members = MemberAdapter(ensemble, self.out_dim) if ensemble > 1 else None

    @classmethod
    def _owner(cls) -> str:
        return cls._params_owner or cls.__name__

    @classmethod
    def fitted_options(cls, options: dict[str, Any], num: Tensor) -> dict[str, Any]:
        """The options learnt from ``num`` ``[N, n_numeric]``, the encoded numeric inputs of the
        TRAIN split: the ``scaling_values`` of a ``numeric_scaling`` other than ``standard``,
        unless ``options`` has them. Joined to the model's ``encoder_options``, they are saved
        with it.

        Example:
            >>> TabularInput.fitted_options({"numeric_scaling": "robust"}, torch.tensor([[0.0], [2.0]]))
            {'scaling_values': [[1.0, 1.0]]}
        """  # noqa: E501
        kind = options.get("numeric_scaling", "standard")
        if kind == "standard" or "scaling_values" in options or not num.shape[1]:
            return {}
        return {"scaling_values": fit_scaling(kind, num)}

    def forward(self, x: dict[str, Tensor]) -> Tensor:
        features = self.embed(x)  # [B, out_dim]
        return features if self.members is None else self.members(features)  # [k*B, out_dim]

    def numeric_features(self, num: Tensor) -> Tensor:
        """The numeric part of the features, ``[B, n_numeric]`` (scaled if asked)."""
        return num if self.scaling is None else self.scaling(num)

    def embed(self, x: dict[str, Tensor]) -> Tensor:
        """The features of one batch, ``[B, out_dim]``, before any ensemble adapter."""
        parts: list[Tensor] = []
        if self.n_numeric:
            parts.append(self.numeric_features(x["num"]))
        if self.embedding is not None:
            offsets = self.offsets
            assert isinstance(offsets, Tensor)
            idx = (x["cat"] + offsets).reshape(-1)
            # index_select rather than F.embedding: its backward is a plain index_add, ~4x faster
            # on CPU than embedding_dense_backward (which sorts the indices).
            emb = self.embedding.weight.index_select(0, idx)  # [B * C, E]
            parts.append(emb.view(x["cat"].shape[0], -1))  # [B, C * E]
        for key, bag in zip(self.text_keys, self.text, strict=True):
            parts.append(bag(x[key]))  # [B, text_dim]
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]


def _scaling(
    owner: str, kind: str, values: Sequence[Sequence[float]] | None, n_numeric: int
) -> NumericScaling | None:
    """The fitted numeric map of ``kind``, or None for ``standard`` (or no numeric input)."""
    if kind == "standard" and values is not None:
        fix = "Remove 'scaling_values' or set numeric_scaling: quantile or robust."
        got = f"{len(values)} list(s)"
        expected = "left out with numeric_scaling: 'standard'"
        raise InvalidParameterError(option_message(owner, "scaling_values", expected, got, fix))
    if kind == "standard" or not n_numeric:
        return None
    if values is not None and len(values) != n_numeric:
        expected = f"{n_numeric} lists (one per numeric input)"
        fix = "Remove the option: it is fitted on the train split."
        got = f"{len(values)} list(s)"
        raise InvalidParameterError(option_message(owner, "scaling_values", expected, got, fix))
    return NumericScaling(kind, values or default_values(kind, n_numeric), owner=owner)
