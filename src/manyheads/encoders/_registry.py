"""The input-encoder registry: what turns one encoded batch ``x`` into a feature vector.

Every architecture builds its input layer through :func:`build_input`, so a new kind of input
(images, token sequences, a pretrained model) plugs into every architecture by registering one
encoder here (``model.encoder: NAME`` and ``model.encoder_options: {...}`` in a config). An encoder
is an ``nn.Module`` with an ``out_dim`` attribute whose ``forward(x: dict[str, Tensor])`` returns
``[B, out_dim]`` (``[B, 1 + W, out_dim]`` with ``token_level = True`` when it reads a ``tokens``
column); its factory is called as ``factory(spec, embed_dim=..., text_dim=...,
**encoder_options)``. Sequence encoders also register in :data:`TEXT_OPTIONS` how the
preprocessor must tokenise for them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from manyheads._catalogue import ENCODERS
from manyheads._registry import did_you_mean
from manyheads.data.preprocess import InputSpec
from manyheads.encoders.base import InputEncoder
from manyheads.encoders.bilstm import BiLSTM
from manyheads.encoders.cnn import TextCNN
from manyheads.encoders.lenet import LeNet
from manyheads.encoders.pretrained import PretrainedTransformer, check_model_dir, default_model_path
from manyheads.encoders.resnet18 import ResNet18
from manyheads.encoders.transformer import TextTransformer
from manyheads.errors import InvalidParameterError

__all__ = [
    "ENCODERS",
    "PRETRAINED_TOKENIZER_OPTIONS",
    "TEXT_OPTIONS",
    "TOKENIZER_OPTIONS",
    "build_input",
    "list_encoders",
    "text_options",
]


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


#: Options of the trained tokenizers (:class:`~manyheads.data.sequence.SequenceTokenizer`) that
#: the ``cnn``, ``bilstm`` and ``transformer`` encoders accept next to their network options.
TOKENIZER_OPTIONS = ("tokenizer", "vocab_size", "min_count", "max_length", "lowercase", "path")
#: The tokenizer option of the ``pretrained`` encoder (its tokenizer is the model's own).
PRETRAINED_TOKENIZER_OPTIONS = ("max_length",)


def _check_options(name: str, options: dict[str, Any], valid: list[str]) -> None:
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise InvalidParameterError(
            f"Unknown option(s) {unknown} of the '{name}' encoder in "
            f"model.encoder_options. Valid options: {', '.join(valid)}."
            f"{did_you_mean(unknown[0], valid)}"
        )


def _network_options(cls: type[InputEncoder]) -> list[str]:
    return [p for p in inspect.signature(cls).parameters if p not in ("spec", "embed_dim")]


def _text_factory(
    cls: type[InputEncoder], name: str, tokenizer_options: tuple[str, ...]
) -> Callable[..., InputEncoder]:
    """A factory for a sequence encoder: drops the tokenizer options (the preprocessor's, see
    :data:`TEXT_OPTIONS`) and the text-bag width, names unknown options."""
    network = _network_options(cls)

    def factory(
        spec: InputSpec, *, embed_dim: int = 8, text_dim: int = 32, **options: Any
    ) -> InputEncoder:
        del text_dim  # width of the tabular text bags; sequences are not bags
        _check_options(name, options, [*network, *tokenizer_options])
        return cls(spec, embed_dim=embed_dim, **{k: v for k, v in options.items() if k in network})

    return factory


# The factories that ENCODERS (filled in manyheads._catalogue) names; "tabular" is TabularInput.
lenet_factory = _image_factory(LeNet, "lenet")
resnet18_factory = _image_factory(ResNet18, "resnet18")
cnn_factory = _text_factory(TextCNN, "cnn", TOKENIZER_OPTIONS)
bilstm_factory = _text_factory(BiLSTM, "bilstm", TOKENIZER_OPTIONS)
transformer_factory = _text_factory(TextTransformer, "transformer", TOKENIZER_OPTIONS)
pretrained_factory = _text_factory(
    PretrainedTransformer, "pretrained", PRETRAINED_TOKENIZER_OPTIONS
)


#: Encoders that read ordered token ids register here how to tokenise: a function from the
#: encoder's options to the preprocessor's ``text_options`` (``{"mode": "sequence", ...}``;
#: see :class:`~manyheads.data.preprocess.TablePreprocessor`). Others get bags of words.
TEXT_OPTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def _trained_tokenizer(name: str, cls: type[InputEncoder]) -> Callable[..., dict[str, Any]]:
    def hook(options: dict[str, Any]) -> dict[str, Any]:
        _check_options(name, options, [*_network_options(cls), *TOKENIZER_OPTIONS])
        return {"mode": "sequence", **{k: options[k] for k in TOKENIZER_OPTIONS if k in options}}

    return hook


def _pretrained_tokenizer(options: dict[str, Any]) -> dict[str, Any]:
    valid = [*_network_options(PretrainedTransformer), *PRETRAINED_TOKENIZER_OPTIONS]
    _check_options("pretrained", options, valid)
    path = options.get("path")
    path = str(check_model_dir(path)) if path is not None else default_model_path()
    return {
        "mode": "sequence",
        "tokenizer": "pretrained",
        "path": path,
        "max_length": options.get("max_length", 128),
    }


TEXT_OPTIONS["cnn"] = _trained_tokenizer("cnn", TextCNN)
TEXT_OPTIONS["bilstm"] = _trained_tokenizer("bilstm", BiLSTM)
TEXT_OPTIONS["transformer"] = _trained_tokenizer("transformer", TextTransformer)
TEXT_OPTIONS["pretrained"] = _pretrained_tokenizer


def text_options(encoder: str, encoder_options: dict[str, Any] | None) -> dict[str, Any]:
    """How the preprocessor must encode text/tokens columns for ``encoder``.

    Example:
        >>> text_options("tabular", None)
        {'mode': 'bag'}
        >>> text_options("cnn", {"n_filters": 50, "vocab_size": 4000})
        {'mode': 'sequence', 'vocab_size': 4000}
    """
    hook = TEXT_OPTIONS.get(encoder)
    return {"mode": "bag"} if hook is None else hook(dict(encoder_options or {}))


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
