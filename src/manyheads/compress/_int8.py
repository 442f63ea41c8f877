"""The int8 graph itself: which nodes onnxruntime's dynamic quantiser takes, how sensitive each
one is, and the quantisation with the nodes kept in float32.

onnxruntime's dynamic quantiser (``quantize_dynamic``) stores the weights of ``MatMul``,
``Attention``, ``Gather`` (embeddings), ``Conv``, ``LSTM`` ... as int8 and quantises their
input activations per batch at run time (uint8, one scale per tensor). ``Gemm`` is not in its
dynamic registry, so the ``nn.Linear`` layers the exporter writes as ``Gemm`` (in the MiniLM
reviews model: every tower and head) stay in float32; those written as ``MatMul`` are quantised.

Not every node loses the same: a node whose input activations have a wide range (in a
transformer, the second layer of each feed-forward block reads the GELU outputs) loses far more
to one uint8 scale per batch than the others. :func:`sensitivities` measures each node alone:
the graph with only that node in int8, run on a few of the run's validation rows (never test),
against the float32 graph, the error of every task's output scaled by that output's spread.
:func:`quantize_graph` then keeps the ``keep`` worst in float32 (``quantize --keep-fp32``).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import Tensor

from manyheads.errors import InvalidParameterError

__all__ = [
    "Int8Settings",
    "check_exclude",
    "check_op_types",
    "output_error",
    "quantizable_nodes",
    "quantize_graph",
    "sensitivities",
]


def _registry() -> list[str]:
    from onnxruntime.quantization.registry import IntegerOpsRegistry

    return sorted(IntegerOpsRegistry)


@dataclass(frozen=True)
class Int8Settings:
    """How the weights are quantised.

    Attributes:
        per_channel: one int8 scale per output channel of each weight (else one per tensor).
        reduce_range: 7-bit weights (the quantiser's ``reduce_range``: no overflow in the
            int16 accumulation of older x86 instructions, at the cost of precision).
        op_types: the ONNX operators to quantise (None: every one of the dynamic registry).
        exclude: names of nodes kept in float32.
    """

    per_channel: bool = False
    reduce_range: bool = False
    op_types: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()


def check_op_types(op_types: Sequence[str] | None) -> tuple[str, ...] | None:
    """The operators to quantise, each one the dynamic quantiser knows.

    Raises:
        InvalidParameterError: an empty list or an operator it does not quantise.
    """
    if op_types is None:
        return None
    known = _registry()
    ops = tuple(op_types)
    unknown = [op for op in ops if op not in known]
    if not ops or unknown:
        got = f"unknown {', '.join(map(repr, unknown))}" if unknown else "an empty list"
        raise InvalidParameterError(
            "The 'op_types' parameter of quantize must name ONNX operators that onnxruntime's "
            f"dynamic quantiser takes ({', '.join(known)}; case matters). Got {got} instead."
        )
    return ops


def quantizable_nodes(graph: Path, op_types: Sequence[str] | None = None) -> list[str]:
    """The names of the nodes of ``graph`` that the quantiser would quantise (a weight from the
    graph's initialisers, an operator of its registry or of ``op_types``), in graph order."""
    import onnx

    model = onnx.load(str(graph), load_external_data=False)
    weights = {i.name for i in model.graph.initializer}
    ops = set(op_types) if op_types is not None else set(_registry())
    return [
        n.name
        for n in model.graph.node
        if n.op_type in ops and any(name in weights for name in n.input)
    ]


@contextmanager
def _quiet_quantiser() -> Iterator[None]:
    # The quantiser logs, on the root logger, advice to run its pre-processing first; that
    # pre-processing (symbolic shape inference) fails on the dynamo exporter's graphs, so the
    # graph is quantised as exported and the advice is not printed to every user.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def quantize_graph(
    fp32: Path, int8: Path, settings: Int8Settings, *, only: Sequence[str] | None = None
) -> None:
    """Write the int8 graph of ``fp32`` to ``int8`` (``only``: quantise just these nodes)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_quantiser():
        quantize_dynamic(
            fp32,
            int8,
            op_types_to_quantize=list(settings.op_types) if settings.op_types else None,
            per_channel=settings.per_channel,
            reduce_range=settings.reduce_range,
            weight_type=QuantType.QInt8,
            nodes_to_quantize=list(only) if only is not None else None,
            nodes_to_exclude=list(settings.exclude),
        )


def check_exclude(exclude: Sequence[str], nodes: Sequence[str]) -> tuple[str, ...]:
    """``exclude`` names nodes the quantiser would quantise.

    Raises:
        InvalidParameterError: naming the unknown nodes and the quantisable ones.

    Example:
        >>> check_exclude(["b"], ["a", "b"])
        ('b',)
    """
    unknown = [name for name in exclude if name not in nodes]
    if unknown:
        listed = ", ".join(nodes[:12]) + (" ..." if len(nodes) > 12 else "")
        raise InvalidParameterError(
            f"The 'exclude' parameter of quantize names node(s) {', '.join(unknown)}, which "
            f"the quantiser would not quantise in this run's graph. Its quantisable nodes: "
            f"{listed or 'none'}."
        )
    return tuple(exclude)


def output_error(reference: Mapping[str, np.ndarray], other: Mapping[str, np.ndarray]) -> float:
    """The mean absolute difference of each output, over the spread of its reference values,
    summed over the outputs.

    Example:
        >>> ref = {"y": np.array([0.0, 2.0])}
        >>> round(output_error(ref, {"y": np.array([0.5, 2.5])}), 6)
        0.5
    """
    total = 0.0
    for name, ref in reference.items():
        diff = np.abs(np.asarray(other[name], np.float64) - np.asarray(ref, np.float64)).mean()
        total += float(diff / (np.asarray(ref, np.float64).std() + 1e-12))
    return total


def sensitivities(
    fp32: Path,
    batches: Sequence[Mapping[str, Tensor]],
    settings: Int8Settings,
    nodes: Sequence[str],
) -> dict[str, float]:
    """Per node of ``nodes``: :func:`output_error` of the graph with only that node in int8
    against the float32 graph, on the encoded ``batches`` (the run's validation rows)."""
    from manyheads.export._onnx import open_session, run_graph

    reference = open_session(fp32)
    expected = [run_graph(reference, x) for x in batches]
    out = {}
    with tempfile.TemporaryDirectory(prefix="manyheads-sensitivity-") as tmp:
        one = Path(tmp) / "one.onnx"
        for name in nodes:
            quantize_graph(fp32, one, settings, only=[name])
            session = open_session(one)
            errors = [
                output_error(e, run_graph(session, x))
                for e, x in zip(expected, batches, strict=True)
            ]
            out[name] = float(np.mean(errors))
    return out
