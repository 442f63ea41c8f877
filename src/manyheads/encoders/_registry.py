"""The input-encoder registry: what turns one encoded batch ``x`` into a feature vector.

Every architecture builds its input layer through :func:`build_input`, so a new kind of input
(images, token sequences, a pretrained model) plugs into every architecture by registering one
encoder here (``model.encoder: NAME`` and ``model.encoder_options: {...}`` in a config). An encoder
is an ``nn.Module`` with an ``out_dim`` attribute whose ``forward(x: dict[str, Tensor])`` returns
``[B, out_dim]``; its factory is called as ``factory(spec, embed_dim=..., text_dim=...,
**encoder_options)``.
"""

from __future__ import annotations

from typing import Any

from manyheads._registry import Registry
from manyheads.data.preprocess import InputSpec
from manyheads.encoders.base import InputEncoder
from manyheads.encoders.tabular import TabularInput

__all__ = ["ENCODERS", "build_input", "list_encoders"]

ENCODERS: Registry[InputEncoder] = Registry("encoder")
ENCODERS.register(
    "tabular", TabularInput, doc="numbers | categorical embeddings | text bags, concatenated"
)


def build_input(
    spec: InputSpec,
    *,
    encoder: str = "tabular",
    encoder_options: dict[str, Any] | None = None,
    embed_dim: int = 8,
    text_dim: int = 32,
) -> InputEncoder:
    """Build the input encoder ``encoder`` for inputs of shape ``spec``.

    Example:
        >>> build_input(InputSpec(3, (), ())).out_dim
        3
    """
    module = ENCODERS.create(
        encoder, spec, embed_dim=embed_dim, text_dim=text_dim, **(encoder_options or {})
    )
    if not isinstance(module, InputEncoder) or not isinstance(module.out_dim, int):
        raise TypeError(f"Encoder '{encoder}' must be an InputEncoder with an int 'out_dim'.")
    return module


def list_encoders() -> list[str]:
    """Names of the registered input encoders."""
    return ENCODERS.names()
