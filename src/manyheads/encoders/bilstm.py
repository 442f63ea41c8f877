"""A bidirectional LSTM over token embeddings (Graves & Schmidhuber 2005)."""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from manyheads._validation import COUNT, RATE, Constraints, StrOptions
from manyheads.data.preprocess import InputSpec
from manyheads.encoders._text import SequenceEncoder, pool

__all__ = ["BiLSTM"]


class BiLSTM(SequenceEncoder):
    """Token embeddings -> stacked bidirectional LSTM -> pooled over the real tokens.

    Each position's features are ``[→h_t ; ←h_t]``, the forward and backward states of the
    last layer (Graves & Schmidhuber, Neural Networks 2005; the LSTM of Hochreiter & Schmidhuber
    1997), so :attr:`out_dim` is ``2 * hidden``. The rows are packed by length, so the backward
    direction starts at each row's last real token and padding never enters the states. The row
    representation is the mean (or the maximum) of the features over the real tokens; for a
    ``tokens`` column each word's features are those at its first sub-word piece (see
    :class:`~manyheads.encoders._text.SequenceEncoder`).

    Args (``spec``, ``column``, ``embed_dim`` and the tokenizer options: as
    :class:`~manyheads.encoders.SequenceEncoder`):
        embedding_dim: width of each token (word-piece) embedding; an encoder option
            (``model.encoder_options``), not the model's ``embed_dim``.
        hidden: LSTM state width per direction.
        n_layers: stacked LSTM layers.
        dropout: dropout probability on the embeddings, between layers and on the output.
        pooling: ``mean`` or ``max`` over the real tokens.

    Raises:
        InvalidParameterError: no usable text column, or a bad option value.

    Example:
        >>> from manyheads.encoders._text import example_input
        >>> spec, batch = example_input()
        >>> BiLSTM(spec, hidden=16)(batch).shape
        torch.Size([2, 32])
    """

    _params_owner: ClassVar[str | None] = "the 'bilstm' encoder"
    _parameter_constraints: ClassVar[Constraints] = {
        **SequenceEncoder._parameter_constraints,
        "embedding_dim": [COUNT],
        "hidden": [COUNT],
        "n_layers": [COUNT],
        "dropout": [RATE],
        "pooling": [StrOptions(("mean", "max"))],
    }

    def __init__(
        self,
        spec: InputSpec,
        *,
        column: str | None = None,
        embedding_dim: int = 128,
        hidden: int = 128,
        n_layers: int = 1,
        dropout: float = 0.0,
        pooling: str = "mean",
        embed_dim: int = 8,
    ) -> None:
        super().__init__(spec, column, "bilstm", embed_dim=embed_dim)
        rate = float(dropout)
        self.pooling = pooling
        self.embedding = self.token_embedding(embedding_dim)
        self.lstm = nn.LSTM(
            embedding_dim,
            hidden,
            num_layers=n_layers,
            batch_first=True,
            bidirectional=True,
            dropout=rate if n_layers > 1 else 0.0,  # between layers only (warns for 1 layer)
        )
        self.dropout = nn.Dropout(rate)
        self.set_width(2 * hidden)

    def encode(self, ids: Tensor, attn: Tensor) -> tuple[Tensor, Tensor]:
        lengths = attn.sum(dim=1).clamp(min=1).cpu()  # pack_padded_sequence wants them on CPU
        emb = self.dropout(self.embedding(ids))  # [B, S, E]
        packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        hidden, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        hidden = self.dropout(hidden)  # [B, S, 2 * hidden], 0 past each row's end
        return pool(hidden, attn, self.pooling), hidden
