"""The convolutional sentence encoder of Kim (EMNLP 2014)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from manyheads._validation import COUNT, RATE, Constraints, SequenceOf
from manyheads.data.preprocess import InputSpec
from manyheads.encoders._text import SequenceEncoder, masked_max

__all__ = ["TextCNN"]


class TextCNN(SequenceEncoder):
    """Token embeddings, parallel 1-D convolutions of several widths, max-pooling over time.

    Kim, "Convolutional Neural Networks for Sentence Classification" (EMNLP 2014, §2): for each
    width ``h`` in ``widths``, ``n_filters`` feature maps ``c_i = ReLU(w · x_{i:i+h-1} + b)``
    (eq. 2-3), each max-pooled over the real tokens, ``ĉ = max{c}``; the pooled maps of all
    widths are concatenated (3, 4, 5 x 100 in the paper), so :attr:`out_dim` is
    ``n_filters * len(widths)``. Dropout (0.5 in the paper) is applied to that vector.

    The convolutions are 'same'-padded and the embeddings of padding tokens zeroed, so a
    position sees the same zeros past the end of its row whatever the batch's padding. For a
    ``tokens`` column each word's features are the concatenated convolution outputs at its first
    sub-word piece (see :class:`~manyheads.encoders._text.SequenceEncoder`).

    Args (``spec``, ``column``, ``embed_dim`` and the tokenizer options: as
    :class:`~manyheads.encoders.SequenceEncoder`):
        embedding_dim: width of each token (word-piece) embedding, 300 in the paper (word2vec);
            an encoder option (``model.encoder_options``), not the model's ``embed_dim``.
        widths: the filter widths (in tokens).
        n_filters: feature maps per width.
        dropout: dropout probability on the pooled and per-token features.

    Raises:
        InvalidParameterError: no usable text column, or a bad option value.

    Example:
        >>> from manyheads.encoders._text import example_input
        >>> spec, batch = example_input()
        >>> TextCNN(spec, n_filters=8)(batch).shape
        torch.Size([2, 24])
    """

    _params_owner: ClassVar[str | None] = "the 'cnn' encoder"
    _parameter_constraints: ClassVar[Constraints] = {
        **SequenceEncoder._parameter_constraints,
        "embedding_dim": [COUNT],
        "widths": [SequenceOf(COUNT, non_empty=True, example="[3, 4, 5]")],
        "n_filters": [COUNT],
        "dropout": [RATE],
    }

    def __init__(
        self,
        spec: InputSpec,
        *,
        column: str | None = None,
        embedding_dim: int = 128,
        widths: Sequence[int] = (3, 4, 5),
        n_filters: int = 100,
        dropout: float = 0.5,
        embed_dim: int = 8,
    ) -> None:
        super().__init__(spec, column, "cnn", embed_dim=embed_dim)
        self.widths = list(widths)
        self.embedding = self.token_embedding(embedding_dim)
        self.convs = nn.ModuleList(nn.Conv1d(embedding_dim, n_filters, w) for w in self.widths)
        # 'same' padding, left (h - 1) // 2 and right the rest, done once for all widths (an
        # even width would make nn.Conv1d(padding="same") copy its input every call).
        self.left = [(w - 1) // 2 for w in self.widths]
        self.pad = (
            max(self.left),
            max(w - 1 - lf for w, lf in zip(self.widths, self.left, strict=True)),
        )
        self.dropout = nn.Dropout(float(dropout))
        self.set_width(n_filters * len(self.widths))

    def encode(self, ids: Tensor, attn: Tensor) -> tuple[Tensor, Tensor]:
        length = ids.shape[1]
        emb = self.embedding(ids) * attn.unsqueeze(-1).to(self.embedding.weight.dtype)
        padded = F.pad(emb.transpose(1, 2), self.pad)  # [B, E, pad_left + S + pad_right]
        maps = []
        for conv, width, left in zip(self.convs, self.widths, self.left, strict=True):
            start = self.pad[0] - left
            maps.append(torch.relu(conv(padded[:, :, start : start + length + width - 1])))
        hidden = torch.cat(maps, dim=1).transpose(1, 2)  # [B, S, n_filters * len(widths)]
        pooled = masked_max(hidden, attn)  # max-over-time pooling
        return self.dropout(pooled), self.dropout(hidden)
