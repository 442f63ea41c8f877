"""Trace a model's network into an ONNX graph and run that graph with onnxruntime.

The graph takes the *encoded* input tensors that ``MTLModel.forward`` takes (``num``, ``cat``,
``text:<col>``, ``ids:<col>`` ...), one ONNX input per key, and gives one named output per task.
The batch axis is dynamic, and so are the piece and word axes of token inputs, so that the graph
runs on any batch that the run's preprocessor makes. The non-tensor preprocessing (vocabularies,
tokenisation, standardisation) stays with the run bundle.

Text encoders cut each batch to its longest real row before encoding (``encoders._text.trim``),
a data-dependent slice that a static graph cannot hold. The graph is traced without that cut,
and :func:`trim_batch` makes it on the inputs instead, before they are fed: the same numbers
reach the same layers (the encoders ignore padding; the contract tests check it).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from manyheads.architectures.base import MTLModel
from manyheads.encoders import _text
from manyheads.encoders.bilstm import BiLSTM
from manyheads.errors import InvalidParameterError, ManyheadsError
from manyheads.export._fuse import bert_attention_for_export, fuse_bert_attention

__all__ = [
    "INPUT_PREFIX",
    "OPSET",
    "REFUSED",
    "Session",
    "check_exportable",
    "export_graph",
    "onnx_input",
    "open_session",
    "require_export_extra",
    "run_graph",
    "trim_batch",
]

#: The ONNX opset the graphs are written in (the dynamo exporter's default in torch 2.13).
OPSET = 18

#: Graph input names are the encoded keys behind this prefix: a bare ``cat`` or ``num`` would
#: clash with the names the exporter gives its own nodes (``torch.cat`` -> ``cat``).
INPUT_PREFIX = "x."


#: The packages of the ``export`` extra: the exporter's translator, the format, the runtime.
EXPORT_MODULES = ("onnxscript", "onnx", "onnxruntime")


def require_export_extra() -> None:
    """Raise a :class:`ManyheadsError` naming the extra when an export dependency is missing
    (looked up, not imported: onnxscript takes a second to import)."""
    from importlib.util import find_spec

    missing = [m for m in EXPORT_MODULES if find_spec(m) is None]
    if missing:
        raise ManyheadsError(
            f"exporting to ONNX needs the 'export' extra, which is not installed (missing: "
            f"{', '.join(missing)}). Install it with: pip install 'manyheads[export]' (from a "
            "checkout: pip install -c constraints.txt -e '.[export]')."
        )


#: Modules with no ONNX form, and why; a model holding one is refused before any tracing.
REFUSED: dict[type[nn.Module], str] = {
    BiLSTM: (
        "the 'bilstm' encoder packs each batch by row length (pack_padded_sequence), which "
        "torch.export cannot trace into a graph with a dynamic batch; its backward direction "
        "must start at each row's own last token, so running the LSTM over the padding instead "
        "would change the outputs. Train with the 'cnn' or 'transformer' encoder to export, or "
        "predict with the eager engine."
    ),
}


def check_exportable(model: nn.Module) -> None:
    """Refuse a model that holds a module of :data:`REFUSED`, naming it and the reason.

    Raises:
        InvalidParameterError: the model cannot be exported to ONNX.
    """
    for module in model.modules():
        reason = REFUSED.get(type(module))
        if reason is not None:
            raise InvalidParameterError(f"This model cannot be exported to ONNX: {reason}")


class _Positional(nn.Module):
    """``model`` as a function of positional tensors returning a tuple: what ONNX names."""

    def __init__(self, model: MTLModel, keys: tuple[str, ...]) -> None:
        super().__init__()
        self.model = model
        self.keys = keys

    def forward(self, *tensors: Tensor) -> tuple[Tensor, ...]:
        out = self.model(dict(zip(self.keys, tensors, strict=True)))
        return tuple(out[t] for t in self.model.task_names)


def _axis_name(key: str) -> str:
    """The name of ``key``'s second axis: the pieces and the words of a column share theirs."""
    kind, _, column = key.partition(":")
    if kind in ("ids", "attn"):
        kind = "pieces"
    elif kind in ("first", "wmask"):
        kind = "words"
    return re.sub(r"\W", "_", f"{kind}_{column}")


def _dynamic_shapes(x: Mapping[str, Tensor]) -> tuple[dict[int, Any], ...]:
    """A dynamic batch axis for every input, and a dynamic second axis for the per-token ones
    (integer or bool ``[B, L]``: token ids, bags of words, masks, whose width each batch sets,
    as :meth:`EncodedTable.concat` pads them)."""
    batch = torch.export.Dim("batch")
    dims: dict[str, Any] = {}
    shapes: list[dict[int, Any]] = []
    for key, value in x.items():
        shape: dict[int, Any] = {0: batch}
        if value.dim() >= 2 and value.dtype in (torch.int64, torch.bool):
            name = _axis_name(key)
            shape[1] = dims.setdefault(name, torch.export.Dim(name))
        shapes.append(shape)
    return tuple(shapes)


