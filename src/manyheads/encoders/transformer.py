"""A Transformer encoder trained from scratch (Vaswani et al., NeurIPS 2017)."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from manyheads._validation import (
    COUNT,
    RATE,
    Constraints,
    StrOptions,
    option_message,
)
from manyheads.data.preprocess import InputSpec
from manyheads.encoders._text import SequenceEncoder, pool
from manyheads.errors import InvalidParameterError

__all__ = ["TextTransformer"]


class TextTransformer(SequenceEncoder):
    """Token + learned position embeddings -> ``n_layers`` Transformer encoder layers.

    The encoder of Vaswani et al. ("Attention Is All You Need", NeurIPS 2017, §3.1) with the
    learned absolute positions of BERT (Devlin et al., NAACL 2019) and the pre-norm layers of
    Xiong et al. (ICML 2020), which train without a warm-up: each layer is
    ``h + Attn(LN(h))`` then ``h + FFN(LN(h))`` (GELU), and a final LayerNorm. Padding tokens
    are masked out of every attention (``src_key_padding_mask``). The row representation is the
    ``[CLS]`` position (``pooling: cls``, every row starts with it) or the mean over the real
    tokens; :attr:`out_dim` is ``d_model``. For a ``tokens`` column each word's features are
    those at its first sub-word piece (see :class:`~manyheads.encoders._text.SequenceEncoder`).

    Args (``spec``, ``column``, ``embed_dim`` and the tokenizer options: as
    :class:`~manyheads.encoders.SequenceEncoder`):
        d_model: width of the embeddings and layers.
        n_heads: attention heads; must divide ``d_model``.
        n_layers: encoder layers.
        ff_dim: hidden width of each layer's feed-forward block.
        dropout: dropout probability (embeddings, attention, feed-forward).
        pooling: ``cls`` or ``mean``.

    The tokenizer option ``max_length`` is also its number of learned positions.

    Raises:
        InvalidParameterError: no usable text column, or a bad option value.

    Example:
        >>> from manyheads.encoders._text import example_input
        >>> spec, batch = example_input()
        >>> TextTransformer(spec, d_model=32)(batch).shape
        torch.Size([2, 32])
    """

    _params_owner: ClassVar[str | None] = "the 'transformer' encoder"
    _parameter_constraints: ClassVar[Constraints] = {
        **SequenceEncoder._parameter_constraints,
        "d_model": [COUNT],
        "n_heads": [COUNT],
        "n_layers": [COUNT],
        "ff_dim": [COUNT],
        "dropout": [RATE],
        "pooling": [StrOptions(("cls", "mean"))],
    }

    def __init__(  # noqa: PLR0913 - public constructor: one keyword per documented option
        self,
        spec: InputSpec,
        *,
        column: str | None = None,
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 2,
        ff_dim: int = 256,
        dropout: float = 0.1,
        pooling: str = "cls",
        embed_dim: int = 8,
    ) -> None:
        if d_model % n_heads:
            expected = f"a divisor of d_model = {d_model}"
            fix = f"Try {_divisor_near(d_model, n_heads)}."
            owner = str(self._params_owner)
            raise InvalidParameterError(option_message(owner, "n_heads", expected, n_heads, fix))
        super().__init__(spec, column, "transformer", embed_dim=embed_dim)
        rate = float(dropout)
        self.pooling = pooling
        self.tokens = self.token_embedding(d_model)
        self.positions = nn.Embedding(self.sequence.max_length, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model,
            n_heads,
            ff_dim,
            rate,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        # Nested tensors (the padding-skipping fast path) are off: they only apply without
        # norm_first and warn otherwise; trimming each batch already removes most padding.
        self.encoder = nn.TransformerEncoder(
            layer, n_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False
        )
        self.dropout = nn.Dropout(rate)
        self.set_width(d_model)

    def encode(self, ids: Tensor, attn: Tensor) -> tuple[Tensor, Tensor]:
        positions = torch.arange(ids.shape[1], device=ids.device)
        h = self.dropout(self.tokens(ids) + self.positions(positions))  # [B, S, D]
        # Position 0 ([CLS]) always stays visible, so that no row masks every key (NaN).
        padding = ~attn
        padding[:, 0] = False
        hidden: Tensor = self.encoder(h, src_key_padding_mask=padding)  # [B, S, D]
        return pool(hidden, attn, self.pooling), hidden


def _divisor_near(d_model: int, n_heads: int) -> int:
    """The divisor of ``d_model`` closest to ``n_heads``."""
    return min(
        (k for k in range(1, d_model + 1) if d_model % k == 0), key=lambda k: abs(k - n_heads)
    )
