"""Every use of torch's private autograd internals in manyheads, behind one small surface.

The Jacobian-free paths of :mod:`manyheads.engine.backward` need, for each shared
``nn.Linear``, the gradient at its output ``δ`` and its saved input ``a`` (then
``∂L/∂W = δᵀ a``). Torch has no public API that finds these layers in a graph or gives
their saved input, so this module reads the autograd graph, and nothing else in the package
does:

* the grad_fn class names ``AddmmBackward0`` (``F.linear`` with a 2-D input), ``TBackward0``
  (the weight's transpose), ``ToCopyBackward0`` (autocast's weight casts) and
  ``AccumulateGrad`` (a leaf, whose ``variable`` is the parameter);
* the saved attributes ``_saved_mat1`` (the input ``a``), ``_saved_alpha`` and ``_saved_beta``
  of ``AddmmBackward0``;
* the layout of ``next_functions`` of ``AddmmBackward0``: ``(bias, input, weightᵀ)``.

The names are the module constants below. A torch release that renames or drops one of them
does not break a result: the layer is then not recognised and its rows come from the generic
(slower) batched backward. That fallback is not silent: :func:`shared_linear_layers` checks
the internals once per process on a two-by-two layer (:func:`missing_internal`) and warns,
naming the torch version and the internal, when they have changed.
``tests/unit/engine/test_autograd_internals.py`` fails on such a torch.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.autograd.graph import GradientEdge, Node

__all__ = ["SharedLinear", "missing_internal", "shared_linear_layers"]

#: grad_fn of ``F.linear`` on a 2-D input: ``bias + input @ weightᵀ``.
ADDMM = "AddmmBackward0"
#: grad_fn of the weight's transpose inside ``F.linear``.
TRANSPOSE = "TBackward0"
#: grad_fn of a dtype cast (autocast casts the weight and bias to bfloat16 / float16).
CAST = "ToCopyBackward0"
#: grad_fn of a leaf tensor, and its attribute holding the parameter.
LEAF = "AccumulateGrad"
LEAF_VARIABLE = "variable"
#: attribute of ``AddmmBackward0`` holding the layer input ``a`` [B, in].
SAVED_INPUT = "_saved_mat1"
#: attributes of ``AddmmBackward0`` holding the scalars of ``beta·bias + alpha·(a @ Wᵀ)``.
SAVED_ALPHA = "_saved_alpha"
SAVED_BETA = "_saved_beta"


@dataclass(frozen=True)
class SharedLinear:
    """A shared linear layer found in the graph: ``out = a @ weightᵀ + bias``.

    Attributes:
        node: its ``AddmmBackward0`` node.
        weight: the weight parameter ``[out, in]``.
        bias: the bias parameter ``[out]``.
    """

    node: Node
    weight: Tensor
    bias: Tensor

    def output_edge(self) -> GradientEdge:
        """The edge at the layer output: ``torch.autograd.grad`` w.r.t. it gives ``δ``."""
        return GradientEdge(self.node, 0)

    def saved_input(self) -> Tensor:
        """The layer input ``a`` [B, in] that autograd saved (bfloat16 under autocast)."""
        saved: Tensor = getattr(self.node, SAVED_INPUT)
        return saved


def _name(node: Node | None) -> str:
    return type(node).__name__


def _parameter(node: Node | None, parents: dict[Node, int]) -> Tensor | None:
    """The parameter whose ``AccumulateGrad`` node is ``node``, seen through one dtype cast
    (autocast's weight casts), if every node on the way is used once in the graph; else None."""
    if node is None:
        return None
    chain = [node]
    if _name(node) == CAST:
        leaf = node.next_functions[0][0]
        if leaf is None:
            return None
        chain.append(leaf)
    if _name(chain[-1]) != LEAF or any(parents.get(n, 0) != 1 for n in chain):
        return None
    variable: Tensor | None = getattr(chain[-1], LEAF_VARIABLE, None)
    return variable


def _weight_transpose(node: Node) -> Node | None:
    """The ``TBackward0`` input of an ``AddmmBackward0`` node with ``alpha = beta = 1`` and a
    saved input (what ``F.linear`` builds); None for any other node."""
    if _name(node) != ADDMM:
        return None
    transpose = node.next_functions[2][0]
    if transpose is None or _name(transpose) != TRANSPOSE:
        return None
    plain = getattr(node, SAVED_ALPHA, 1) == 1 == getattr(node, SAVED_BETA, 1)
    return transpose if plain and getattr(node, SAVED_INPUT, None) is not None else None


def _walk(root: Node) -> tuple[list[tuple[Node, Node]], dict[Node, int]]:
    """The ``(addmm, transpose)`` nodes below ``root`` and how many edges lead to each node."""
    parents: dict[Node, int] = {}
    seen: set[Node] = set()
    stack: list[Node] = [root]
    found: list[tuple[Node, Node]] = []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        transpose = _weight_transpose(node)
        if transpose is not None:
            found.append((node, transpose))
        for child, _ in node.next_functions:
            if child is not None:
                parents[child] = parents.get(child, 0) + 1
                stack.append(child)
    return found, parents


def _find_linears(root: Node, params: Sequence[Tensor]) -> list[SharedLinear]:
    wanted = {id(p) for p in params}
    found, parents = _walk(root)
    out: list[SharedLinear] = []
    for node, transpose in found:
        if parents[transpose] != 1:
            continue
        weight = _parameter(transpose.next_functions[0][0], parents)
        bias = _parameter(node.next_functions[0][0], parents)
        if weight is not None and bias is not None and {id(weight), id(bias)} <= wanted:
            out.append(SharedLinear(node, weight, bias))
    return out


def shared_linear_layers(root: Node, params: list[nn.Parameter]) -> list[SharedLinear]:
    """Each linear layer below ``root`` whose weight and bias are in ``params``, used once.

    The first call checks the internals this relies on (:func:`missing_internal`) and warns
    once per process when a torch release has changed them (every layer then takes the generic
    path: the same result, slower).

    Args:
        root: the ``grad_fn`` of the stacked task losses.
        params: the shared parameters.

    Returns:
        The layers in graph order; a layer whose output or parameters feed the graph more than
        once (weight tying, a layer applied twice) is left out.

    Example:
        >>> layer = nn.Linear(3, 2)
        >>> out = layer(torch.ones(4, 3)).sum()
        >>> found = shared_linear_layers(out.grad_fn, list(layer.parameters()))
        >>> [tuple(s.weight.shape) for s in found]
        [(2, 3)]
    """
    _check_once()
    return _find_linears(root, params)


def _probe(dtype: torch.dtype) -> str | None:
    """Build ``F.linear`` on a 2x2 layer (cast to ``dtype`` as autocast does) and check it."""
    weight = torch.zeros(2, 2, requires_grad=True)
    bias = torch.zeros(2, requires_grad=True)
    x = torch.ones(3, 2, dtype=dtype)
    with torch.enable_grad(), torch.autocast("cpu", enabled=False):
        out = torch.nn.functional.linear(x, weight.to(dtype), bias.to(dtype))
    node = out.grad_fn
    if node is None or _name(node) != ADDMM:
        return f"F.linear's grad_fn is {_name(node)}, not {ADDMM}"
    for attribute in (SAVED_INPUT, SAVED_ALPHA, SAVED_BETA):
        if not hasattr(node, attribute):
            return f"{ADDMM} has no attribute {attribute!r}"
    names = [_name(edge[0]) for edge in node.next_functions]
    expected = [CAST if dtype != torch.float32 else LEAF, "NoneType", TRANSPOSE]
    if names != expected:
        return f"{ADDMM}.next_functions are {names}, not {expected}"
    found = _find_linears(node, [weight, bias])
    if len(found) != 1 or found[0].weight is not weight or found[0].bias is not bias:
        return f"the graph walk finds no {dtype} layer through {LEAF}.{LEAF_VARIABLE}"
    return None


def missing_internal() -> str | None:
    """What changed in torch's autograd internals that manyheads relies on, or None.

    Returns:
        None when a float32 and a bfloat16-cast ``F.linear`` are both recognised (their
        Jacobian rows can be computed without weight gradients); else a description of the
        first internal that is missing or different.

    Example:
        >>> missing_internal() is None
        True
    """
    for dtype in (torch.float32, torch.bfloat16):
        problem = _probe(dtype)
        if problem is not None:
            return problem
    return None


@functools.cache
def _check_once() -> None:
    problem = missing_internal()
    if problem is not None:
        warnings.warn(
            f"manyheads relies on torch autograd internals that torch {torch.__version__} "
            f"does not have as expected: {problem}. Shared linear layers now take the "
            "generic per-task backward (same results, slower and more memory). Use the torch "
            "version manyheads is tested with, or report this at the manyheads issue tracker.",
            RuntimeWarning,
            stacklevel=3,
        )
