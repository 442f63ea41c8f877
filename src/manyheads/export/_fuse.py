"""Fused attention for BERT-like ``pretrained`` encoders in an exported ONNX graph.

Traced as it runs in PyTorch, a ``transformers`` BERT exports its attention as separate
nodes (``scaled_dot_product_attention`` spelt out as ``MatMul``, ``Softmax``, ``Where``,
``IsNaN``, ``Transpose`` ...) that onnxruntime runs one by one. onnxruntime's transformer
optimiser (``onnxruntime.transformers.optimizer.optimize_model``, ``model_type="bert"``) fuses
each layer into one ``Attention`` node, its GELUs into ``BiasGelu`` and its residual layer
norms into ``SkipLayerNormalization``, but only when the graph holds the classic BERT pattern:
``softmax(Q Kᵀ / √d + (1 - mask) · m)`` with the mask unsqueezed twice and cast. So, for the
export only (the eager model is never changed), :func:`bert_attention_for_export` makes each
BERT encoder trace that pattern, and :func:`fuse_bert_attention` runs the optimiser on the
written graph. The parity check of :func:`~manyheads.export.export_onnx` then compares the
fused graph with the unchanged eager model.

The optimiser runs offline (no network, no GPU, ``opt_level=0``: its Python fusions only), and
keeps the raw ``[B, S]`` attention mask (``AttentionMaskFormat.AttentionMask``) rather than
turning it into row lengths, so that the mask means what it means in PyTorch.
"""

from __future__ import annotations

import logging
import math
import types
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from manyheads.encoders._text import pool
from manyheads.encoders.pretrained import PretrainedTransformer

if TYPE_CHECKING:
    from onnx import ModelProto

__all__ = ["bert_attention_for_export", "bert_encoders", "fuse_bert_attention", "node_types"]

#: The ``attn_implementation`` name under which the export's attention is registered.
ATTENTION = "manyheads_onnx"

#: The domain of onnxruntime's fused operators (``Attention``, ``SkipLayerNormalization`` ...).
MS_DOMAIN = "com.microsoft"

#: The ``model_type`` values of the configs whose graphs the optimiser's BERT fusions know.
BERT_TYPES = ("bert",)


def bert_encoders(model: nn.Module) -> list[PretrainedTransformer]:
    """The ``pretrained`` encoders of ``model`` that hold a BERT (MiniLM is one)."""
    return [
        m
        for m in model.modules()
        if isinstance(m, PretrainedTransformer) and m.model.config.model_type in BERT_TYPES
    ]


def _attention(
    module: nn.Module,
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attention_mask: Tensor | None,
    scaling: float | None = None,  # the interface's; √d is spelt out below
    dropout: float = 0.0,  # the interface's; the export is in eval mode
    **kwargs: Any,  # noqa: ANN401 - transformers passes its own keyword arguments
) -> tuple[Tensor, Tensor]:
    """BERT's attention as the optimiser's fusion reads it: ``Q Kᵀ / √d`` (a ``Div``, which
    the ``Mul`` of the mask cannot be confused with), ``+ mask``, ``Softmax``, ``· V``."""
    scores = torch.matmul(query, key.transpose(2, 3)) / math.sqrt(query.shape[-1])  # [B,N,S,S]
    if attention_mask is not None:
        scores = scores + attention_mask
    probs = torch.softmax(scores, dim=-1)
    return torch.matmul(probs, value).transpose(1, 2).contiguous(), probs  # [B, S, N, D]


def _encode(self: PretrainedTransformer, ids: Tensor, attn: Tensor) -> tuple[Tensor, Tensor]:
    """:meth:`PretrainedTransformer.encode` with BERT's additive mask made here, in the form
    the optimiser recognises: ``(1 - float(attn[:, None, None, :])) · min`` ``[B, 1, 1, S]``
    (transformers passes a 4-d mask through as it is)."""
    wide = attn.unsqueeze(1).unsqueeze(2).to(torch.float32)
    mask = (1.0 - wide) * torch.finfo(torch.float32).min
    hidden: Tensor = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
    return pool(hidden, attn, self.pooling), hidden


