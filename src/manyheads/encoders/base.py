"""The input-encoder contract: a module with ``out_dim`` mapping ``x`` to ``[B, out_dim]``.

Each encoder class also carries its registry metadata, :class:`EncoderInfo` (what it reads and
which of its options belong to the preprocessor), and :meth:`InputEncoder.preprocessor_options`
(how the preprocessor must encode text for it), so that registering an encoder is one line in
:mod:`manyheads._catalogue`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor, nn

from manyheads._registry import did_you_mean
from manyheads._validation import ValidatesParams, option_message
from manyheads.errors import InvalidParameterError

__all__ = ["EncoderInfo", "InputEncoder", "pick_column"]


@dataclass(frozen=True)
class EncoderInfo:
    """What an encoder reads and needs from the preprocessor (one entry per encoder).

    Args:
        reads: the input kinds it reads (``numeric``, ``categorical``, ``text``, ``tokens``,
            ``image``).
        token_ids: True if it reads ``text``/``tokens`` columns as token ids (the preprocessor
            tokenises for it, see :meth:`InputEncoder.preprocessor_options`); the architectures
            then default to linear heads (:func:`~manyheads.architectures.base.default_widths`).
        tokenizer_options: options of ``model.encoder_options`` that configure the
            preprocessor's tokenizer, not the network (accepted, and not passed to the class).
        loads_weights: True if building it reads pretrained weights from disk.
        position_limit: True if its model caps the sequence length (``max_length`` must fit
            the model's positions).

    Example:
        >>> from manyheads.encoders import TextCNN
        >>> TextCNN.info.token_ids, TextCNN.info.reads
        (True, ('text', 'tokens', 'numeric', 'categorical'))
    """

    reads: tuple[str, ...]
    token_ids: bool = False
    tokenizer_options: tuple[str, ...] = ()
    loads_weights: bool = False
    position_limit: bool = False


class InputEncoder(ValidatesParams, nn.Module, ABC):
    """Base class of input encoders (tabular input layer, image CNNs, sequence encoders).

    Subclasses set :attr:`out_dim` and implement ``forward(x: dict[str, Tensor]) -> Tensor``
    returning ``[B, out_dim]``, reading the keys of ``x`` they need (``num``, ``cat``,
    ``text:<column>``, ``image:<column>`` ...). Their constructor takes the fitted
    :class:`~manyheads.data.preprocess.InputSpec` first and keyword options after it (those are
    ``model.encoder_options``; ``embed_dim`` and ``text_dim``, if it has them, are the model's).
    """

    #: What the encoder reads; subclasses that read other inputs override it.
    info: ClassVar[EncoderInfo] = EncoderInfo(reads=("numeric", "categorical", "text"))

    out_dim: int

    @abstractmethod
    def forward(self, x: dict[str, Tensor]) -> Tensor:
        """Features ``[B, out_dim]`` of a batch of encoded inputs."""

    @classmethod
    def preprocessor_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """How the preprocessor must encode text for this encoder, given its options.

        The default is bags of words (see
        :class:`~manyheads.data.preprocess.TablePreprocessor`'s ``text_options``).
        """
        del options
        return {"mode": "bag"}

    def bundle_options(self) -> dict[str, Any]:
        """Encoder options a saved model adds to its own so that loading it reads no outside
        file (a pretrained encoder's architecture config; its weights are in the bundle)."""
        return {}


def pick_column(owner: str, kind: str, column: str | None, names: list[str]) -> str:
    """The ``kind`` column (``image``, ``text``) that encoder ``owner`` reads among ``names``:
    ``column``, or the only one when ``column`` is None.

    Raises:
        InvalidParameterError: ``column`` is not one of ``names`` (or None among several).

    Example:
        >>> pick_column("lenet", "image", None, ["img"])
        'img'
        >>> pick_column("cnn", "text", "reviw", ["title", "review"])
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: The 'column' option of the 'cnn' encoder must be one of the text columns title, review. Got 'reviw' instead. Did you mean 'review'?
    """  # noqa: E501
    if column is None and len(names) == 1:
        return names[0]
    if column not in names:
        expected = f"one of the {kind} columns {', '.join(names)}"
        fix = (
            "Choose one with model.encoder_options: {column: NAME}."
            if column is None
            else did_you_mean(str(column), names)
        )
        raise InvalidParameterError(
            option_message(f"the '{owner}' encoder", "column", expected, column, fix)
        )
    return column
