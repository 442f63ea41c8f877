"""What the sequence encoders (cnn, bilstm, transformer, pretrained) share.

* :func:`text_input` picks the ``text``/``tokens`` column an encoder reads;
* :func:`trim` cuts a batch to its longest real row, so that padding costs nothing;
* :func:`masked_mean`, :func:`masked_max` pool over the real tokens;
* :func:`word_features` gathers each word's features at its first sub-word piece;
* :class:`SequenceEncoder` is the base class: it wires the four together with the contract of
  :class:`~manyheads.encoders.base.InputEncoder` (``[B, out_dim]`` for a ``text`` column,
  ``[B, 1 + W, out_dim]`` with ``token_level = True`` for a ``tokens`` column) and appends the
  numeric and categorical inputs of the row, if any, through a
  :class:`~manyheads.encoders.tabular.TabularInput`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from manyheads._validation import Constraints, Text
from manyheads.data.preprocess import InputSpec, SequenceSpec
from manyheads.encoders.base import EncoderInfo, InputEncoder, pick_column
from manyheads.encoders.tabular import EMBED_WIDTH, TabularInput
from manyheads.errors import InvalidParameterError

__all__ = [
    "TOKENIZER_OPTIONS",
    "SequenceEncoder",
    "example_input",
    "masked_max",
    "masked_mean",
    "pool",
    "text_input",
    "trim",
    "word_features",
]

#: Options of the trained tokenizers (:class:`~manyheads.data.sequence.SequenceTokenizer`) that
#: the ``cnn``, ``bilstm`` and ``transformer`` encoders accept next to their network options.
TOKENIZER_OPTIONS = ("tokenizer", "vocab_size", "min_count", "max_length", "lowercase", "path")


def text_input(spec: InputSpec, column: str | None, owner: str) -> tuple[str, SequenceSpec]:
    """The ``text``/``tokens`` column that encoder ``owner`` reads, and its :class:`SequenceSpec`.

    Args:
        spec: input sizes from the fitted preprocessor.
        column: the column to read; None picks the only one.
        owner: the encoder's name, for error messages.

    Raises:
        InvalidParameterError: no sequence column, several and no ``column``, an unknown one, or
            image inputs (which a sequence encoder cannot read).

    Example:
        >>> seq = SequenceSpec(n_ids=100, pad_id=0, words=False, max_length=64, tokenizer="bpe")
        >>> text_input(InputSpec(0, (), (), (), (("review", seq),)), None, "cnn")[0]
        'review'
    """
    sequences = dict(spec.sequences)
    names = list(sequences)
    if spec.image_shapes:
        images = ", ".join(col for col, _ in spec.image_shapes)
        raise InvalidParameterError(
            f"The '{owner}' encoder reads text, and cannot read the image input(s) {images}. "
            "Drop them from 'inputs', or use an image encoder (lenet, resnet18)."
        )
    if not names:
        bags = ", ".join(col for col, _ in spec.text_sizes)
        hint = f" (the text input(s) {bags} were encoded as bags of words)" if bags else ""
        raise InvalidParameterError(
            f"The '{owner}' encoder needs a 'text' or 'tokens' input encoded as token ids, but "
            f"the inputs have none{hint}. Declare a column of strings as 'text' (or of word "
            "lists as 'tokens') in 'inputs', e.g. inputs: {review: text}."
        )
    column = pick_column(owner, "text", column, names)
    return column, sequences[column]


def trim(ids: Tensor, attn: Tensor) -> tuple[Tensor, Tensor]:
    """Cut ``ids`` and ``attn`` [B, S] to the longest real row of the batch (rows are
    left-aligned: real tokens first, then padding).

    Example:
        >>> ids, attn = trim(torch.tensor([[2, 5, 3, 0], [2, 3, 0, 0]]),
        ...                  torch.tensor([[True, True, True, False], [True, True, False, False]]))
        >>> ids.tolist()
        [[2, 5, 3], [2, 3, 0]]
    """
    length = max(1, int(attn.sum(dim=1).max())) if attn.numel() else 1
    if length == ids.shape[1]:
        return ids, attn
    return ids[:, :length], attn[:, :length]


def masked_mean(hidden: Tensor, attn: Tensor) -> Tensor:
    """Mean of ``hidden`` [B, S, H] over the real positions of ``attn`` [B, S]: [B, H].

    Example:
        >>> hidden, attn = torch.tensor([[[1.0], [3.0], [100.0]]]), torch.tensor([[1, 1, 0]]) > 0
        >>> masked_mean(hidden, attn)
        tensor([[2.]])
    """
    weights = attn.unsqueeze(-1).to(hidden.dtype)  # [B, S, 1]
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def masked_max(hidden: Tensor, attn: Tensor) -> Tensor:
    """Maximum of ``hidden`` [B, S, H] over the real positions of ``attn`` [B, S]: [B, H]
    (0 for a row without real positions).

    Example:
        >>> hidden, attn = torch.tensor([[[1.0], [3.0], [100.0]]]), torch.tensor([[1, 1, 0]]) > 0
        >>> masked_max(hidden, attn)
        tensor([[3.]])
    """
    filled = hidden.masked_fill(~attn.unsqueeze(-1), -torch.inf)
    out = filled.amax(dim=1)
    return torch.where(attn.any(dim=1, keepdim=True), out, torch.zeros_like(out))


def pool(hidden: Tensor, attn: Tensor, pooling: str) -> Tensor:
    """Row features ``[B, H]`` from per-piece ones ``[B, S, H]``: ``mean`` or ``max`` over the
    real tokens (``attn``), or ``cls``, the first position.

    Example:
        >>> hidden = torch.tensor([[[1.0], [3.0], [9.0]]])
        >>> attn = torch.tensor([[True, True, False]])
        >>> [pool(hidden, attn, how).item() for how in ("mean", "max", "cls")]
        [2.0, 3.0, 1.0]
    """
    if pooling == "cls":
        return hidden[:, 0]
    return masked_mean(hidden, attn) if pooling == "mean" else masked_max(hidden, attn)


def word_features(hidden: Tensor, first: Tensor, wmask: Tensor) -> Tensor:
    """Each word's features, taken at its first sub-word piece: [B, W, H], 0 on empty slots.

    Args:
        hidden: per-piece features [B, S, H].
        first: position of each word's first piece [B, W].
        wmask: True on the real word slots [B, W].

    Example:
        >>> hidden = torch.arange(4.0).reshape(1, 4, 1)
        >>> word_features(hidden, torch.tensor([[1, 3, 0]]), torch.tensor([[True, True, False]]))
        tensor([[[1.],
                 [3.],
                 [0.]]])
    """
    index = first.unsqueeze(-1).expand(-1, -1, hidden.shape[-1])  # [B, W, H]
    words = hidden.gather(1, index)
    return words * wmask.unsqueeze(-1).to(words.dtype)


def example_input() -> tuple[InputSpec, dict[str, Tensor]]:
    """A spec with one ``review`` column of token ids (50 ids, 0 the padding) and a batch of two
    rows of it, for the sequence encoders' examples.

    Example:
        >>> spec, batch = example_input()
        >>> spec.sequences[0][0], tuple(batch["ids:review"].shape)
        ('review', (2, 5))
    """
    seq = SequenceSpec(n_ids=50, pad_id=0, words=False, max_length=16, tokenizer="bpe")
    ids = torch.tensor([[2, 7, 9, 3, 0], [2, 5, 3, 0, 0]])
    return InputSpec(0, (), (), (), (("review", seq),)), {
        "ids:review": ids,
        "attn:review": ids != 0,
    }


class SequenceEncoder(InputEncoder):
    """Base class of the encoders that read one column of token ids.

    A subclass builds its network in ``__init__``, calls :meth:`set_width` with the width H of
    its features, and implements :meth:`encode`: ``(ids, attn)`` [B, S] of a trimmed batch ->
    ``(pooled [B, H], per-piece features [B, S, H])``. :meth:`forward` does the rest:

    * ``text`` column: ``pooled`` -> ``[B, out_dim]``;
    * ``tokens`` column (:attr:`token_level` True): ``[pooled, word_1 ... word_W]`` ->
      ``[B, 1 + W, out_dim]``, each word's features taken at its first piece, 0 on empty slots;
    * numeric and categorical inputs of the row (if any) go through a
      :class:`~manyheads.encoders.tabular.TabularInput` (``embed_dim`` wide embeddings) and are
      concatenated, to every position of a token-level output. Other text columns than the
      chosen one are not read.

    The trained-tokenizer encoders (``cnn``, ``bilstm``, ``transformer``) also accept the
    tokenizer options (:data:`TOKENIZER_OPTIONS`, in ``model.encoder_options``, read by the
    preprocessor): ``tokenizer`` (``bpe``, the default, ``wordpiece`` or ``pretrained`` with
    ``path``), ``vocab_size``, ``min_count``, ``max_length``, ``lowercase``; see
    :class:`~manyheads.data.sequence.SequenceTokenizer`.

    Args:
        spec: input sizes from the fitted preprocessor.
        column: the text column to read when there are several.
        owner: the encoder's registry name, for error messages.
        embed_dim: the model's ``embed_dim``: width of each categorical embedding of the side
            inputs (a subclass's token width is its own ``embedding_dim`` or ``d_model``).
    """

    info: ClassVar[EncoderInfo] = EncoderInfo(
        reads=("text", "tokens", "numeric", "categorical"),
        token_ids=True,
        tokenizer_options=TOKENIZER_OPTIONS,
    )
    #: The options every sequence encoder has; subclasses add theirs and check them first.
    _parameter_constraints: ClassVar[Constraints] = {
        "column": [Text(), None],
        "embed_dim": [EMBED_WIDTH],
    }

    #: True for a ``tokens`` column: the output is ``[B, 1 + W, out_dim]``.
    token_level: bool

    @classmethod
    def preprocessor_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Token ids from a tokenizer trained on the data, with the tokenizer options given.

        Example:
            >>> from manyheads.encoders import TextCNN
            >>> TextCNN.preprocessor_options({"n_filters": 50, "vocab_size": 4000})
            {'mode': 'sequence', 'vocab_size': 4000}
        """
        tokenizer = {k: options[k] for k in cls.info.tokenizer_options if k in options}
        return {"mode": "sequence", **tokenizer}

    def __init__(self, spec: InputSpec, column: str | None, owner: str, *, embed_dim: int) -> None:
        super().__init__()
        self.column, self.sequence = text_input(spec, column, owner)
        self.token_level = self.sequence.words
        self.side = (
            TabularInput(InputSpec(spec.n_numeric, spec.cardinalities, ()), embed_dim=embed_dim)
            if spec.n_numeric or spec.cardinalities
            else None
        )
        self.out_dim = 0

    def token_embedding(self, width: int) -> nn.Embedding:
        """A ``width``-wide embedding of the column's token ids; the padding id's row is zero."""
        return nn.Embedding(self.sequence.n_ids, width, padding_idx=self.sequence.pad_id)

    def set_width(self, width: int) -> None:
        """Record the width of :meth:`encode`'s features; :attr:`out_dim` adds the side inputs."""
        self.out_dim = width + (self.side.out_dim if self.side is not None else 0)

    @abstractmethod
    def encode(self, ids: Tensor, attn: Tensor) -> tuple[Tensor, Tensor]:
        """``(pooled [B, H], per-piece features [B, S, H])`` of ids and attention [B, S]."""

    def forward(self, x: dict[str, Tensor]) -> Tensor:
        """``[B, out_dim]``, or ``[B, 1 + W, out_dim]`` for a ``tokens`` column."""
        col = self.column
        ids, attn = trim(x[f"ids:{col}"], x[f"attn:{col}"])
        pooled, hidden = self.encode(ids, attn)
        out = pooled
        if self.token_level:
            words = word_features(hidden, x[f"first:{col}"], x[f"wmask:{col}"])  # [B, W, H]
            out = torch.cat([pooled.unsqueeze(1), words], dim=1)  # [B, 1 + W, H]
        if self.side is None:
            return out
        side: Tensor = self.side(x)  # [B, S]
        if out.dim() == 3:
            side = side.unsqueeze(1).expand(-1, out.shape[1], -1)
        return torch.cat([out, side], dim=-1)
