"""The input-encoder registry: what turns one encoded batch ``x`` into a feature vector.

The model's input encoder is built once, by :func:`build_input`, from ``model.encoder``,
``model.encoder_options`` and the model's ``embed_dim`` / ``text_dim``, and passed to the
architecture (:func:`~manyheads.architectures.create_model`). A new kind of input (images, token
sequences, a pretrained model) thus plugs into every architecture by registering one encoder in
:mod:`manyheads._catalogue` (``docs/extending.md``). An encoder is an ``nn.Module`` with an
``out_dim`` attribute whose ``forward(x: dict[str, Tensor])`` returns ``[B, out_dim]``
(``[B, 1 + W, out_dim]`` with ``token_level = True`` when it reads a ``tokens`` column); its
factory (usually the class) is called as ``factory(spec, **encoder_options)``, plus
``embed_dim`` / ``text_dim`` if its signature has them. Its metadata is the class attribute
``info`` (:class:`~manyheads.encoders.base.EncoderInfo`) and how the preprocessor must
tokenise for it is its ``preprocessor_options`` (:func:`text_options`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from manyheads._catalogue import ENCODERS
from manyheads._registry import did_you_mean
from manyheads.data.preprocess import InputSpec
from manyheads.encoders._text import TOKENIZER_OPTIONS
from manyheads.encoders.base import EncoderInfo, InputEncoder
from manyheads.errors import InvalidParameterError

__all__ = [
    "ENCODERS",
    "TOKENIZER_OPTIONS",
    "EncoderInfo",
    "build_input",
    "encoder_info",
    "encoder_option_names",
    "list_encoders",
    "text_options",
]

#: The model's widths, passed to the encoders whose signature has them.
_MODEL_WIDTHS = ("embed_dim", "text_dim")


def _info(factory: Callable[..., InputEncoder]) -> EncoderInfo:
    info = getattr(factory, "info", None)
    return info if isinstance(info, EncoderInfo) else InputEncoder.info


def encoder_info(name: str) -> EncoderInfo:
    """The metadata of the encoder ``name`` (the ``info`` of its class).

    Raises:
        InvalidParameterError: an unknown encoder (with the closest valid name).

    Example:
        >>> encoder_info("lenet").reads
        ('image',)
        >>> encoder_info("pretrained").loads_weights
        True
    """
    return _info(ENCODERS.get(name))


def encoder_option_names(name: str) -> list[str]:
    """The options of ``model.encoder_options`` that the encoder ``name`` accepts: the keyword
    parameters of its factory (but the model's widths) and its tokenizer options.

    Example:
        >>> encoder_option_names("lenet")
        ['column', 'dropout']
    """
    factory = ENCODERS.get(name)
    network = _network_options(factory)
    return [*network, *(o for o in _info(factory).tokenizer_options if o not in network)]


def _network_options(factory: Callable[..., InputEncoder]) -> list[str]:
    params = inspect.signature(factory).parameters.values()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    skip = ("spec", *_MODEL_WIDTHS)
    return [p.name for p in params if p.kind in kinds and p.name not in skip]


def _check_options(name: str, options: dict[str, Any], valid: list[str]) -> None:
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise InvalidParameterError(
            f"Unknown option(s) {unknown} of the '{name}' encoder in "
            f"model.encoder_options. Valid options: {', '.join(valid)}."
            f"{did_you_mean(unknown[0], valid)}"
        )


def text_options(encoder: str, encoder_options: dict[str, Any] | None) -> dict[str, Any]:
    """How the preprocessor must encode text/tokens columns for ``encoder``.

    An encoder that reads token ids (``info.token_ids``) has its options checked here, before
    the tokenizer is fitted; an unknown encoder gets bags of words (:func:`build_input` names it).

    Example:
        >>> text_options("tabular", None)
        {'mode': 'bag'}
        >>> text_options("cnn", {"n_filters": 50, "vocab_size": 4000})
        {'mode': 'sequence', 'vocab_size': 4000}
    """
    if encoder not in ENCODERS:
        return {"mode": "bag"}
    factory = ENCODERS.get(encoder)
    options = dict(encoder_options or {})
    if _info(factory).token_ids:
        _check_options(encoder, options, encoder_option_names(encoder))
    hook = getattr(factory, "preprocessor_options", None)
    return dict(hook(options)) if callable(hook) else {"mode": "bag"}


def build_input(
    spec: InputSpec,
    *,
    encoder: str = "tabular",
    encoder_options: dict[str, Any] | None = None,
    embed_dim: int = 8,
    text_dim: int = 32,
) -> InputEncoder:
    """Build the input encoder ``encoder`` for inputs of shape ``spec``: the one place a model's
    encoder is built (the architectures receive it).

    Its tokenizer options (``info.tokenizer_options``, the preprocessor's) are accepted and not
    passed on; ``embed_dim`` and ``text_dim`` are passed if its factory takes them.

    Raises:
        InvalidParameterError: an unknown encoder or option (with the closest valid name), or
            the ``tabular`` encoder on image inputs only.

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
    factory = ENCODERS.get(encoder)
    options = dict(encoder_options or {})
    network = _network_options(factory)
    _check_options(encoder, options, encoder_option_names(encoder))
    params = inspect.signature(factory).parameters
    widths = {"embed_dim": embed_dim, "text_dim": text_dim}
    module = factory(
        spec,
        **{k: v for k, v in widths.items() if k in params},
        **{k: v for k, v in options.items() if k in network},
    )
    if not isinstance(module, InputEncoder) or not isinstance(module.out_dim, int):
        raise TypeError(f"Encoder '{encoder}' must be an InputEncoder with an int 'out_dim'.")
    return module


def _has_tabular_inputs(spec: InputSpec) -> bool:
    return bool(spec.n_numeric or spec.cardinalities or spec.text_sizes)


def list_encoders() -> list[str]:
    """Names of the registered input encoders."""
    return ENCODERS.names()