@contextmanager
def bert_attention_for_export(model: nn.Module) -> Iterator[list[PretrainedTransformer]]:
    """While tracing, let each BERT encoder of ``model`` run the attention of :func:`_attention`
    with the mask of :func:`_encode`; both are restored on exit. Yields the encoders."""
    encoders = bert_encoders(model)
    if encoders:  # transformers (the 'text' extra) is there: a BERT was built with it
        from transformers import AttentionInterface

        AttentionInterface.register(ATTENTION, _attention)
    with ExitStack() as stack:
        for encoder in encoders:
            config = encoder.model.config
            stack.callback(setattr, config, "_attn_implementation", config._attn_implementation)
            config._attn_implementation = ATTENTION
            encoder.encode = types.MethodType(_encode, encoder)  # type: ignore[method-assign]
            stack.callback(delattr, encoder, "encode")
        yield encoders


def fuse_bert_attention(path: Path, encoders: list[PretrainedTransformer]) -> None:
    """Rewrite the graph at ``path`` with onnxruntime's BERT fusions (``Attention``,
    ``SkipLayerNormalization``, ``BiasGelu``) for ``encoders`` (nothing without any)."""
    if not encoders:
        return
    import onnx
    from onnxruntime.transformers.fusion_options import AttentionMaskFormat, FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    configs = {(e.model.config.num_attention_heads, e.model.config.hidden_size) for e in encoders}
    heads, hidden = configs.pop() if len(configs) == 1 else (0, 0)  # 0: read from the graph
    options = FusionOptions("bert")
    options.attention_mask_format = AttentionMaskFormat.AttentionMask
    options.enable_embed_layer_norm = False  # it expects BERT's own graph inputs
    graph = _split_mask_unsqueeze(onnx.load(str(path)))
    try:
        with _quiet_optimiser():
            fused = optimize_model(
                graph, "bert", heads, hidden, optimization_options=options, opt_level=0
            )
    except Exception as exc:  # a BERT variant the optimiser cannot read: keep the traced graph
        warnings.warn(
            f"onnxruntime's transformer optimiser failed on this encoder ({type(exc).__name__}: "
            f"{str(exc)[:200]}); the graph is written as traced, unfused (correct, slower).",
            stacklevel=2,
        )
        return
    model = fused.model
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):  # the checker wants it
        model.opset_import.append(onnx.helper.make_opsetid(MS_DOMAIN, 1))
    onnx.save(model, str(path))


def _split_mask_unsqueeze(model: ModelProto) -> ModelProto:
    """Split each ``Unsqueeze`` of an attention-mask input over two axes into two single-axis
    ones: the exporter merges ``attn.unsqueeze(1).unsqueeze(2)``, the fusion looks for two."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    constants = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    nodes = []
    for node in graph.node:
        axes = constants.get(node.input[1]) if len(node.input) > 1 else None
        if not (
            node.op_type == "Unsqueeze"
            and node.input[0].startswith("x.attn:")
            and axes is not None
            and axes.size == 2  # the two axes of [B, S] -> [B, 1, 1, S]
        ):
            nodes.append(node)
            continue
        first, second = (f"{node.name}_axis{k}" for k in (0, 1))
        graph.initializer.extend(
            helper.make_tensor(name, TensorProto.INT64, [1], [int(a)])
            for name, a in zip((first, second), sorted(axes.tolist()), strict=True)
        )
        middle = node.output[0] + "_once"
        nodes.append(
            helper.make_node("Unsqueeze", [node.input[0], first], [middle], node.name + "_once")
        )
        nodes.append(helper.make_node("Unsqueeze", [middle, second], list(node.output), node.name))
    del graph.node[:]
    graph.node.extend(nodes)
    return model


@contextmanager
def _quiet_optimiser() -> Iterator[None]:
    """The optimiser logs each fusion at INFO under its bare module names (``fusion_base``,
    ``onnx_model`` ...) and warns about shapes it cannot infer: silenced while it runs."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def node_types(path: Path) -> Counter[str]:
    """How many nodes of each operator type the ONNX graph at ``path`` holds."""
    import onnx

    return Counter(n.op_type for n in onnx.load(str(path)).graph.node)
