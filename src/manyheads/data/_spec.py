"""What the model's input layer needs to know about the encoded columns (sizes, shapes)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["InputSpec", "SequenceSpec", "combine_specs"]


@dataclass(frozen=True)
class SequenceSpec:
    """What a sequence encoder needs to know about one ``text``/``tokens`` column.

    ``words`` is True for ``tokens`` columns (per-word features are expected). ``path`` is the
    pretrained model directory whose tokenizer produced the ids (None for trained ones).
    """

    n_ids: int
    pad_id: int
    words: bool
    max_length: int
    tokenizer: str
    path: str | None = None


@dataclass(frozen=True)
class InputSpec:
    """Sizes the input layer needs: numeric width, categorical cardinalities, text vocab sizes.

    ``image_shapes`` holds ``(column, (C, H, W))`` for each image column (empty for tables);
    ``sequences`` holds ``(column, SequenceSpec)`` for text/tokens columns encoded as ordered
    token ids (empty unless a sequence encoder asked for them).
    """

    n_numeric: int
    cardinalities: tuple[int, ...]
    text_sizes: tuple[tuple[str, int], ...]
    image_shapes: tuple[tuple[str, tuple[int, int, int]], ...] = ()
    sequences: tuple[tuple[str, SequenceSpec], ...] = ()


def combine_specs(parts: Iterable[InputSpec]) -> InputSpec:
    """One spec from the parts each column adds: widths summed, the tuples joined in order.

    Example:
        >>> combine_specs([InputSpec(2, (), ()), InputSpec(0, (5,), ()), InputSpec(1, (), ())])
        InputSpec(n_numeric=3, cardinalities=(5,), text_sizes=(), image_shapes=(), sequences=())
    """
    specs = list(parts)
    return InputSpec(
        n_numeric=sum(s.n_numeric for s in specs),
        cardinalities=tuple(c for s in specs for c in s.cardinalities),
        text_sizes=tuple(t for s in specs for t in s.text_sizes),
        image_shapes=tuple(i for s in specs for i in s.image_shapes),
        sequences=tuple(q for s in specs for q in s.sequences),
    )