def trim_batch(x: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Cut each text column's pieces (``ids:``/``attn:``) to the batch's longest real row, as
    the text encoders do inside the model; other inputs are returned as they are.

    Example:
        >>> x = {"ids:t": torch.tensor([[2, 5, 0], [2, 0, 0]]), "num": torch.zeros(2, 1)}
        >>> x["attn:t"] = x["ids:t"] > 0
        >>> {k: list(v.shape) for k, v in trim_batch(x).items()}
        {'ids:t': [2, 2], 'num': [2, 1], 'attn:t': [2, 2]}
    """
    out = dict(x)
    for key in x:
        if key.startswith("attn:"):
            column = key.partition(":")[2]
            out[f"ids:{column}"], out[key] = _text.trim(x[f"ids:{column}"], x[key])
    return out


def _untrimmed(ids: Tensor, attn: Tensor) -> tuple[Tensor, Tensor]:
    return ids, attn


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's progress prints and its optional-package notices (it logs that
    torchvision is not installed, which nothing here needs)."""
    names = ("torch.onnx", "torch.export", "onnxscript", "onnx_ir", "torch._dynamo", "torch.fx")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


@contextmanager
def _patched(owner: object, name: str, value: object) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


def export_graph(
    model: MTLModel, x: Mapping[str, Tensor], path: Path, *, fuse: bool = True
) -> None:
    """Write ``model`` (in eval mode, weights inside the file) as an ONNX graph at ``path``.

    Args:
        model: the network; it is put in eval mode (dropout off, as at prediction).
        x: an encoded batch of at least two rows, that fixes the input names and dtypes.
        path: the ``.onnx`` file to write.
        fuse: write each BERT-like ``pretrained`` encoder with onnxruntime's fused
            ``Attention``, ``SkipLayerNormalization`` and ``BiasGelu`` nodes
            (:mod:`manyheads.export._fuse`); False: the graph as traced (slower in
            onnxruntime; kept to measure the difference).

    Raises:
        ManyheadsError: the exporter failed (its first line, and what to do).
    """
    model.eval()
    keys = tuple(x)
    with ExitStack() as stack:
        stack.enter_context(_quiet_exporter())
        stack.enter_context(torch.no_grad())
        stack.enter_context(_patched(_text, "trim", _untrimmed))
        bert = stack.enter_context(bert_attention_for_export(model)) if fuse else []
        _trace(model, x, keys, path)
    fuse_bert_attention(path, bert)


def _trace(model: MTLModel, x: Mapping[str, Tensor], keys: tuple[str, ...], path: Path) -> None:
    """``torch.onnx.export`` (dynamo) of ``model`` on ``x`` with named inputs and outputs."""
    try:
        torch.onnx.export(
            _Positional(model, keys),
            tuple(x[k] for k in keys),
            str(path),
            input_names=[INPUT_PREFIX + k for k in keys],
            output_names=list(model.task_names),
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            dynamic_shapes=(_dynamic_shapes(x),),  # one entry: the *tensors tuple
            verbose=False,
        )
    except torch.onnx.OnnxExporterError as exc:
        raise ManyheadsError(_export_failure(model, exc)) from exc


def _export_failure(model: MTLModel, exc: Exception) -> str:
    """The exporter's own first line, and what to do: a model the registries build that
    fails here is a bug of ours (the contract battery exports every one)."""
    cause = exc.__cause__ or exc
    first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return (
        f"torch.onnx could not export this {type(model).__name__} model: {first} Predict with "
        "the eager engine, and report this with the run's model.json."
    )


def onnx_input(x: Mapping[str, Tensor]) -> dict[str, np.ndarray]:
    """The numpy feed of an encoded batch: one array per graph input."""
    return {INPUT_PREFIX + k: v.detach().cpu().numpy() for k, v in x.items()}


class _Arg(Protocol):
    name: str


class Session(Protocol):
    """What is used of an ``onnxruntime.InferenceSession`` (onnxruntime ships no types)."""

    def get_inputs(self) -> Sequence[_Arg]: ...

    def get_outputs(self) -> Sequence[_Arg]: ...

    def run(self, names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]: ...


def run_graph(
    session: Session, x: Mapping[str, Tensor], outputs: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Outputs ``{task: array}`` of an onnxruntime ``InferenceSession`` on an encoded batch.

    Inputs the graph does not read (the exporter drops unused ones) are not fed. ``outputs``
    (None: all) names the outputs to fetch. onnxruntime still runs every node of the graph
    (microsoft/onnxruntime#16483, #3128; measured in docs/benchmarks.md): to compute only some
    outputs, run a graph cut to them (:func:`~manyheads.export._cut.cut_session`).
    """
    wanted = {i.name for i in session.get_inputs()}
    feed = {k: v for k, v in onnx_input(x).items() if k in wanted}
    names = [o.name for o in session.get_outputs()] if outputs is None else list(outputs)
    return dict(zip(names, session.run(names, feed), strict=True))


def open_session(path: Path | bytes) -> Session:
    """An onnxruntime session on the CPU for the graph at ``path`` (or serialised in bytes)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    session: Session = onnxruntime.InferenceSession(
        path if isinstance(path, bytes) else str(path),
        options,
        providers=["CPUExecutionProvider"],
    )
    return session
