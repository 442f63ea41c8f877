"""The input-encoder registry: what turns one encoded batch ``x`` into a feature vector.

Every architecture builds its input layer through :func:`build_input`, so a new kind of input
(images, token sequences, a pretrained model) plugs into every architecture by registering one
encoder here (``model.encoder: NAME`` and ``model.encoder_options: {...}`` in a config). An encoder
is an ``nn.Module`` with an ``out_dim`` attribute whose ``forward(x: dict[str, Tensor])`` returns
``[B, out_dim]``; its factory is called as ``factory(spec, embed_dim=..., text_dim=...,
**encoder_options)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from manyheads._registry import Registry, did_you_mean
from manyheads.data.preprocess import InputSpec
from manyheads.encoders.base import InputEncoder
from manyheads.encoders.lenet import LeNet
from manyheads.encoders.resnet18 import ResNet18
from manyheads.encoders.tabular import TabularInput
from manyheads.errors import InvalidParameterError

__all__ = ["ENCODERS", "build_input", "list_encoders"]


def _image_factory(cls: type[InputEncoder], name: str) -> Callable[..., InputEncoder]:
    """A factory for ``cls`` that drops the tabular widths and names unknown options."""
    valid = [p for p in inspect.signature(cls).parameters if p != "spec"]

    def factory(
        spec: InputSpec, *, embed_dim: int = 8, text_dim: int = 32, **options: Any
    ) -> InputEncoder:
        del embed_dim, text_dim  # widths of the tabular input layer; images have none
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise InvalidParameterError(
                f"Unknown option(s) {unknown} of the '{name}' encoder in "
                f"model.encoder_options. Valid options: {', '.join(valid)}."
                f"{did_you_mean(unknown[0], valid)}"
            )
        return cls(spec, **options)

    return factory


ENCODERS: Registry[InputEncoder] = Registry("encoder")
ENCODERS.register(
    "tabular", TabularInput, doc="numbers | categorical embeddings | text bags, concatenated"
)
ENCODERS.register(
    "lenet",
    _image_factory(LeNet, "lenet"),
    doc="LeNet of Sener & Koltun 2018 (MultiMNIST), one image column -> 50 (options: dropout)",
)
ENCODERS.register(
    "resnet18",
    _image_factory(ResNet18, "resnet18"),
    doc="ResNet-18 (He et al. 2016), one image column -> 512*width (options: small_input, width)",
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
    if encoder == "tabular" and spec.image_shapes and not _has_tabular_inputs(spec):
        columns = ", ".join(col for col, _ in spec.image_shapes)
        raise InvalidParameterError(
            f"The 'tabular' encoder cannot read the image input(s) {columns}. Set model.encoder "
            "to an image encoder: lenet or resnet18."
        )
    module = ENCODERS.create(
        encoder, spec, embed_dim=embed_dim, text_dim=text_dim, **(encoder_options or {})
    )
    if not isinstance(module, InputEncoder) or not isinstance(module.out_dim, int):
        raise TypeError(f"Encoder '{encoder}' must be an InputEncoder with an int 'out_dim'.")
    return module


def _has_tabular_inputs(spec: InputSpec) -> bool:
    return bool(spec.n_numeric or spec.cardinalities or spec.text_sizes)


def list_encoders() -> list[str]:
    """Names of the registered input encoders."""
    return ENCODERS.names()
