"""Pick the image column an image encoder reads (shared by :mod:`lenet` and :mod:`resnet18`)."""

from __future__ import annotations

from manyheads.data.preprocess import InputSpec
from manyheads.encoders.base import pick_column
from manyheads.errors import InvalidParameterError

__all__ = ["image_input"]


def image_input(
    spec: InputSpec, column: str | None, owner: str
) -> tuple[str, tuple[int, int, int]]:
    """The batch key ``image:<column>`` and shape ``(C, H, W)`` that encoder ``owner`` reads.

    Args:
        spec: input sizes from the fitted preprocessor.
        column: the image column to read; None picks the only one.
        owner: the encoder's name, for error messages.

    Raises:
        InvalidParameterError: no image column, several and no ``column``, or an unknown one.

    Example:
        >>> image_input(InputSpec(0, (), (), (("img", (1, 28, 28)),)), None, "lenet")
        ('image:img', (1, 28, 28))
    """
    shapes = dict(spec.image_shapes)
    names = list(shapes)
    if not names:
        raise InvalidParameterError(
            f"'{owner}' needs an image input, but the inputs have none. Declare a "
            f"column of arrays as 'image' in 'inputs' (e.g. inputs: {{pixels: image}}), or use "
            f"the 'tabular' encoder."
        )
    column = pick_column(owner, "image", column, names)
    return f"image:{column}", shapes[column]
