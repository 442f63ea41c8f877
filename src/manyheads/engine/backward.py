"""One backward pass with a balancing method: loss weighting or gradient aggregation.

* A :class:`~manyheads.weighting.Weighting` gives weights ``w`` and we minimise
  ``Σ_t w_t L_t + extra + penalty`` with one ordinary backward pass. A
  :class:`~manyheads.weighting.GradientNormWeighting` (GradNorm) first receives the norms
  ``||∇_W L_t||`` at the last shared layer ``W`` (one vectorised backward over a short graph).
* An :class:`~manyheads.aggregation.Aggregator` needs the per-task gradients of the shared
  parameters: one vectorised vector-Jacobian product (``is_grads_batched=True``: the T rows of the
  identity as batched grad outputs, no host copies), the aggregated update written to ``.grad``,
  and one more backward of ``Σ_t L_t + penalty`` restricted to the task-specific parameters.
* A :class:`~manyheads.aggregation.GramianAggregator` needs only ``G = J Jᵀ``. Its Gramian is
  computed without materialising ``J`` (:func:`shared_gramian`, the idea of TorchJD's autogram):
  for every shared ``nn.Linear`` the per-task gradients at its output ``δ_t`` [B, out] and its
  saved input ``a`` [B, in] give ``⟨δ_tᵀa, δ_sᵀa⟩ = ⟨a aᵀ δ_t, δ_s⟩``, so the vectorised backward
  propagates only activation gradients (no ``[T, out, in]`` weight gradients); other shared
  parameters (embeddings, normalisations) add their small Jacobian's ``J Jᵀ``. The update
  ``Jᵀ w`` is then one ordinary backward of ``Σ_t w_t L_t`` restricted to the shared parameters.
* With ``method.rep_grad`` the Jacobian is taken at the shared features instead (``[T, B·D]``,
  through the heads only); the aggregated feature gradient is then backpropagated once through
  the shared trunk. Shared parameters that the features do not depend on (cross-stitch units)
  get the plain summed gradient in that mode.
* An architecture without shared parameters (``stl``, ``soft_sharing``) has nothing to
  aggregate: every task trains on its own gradient.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn
from torch.autograd.graph import GradientEdge, Node

from manyheads.aggregation.base import (
    Aggregator,
    ColumnwiseAggregator,
    GramianAggregator,
    JacobianTarget,
    RunningJacobianAggregator,
    blend_into,
)
from manyheads.architectures.base import Features, MTLModel
from manyheads.errors import InvalidParameterError
from manyheads.weighting._gradient import GradientNormWeighting
from manyheads.weighting.base import Weighting

__all__ = [
    "BLOCK_ELEMENTS",
    "backward",
    "columnwise_update",
    "feature_jacobian",
    "last_shared_layer",
    "shared_gramian",
    "shared_jacobian",
    "write_jacobian",
]


def _batched_grads(losses: Tensor, inputs: list[Tensor]) -> list[Tensor]:
    """``[T, *shape]`` gradients of every loss w.r.t. each input (zeros where unused)."""
    n_tasks = losses.shape[0]
    eye = torch.eye(n_tasks, dtype=losses.dtype, device=losses.device)
    grads = torch.autograd.grad(
        losses,
        inputs,
        grad_outputs=eye,
        is_grads_batched=True,
        retain_graph=True,
        allow_unused=True,
    )
    return [
        g if g is not None else x.new_zeros((n_tasks, *x.shape))
        for g, x in zip(grads, inputs, strict=True)
    ]


#: Elements of one ``[T, n]`` column block of the Jacobian (4 MB in float32): a block is
#: written and consumed while it is in cache, so a fused method never re-reads ``[T, P]``.
BLOCK_ELEMENTS = 1 << 20


@dataclass(frozen=True)
class _Block:
    """Columns ``start .. stop`` of the Jacobian: ``δᵀa`` rows of a linear weight, or dense."""

    start: int
    stop: int
    delta: Tensor | None = None  # [T, B, r]: rows r of a linear layer's weight, with `inputs`
    inputs: Tensor | None = None  # [B, in]
    dense: Tensor | None = None  # [T, n]; None with no delta: zeros (no gradient this step)


def _jacobian_blocks(losses: Tensor, params: list[nn.Parameter]) -> tuple[int, list[_Block]]:
    """The number of columns ``P`` and blocks that cover each of them exactly once."""
    n_tasks, budget = losses.shape[0], BLOCK_ELEMENTS
    linear, deltas, rest = _task_deltas(losses, params)
    offsets, total = {}, 0
    for p in params:
        offsets[id(p)] = total
        total += p.numel()
    blocks: list[_Block] = []
    written: set[int] = set()
    for (node, weight, bias), delta in zip(linear, deltas, strict=True):
        if delta is None:
            continue
        a = node._saved_mat1  # [B, in]
        rows, width = weight.shape
        step = max(1, budget // (n_tasks * width))
        start = offsets[id(weight)]
        for r in range(0, rows, step):
            stop = min(rows, r + step)
            blocks.append(_Block(start + r * width, start + stop * width, delta[:, :, r:stop], a))
        start = offsets[id(bias)]
        bias_rows = delta.sum(dim=1, dtype=losses.dtype)  # [T, out]
        blocks.append(_Block(start, start + bias.numel(), dense=bias_rows))
        written.update((id(weight), id(bias)))
    for param, grad in rest:
        start = offsets[id(param)]
        dense = grad.reshape(n_tasks, -1).to(losses.dtype)
        blocks.append(_Block(start, start + param.numel(), dense=dense))
        written.add(id(param))
    for param in params:  # unused this step: zero columns
        if id(param) not in written:
            blocks.append(_Block(offsets[id(param)], offsets[id(param)] + param.numel()))
    return total, blocks


def _write_block(block: _Block, target: JacobianTarget, scaled: bool) -> None:
    """``target.buffer`` (the block's ``[T, n]`` columns) ``← keep · buffer + scale · J``."""
    dst = target.buffer
    if block.delta is not None and block.inputs is not None:
        n_tasks, batch, rows = block.delta.shape
        delta = block.delta.to(dst.dtype)  # bf16 under autocast: the Jacobian is float32
        delta = delta * target.scale.view(-1, 1, 1) if scaled else delta
        a = block.inputs.to(dst.dtype)
        # [T, r, in] (+)= δᵀ a for every task in one batched GEMM; beta 0 ignores the old content
        dst.view(n_tasks, rows, a.shape[1]).baddbmm_(
            delta.transpose(1, 2), a.expand(n_tasks, batch, a.shape[1]), beta=target.keep
        )
    elif block.dense is not None:
        blend_into(target, block.dense)
    elif target.keep == 0.0:
        dst.zero_()
    else:
        dst.mul_(target.keep)


def write_jacobian(losses: Tensor, params: list[nn.Parameter], target: JacobianTarget) -> None:
    """Write the per-task gradients of ``params`` into ``target`` [T, P] as it asks.

    ``target.buffer ← keep · buffer + scale[:, None] · J``, one column block at a time, the
    blend done by the matrix products that compute ``J`` (``baddbmm`` with ``beta = keep``);
    ``target.visit`` sees each block right after it is written.

    Example:
        >>> w = nn.Parameter(torch.tensor([1.0, 2.0]))
        >>> losses = torch.stack([w[0] * 3, (w ** 2).sum()])
        >>> y = torch.ones(2, 2)
        >>> write_jacobian(losses, [w], JacobianTarget(y, 0.5, torch.tensor([1.0, 0.5])))
        >>> y
        tensor([[3.5000, 0.5000],
                [1.5000, 2.5000]])
    """
    n_tasks = losses.shape[0]
    total, blocks = _jacobian_blocks(losses, params)
    if target.buffer.shape != (n_tasks, total) or target.buffer.dtype != losses.dtype:
        raise ValueError(f"the target must be a [{n_tasks}, {total}] {losses.dtype} tensor")
    scaled = not bool((target.scale == 1.0).all())
    with torch.no_grad():
        for block in blocks:
            view = replace(target, buffer=target.buffer[:, block.start : block.stop])
            _write_block(block, view, scaled)
            if target.visit is not None:
                target.visit(view.buffer, block.start)


def shared_jacobian(
    losses: Tensor, params: list[nn.Parameter], *, out: Tensor | None = None
) -> Tensor:
    """Per-task gradients of ``losses`` [T] w.r.t. ``params``, flattened: ``[T, P]``.

    Shared linear layers get their rows from one vectorised backward of activation gradients
    ``δ_t`` and ``δ_tᵀ a`` (batched matmuls per layer) instead of a vmapped weight gradient.
    ``out`` ([T, P], same dtype and device) receives the result instead of a fresh tensor: every
    entry is overwritten, with zeros where a parameter gets no gradient.

    Example:
        >>> w = nn.Parameter(torch.tensor([1.0, 2.0]))
        >>> shared_jacobian(torch.stack([w[0] * 3, (w ** 2).sum()]), [w])
        tensor([[3., 0.],
                [2., 4.]])
    """
    n_tasks = losses.shape[0]
    if out is None:
        out = losses.new_empty(n_tasks, sum(p.numel() for p in params))
    write_jacobian(losses, params, JacobianTarget(out, 0.0, losses.new_ones(n_tasks)))
    return out


def columnwise_update(
    losses: Tensor, params: list[nn.Parameter], method: ColumnwiseAggregator
) -> Tensor:
    """The update ``[P]`` of a column-wise method, the Jacobian streamed in column blocks.

    No ``[T, P]`` matrix exists: each block of ``δᵀa`` rows is computed into one scratch block
    that stays in cache and handed to ``method.combine``.
    """
    n_tasks = losses.shape[0]
    total, blocks = _jacobian_blocks(losses, params)
    update = losses.new_empty(total)
    width = max((b.stop - b.start for b in blocks if b.delta is not None), default=0)
    scratch = losses.new_empty(n_tasks * width)
    ones = losses.new_ones(n_tasks)
    method.begin(total, losses)
    with torch.no_grad():
        for block in blocks:
            n = block.stop - block.start
            if block.delta is not None:
                columns = scratch[: n_tasks * n].view(n_tasks, n)
                _write_block(block, JacobianTarget(columns, 0.0, ones), False)
            elif block.dense is not None:
                columns = block.dense
            else:
                columns = losses.new_zeros(n_tasks, n)
            method.combine(columns, block.start, update[block.start : block.stop])
    return update


def _parameter_leaf(node: Any, parents: dict[Any, int]) -> Any:
    """The ``AccumulateGrad`` node of a parameter behind ``node``, seen through one dtype cast
    (autocast's weight casts), if every node on the way is used once in the graph; else None."""
    chain = [node]
    if node is not None and type(node).__name__ == "ToCopyBackward0":
        chain.append(node.next_functions[0][0])
    leaf = chain[-1]
    if leaf is None or type(leaf).__name__ != "AccumulateGrad":
        return None
    return leaf if all(parents.get(n, 0) == 1 for n in chain) else None


def _linear_nodes(root: Node, params: list[nn.Parameter]) -> list[tuple[Any, Tensor, Tensor]]:
    """``(addmm node, weight, bias)`` of each shared linear layer used once in the graph."""
    wanted = {id(p) for p in params}
    parents: dict[Any, int] = {}
    seen: set[Any] = set()
    stack: list[Any] = [root]
    found: list[Any] = []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if type(node).__name__ == "AddmmBackward0":
            bias_edge, _, transpose = (edge[0] for edge in node.next_functions)
            if (
                transpose is not None
                and type(transpose).__name__ == "TBackward0"
                and getattr(node, "_saved_alpha", 1) == 1 == getattr(node, "_saved_beta", 1)
                and getattr(node, "_saved_mat1", None) is not None
            ):
                found.append(node)
        for child, _ in node.next_functions:
            if child is not None:
                parents[child] = parents.get(child, 0) + 1
                stack.append(child)
    out: list[tuple[Any, Tensor, Tensor]] = []
    for node in found:
        bias_edge, _, transpose = (edge[0] for edge in node.next_functions)
        if parents[transpose] != 1:
            continue
        weight = _parameter_leaf(transpose.next_functions[0][0], parents)
        bias = _parameter_leaf(bias_edge, parents)
        if (
            weight is not None
            and bias is not None
            and id(weight.variable) in wanted
            and id(bias.variable) in wanted
        ):
            out.append((node, weight.variable, bias.variable))
    return out


def _task_deltas(
    losses: Tensor, params: list[nn.Parameter]
) -> tuple[list[tuple[Any, Tensor, Tensor]], list[Tensor | None], list[tuple[Tensor, Tensor]]]:
    """One vectorised backward: ``δ_t`` at each shared linear layer, gradients of the others."""
    if losses.grad_fn is None:
        return [], [], []
    linear = _linear_nodes(losses.grad_fn, params)
    covered = {id(t) for _, w, b in linear for t in (w, b)}
    rest = [p for p in params if id(p) not in covered]
    edges: list[Any] = [GradientEdge(node, 0) for node, _, _ in linear]
    eye = torch.eye(losses.shape[0], dtype=losses.dtype, device=losses.device)
    grads = torch.autograd.grad(
        losses,
        [*edges, *rest],
        grad_outputs=eye,
        is_grads_batched=True,
        retain_graph=True,
        allow_unused=True,
    )
    others: list[tuple[Tensor, Tensor]] = [
        (p, g) for p, g in zip(rest, grads[len(linear) :], strict=True) if g is not None
    ]
    return linear, list(grads[: len(linear)]), others


def shared_gramian(losses: Tensor, params: list[nn.Parameter]) -> Tensor:
    """The Gramian ``J Jᵀ`` [T, T] of the per-task gradients w.r.t. ``params``, without ``J``.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> layer = nn.Linear(3, 2)
        >>> out = layer(torch.randn(5, 3))
        >>> losses = torch.stack([out[:, 0].pow(2).mean(), out[:, 1].mean()])
        >>> jac = shared_jacobian(losses, list(layer.parameters()))
        >>> torch.allclose(shared_gramian(losses, list(layer.parameters())), jac @ jac.T)
        True
    """
    n_tasks = losses.shape[0]
    linear, deltas, rest = _task_deltas(losses, params)
    gramian = losses.new_zeros(n_tasks, n_tasks)
    with torch.no_grad():
        for (node, _, _), delta in zip(linear, deltas, strict=True):
            if delta is None:
                continue
            a = node._saved_mat1.to(losses.dtype)  # [B, in] (bf16 under autocast)
            delta = delta.to(losses.dtype)
            mixed = torch.einsum("bc,tco->tbo", a @ a.T, delta)  # [T, B, out]
            gramian += torch.einsum("tbo,sbo->ts", mixed, delta)  # weight part
            bias = delta.sum(dim=1)  # [T, out]
            gramian += bias @ bias.T
        for _, grad in rest:
            flat = grad.reshape(n_tasks, -1).to(losses.dtype)
            gramian += flat @ flat.T
    return gramian


def feature_jacobian(losses: Tensor, features: list[Tensor]) -> Tensor:
    """Per-task gradients of ``losses`` [T] w.r.t. the features, flattened: ``[T, B·D]``.

    Example:
        >>> z = torch.tensor([[1.0, 2.0]], requires_grad=True)
        >>> feature_jacobian(torch.stack([z.sum(), (z ** 2).sum()]), [z])
        tensor([[1., 1.],
                [2., 4.]])
    """
    n_tasks = losses.shape[0]
    grads = _batched_grads(losses, features)  # bf16 features under autocast: aggregate in float
    return torch.cat([g.reshape(n_tasks, -1).to(losses.dtype) for g in grads], 1)


def last_shared_layer(params: list[nn.Parameter]) -> list[nn.Parameter]:
    """The last shared weight matrix and the parameters declared after it (its bias).

    Example:
        >>> layer = nn.Linear(2, 3)
        >>> [tuple(p.shape) for p in last_shared_layer(list(layer.parameters()))]
        [(3, 2), (3,)]
    """
    matrices = [i for i, p in enumerate(params) if p.ndim >= 2]
    return params[matrices[-1] :] if matrices else params[-1:]


def _features(features: Features | None) -> list[Tensor]:
    if features is None:
        return []
    items = [features] if isinstance(features, Tensor) else list(features)
    return [f for f in items if f.requires_grad]


def _write_grads(params: list[nn.Parameter], update: Tensor, *, owned: bool = False) -> None:
    """Add ``update`` [P] to the ``.grad`` of ``params``; ``owned``: no one else holds
    ``update``, so an empty ``.grad`` may become a view of it instead of a copy."""
    offset = 0
    for p in params:
        n = p.numel()
        piece = update[offset : offset + n].view_as(p)
        if p.grad is None:
            p.grad = piece if owned else piece.clone()
        else:
            p.grad = p.grad + piece
        offset += n


def _weighting_backward(
    losses: Tensor,
    model: MTLModel,
    method: Weighting,
    features: Features | None,
    penalty: Tensor | None,
) -> Tensor:
    if isinstance(method, GradientNormWeighting):
        shared = [p for p in model.shared_parameters() if p.requires_grad]
        if shared:  # ||∇_W L_t||² is the diagonal of the last layer's Gramian
            norms = shared_gramian(losses, last_shared_layer(shared)).diagonal().clamp(min=0).sqrt()
        else:
            feats = _features(features)
            if not feats:  # e.g. a frozen encoder straight into the heads
                raise InvalidParameterError(
                    f"GradNorm needs the gradients of trainable shared parameters or features, "
                    f"and {type(model).__name__} has none (a frozen encoder with no trainable "
                    "shared layer?). Add shared layers (e.g. hidden: [256]), unfreeze the "
                    "encoder, or choose another weighting."
                )
            grads = _batched_grads(losses, feats)
            flat = [g.reshape(losses.shape[0], -1).to(losses.dtype) for g in grads]
            norms = torch.cat(flat, 1).norm(dim=1)
        method.observe_grad_norms(losses.detach(), norms.detach())
    weights = method(losses)
    objective = (weights * losses).sum()
    extra = method.extra_loss()
    if extra is not None:
        objective = objective + extra
    if penalty is not None:
        objective = objective + penalty
    torch.autograd.backward(objective)
    return weights.detach()


def _task_backward(
    losses: Tensor, model: MTLModel, penalty: Tensor | None, *, retain_graph: bool
) -> None:
    params = [p for t in model.task_names for p in model.task_parameters(t) if p.requires_grad]
    objective = losses.sum() if penalty is None else losses.sum() + penalty
    if params:
        torch.autograd.backward(objective, inputs=params, retain_graph=retain_graph)


def _rep_backward(
    losses: Tensor,
    model: MTLModel,
    method: Aggregator,
    shared: list[nn.Parameter],
    features: Features | None,
) -> None:
    feats = _features(features)
    if not feats:
        raise InvalidParameterError(
            f"rep_grad=True needs the shared features of the step, but {type(model).__name__} "
            "gave none that require a gradient. Remove the 'rep_grad' option."
        )
    update = method.aggregate_features(feature_jacobian(losses, feats), feats)
    pieces, offset = [], 0
    for f in feats:
        pieces.append(update[offset : offset + f.numel()].view_as(f).to(f.dtype))
        offset += f.numel()
    missing = [p for p in shared if p.grad is None]
    torch.autograd.backward(feats, grad_tensors=pieces, inputs=shared, retain_graph=True)
    downstream = [p for p in missing if p.grad is None]  # not upstream of the features
    if downstream:
        torch.autograd.backward(losses.sum(), inputs=downstream, retain_graph=True)


def _jacobian_update(losses: Tensor, params: list[nn.Parameter], method: Aggregator) -> Tensor:
    total = sum(p.numel() for p in params)
    target = method.jacobian_target(total, losses)
    if target is None:
        return method(shared_jacobian(losses, params))
    write_jacobian(losses, params, target)
    update = method.aggregate_target(target)
    if update.shape != (total,):
        raise AssertionError(f"{type(method).__name__} returned {tuple(update.shape)}")
    return update


def backward(
    losses: Tensor,
    model: MTLModel,
    method: Weighting | Aggregator,
    *,
    features: Features | None = None,
    penalty: Tensor | None = None,
) -> Tensor:
    """Fill ``.grad`` of every trainable parameter for one step; return the task weights used.

    Args:
        losses: per-task losses ``[T]`` attached to the graph (a task with no label is 0).
        model: the architecture; its declared shared parameters are what aggregators see.
        method: the balancing method.
        features: the shared representation of this step (for representation-level methods).
        penalty: an extra regulariser (e.g. soft sharing) added to the objective.

    Returns:
        The detached weights ``[T]`` (for aggregators, ones: the update is not a weighting).
    """
    if isinstance(method, Weighting):
        return _weighting_backward(losses, model, method, features, penalty)
    shared = [p for p in model.shared_parameters() if p.requires_grad]
    if shared:
        method.observe_losses(losses.detach())
        if method.rep_grad:
            _rep_backward(losses, model, method, shared, features)
        elif isinstance(method, GramianAggregator):
            weights = method.weights(shared_gramian(losses, shared)).to(losses.dtype).detach()
            torch.autograd.backward((weights * losses).sum(), inputs=shared, retain_graph=True)
        elif isinstance(method, ColumnwiseAggregator):
            _write_grads(shared, columnwise_update(losses, shared, method), owned=True)
        else:  # a running-Jacobian method's update is a fresh tensor (its contract)
            owned = isinstance(method, RunningJacobianAggregator)
            _write_grads(shared, _jacobian_update(losses, shared, method), owned=owned)
        if penalty is not None and penalty.requires_grad:
            grads = torch.autograd.grad(penalty, shared, retain_graph=True, allow_unused=True)
            for p, g in zip(shared, grads, strict=True):
                if g is not None:
                    p.grad = g if p.grad is None else p.grad + g
    _task_backward(losses, model, penalty, retain_graph=False)
    return torch.ones_like(losses).detach()
