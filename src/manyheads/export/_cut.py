"""An ONNX graph cut to some of its outputs, so that onnxruntime computes only those heads."""

from __future__ import annotations

from collections.abc import Iterable, MutableSequence, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from manyheads.export._onnx import Session, open_session

if TYPE_CHECKING:
    from onnx import ModelProto, NodeProto

__all__ = ["cut_graph", "cut_session"]

T = TypeVar("T")


def cut_session(path: Path, outputs: Sequence[str]) -> Session:
    """A session on the graph at ``path`` cut to ``outputs`` and the nodes they depend on.

    onnxruntime runs the whole graph whatever a call fetches, and does not drop the nodes whose
    results no output reads either, so a graph with every task's head computes every head; the
    cut graph (:func:`cut_graph`) holds only the asked heads' nodes and weights.
    """
    import onnx

    return open_session(cut_graph(onnx.load(str(path)), outputs).SerializeToString())


def cut_graph(model: ModelProto, outputs: Sequence[str]) -> ModelProto:
    """A copy of the ONNX ``model`` with only ``outputs``, the nodes they depend on and the
    initializers and inputs those read.

    The nodes are kept in their (topological) order. A node with subgraphs (``Loop``, ``If``:
    an ``EmbeddingBag`` exports as a ``Loop``) depends on every name its subgraphs read, which
    ``onnx.utils.Extractor`` misses (it cuts the outer values a ``Loop`` body reads).
    """
    import onnx

    graph = model.graph
    needed = set(outputs)
    kept = []
    for node in reversed(graph.node):
        if any(name in needed for name in node.output):
            kept.append(node)
            needed |= _names_read(node)
    cut = onnx.ModelProto()
    cut.CopyFrom(model)
    _replace(cut.graph.node, reversed(kept))
    _replace(cut.graph.output, [o for o in graph.output if o.name in outputs])
    _replace(cut.graph.input, [i for i in graph.input if i.name in needed])
    _replace(cut.graph.initializer, [i for i in graph.initializer if i.name in needed])
    _replace(cut.graph.value_info, [v for v in graph.value_info if v.name in needed])
    return cut


def _names_read(node: NodeProto) -> set[str]:
    """The names ``node`` reads: its inputs and, recursively, those of its subgraphs."""
    names = {name for name in node.input if name}
    for attribute in node.attribute:
        subgraphs = [attribute.g] if attribute.HasField("g") else []
        for subgraph in [*subgraphs, *attribute.graphs]:
            for inner in subgraph.node:
                names |= _names_read(inner)
    return names


def _replace(field: MutableSequence[T], items: Iterable[T]) -> None:
    """Replace the items of a repeated protobuf field."""
    kept = list(items)
    del field[:]
    field.extend(kept)
