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

This module holds the dispatch and the Jacobian written in column blocks; the per-task
gradients and the Gramian are in :mod:`manyheads.engine._task_gradients`, the steps that need
no Jacobian in :mod:`manyheads.engine._balancing`, and every use of torch's private autograd
internals (grad_fn names, saved tensors) in :mod:`manyheads.engine._autograd_internals`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from manyheads.aggregation.base import (
    Aggregator,
    ColumnwiseAggregator,
    GramianAggregator,
    JacobianTarget,
    RunningJacobianAggregator,
    blend_into,
)
from manyheads.architectures.base import Features, MTLModel
from manyheads.distributed._comm import LOCAL, Comm
from manyheads.engine._autograd_internals import shared_linear_layers
from manyheads.engine._balancing import (
    add_penalty_grads,
    rep_backward,
    task_backward,
    weighting_backward,
    write_grads,
)
from manyheads.engine._task_gradients import (
    feature_jacobian,
    last_shared_layer,
    shared_gramian,
    task_deltas,
)
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

#: The shared linear layers of a graph (kept under its old name for tests that import it).
_linear_nodes = shared_linear_layers


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
    linear, deltas, rest = task_deltas(losses, params)
    offsets, total = {}, 0
    for p in params:
        offsets[id(p)] = total
        total += p.numel()
    blocks: list[_Block] = []
    written: set[int] = set()
    for layer, delta in zip(linear, deltas, strict=True):
        if delta is None:
            continue
        weight, bias = layer.weight, layer.bias
        a = layer.saved_input()  # [B, in]
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


def _aggregator_step(
    losses: Tensor,
    method: Aggregator,
    shared: list[nn.Parameter],
    features: Features | None,
    model: MTLModel,
) -> None:
    """Write the aggregated update of the shared parameters' per-task gradients to ``.grad``."""
    if method.rep_grad:
        rep_backward(losses, model, method, shared, features)
    elif isinstance(method, GramianAggregator):
        weights = method.weights(shared_gramian(losses, shared)).to(losses.dtype).detach()
        torch.autograd.backward((weights * losses).sum(), inputs=shared, retain_graph=True)
    elif isinstance(method, ColumnwiseAggregator):
        write_grads(shared, columnwise_update(losses, shared, method), owned=True)
    else:  # a running-Jacobian method's update is a fresh tensor (its contract)
        owned = isinstance(method, RunningJacobianAggregator)
        write_grads(shared, _jacobian_update(losses, shared, method), owned=owned)


def backward(
    losses: Tensor,
    model: MTLModel,
    method: Weighting | Aggregator,
    *,
    features: Features | None = None,
    penalty: Tensor | None = None,
    comm: Comm = LOCAL,
) -> Tensor:
    """Fill ``.grad`` of every trainable parameter for one step; return the task weights used.

    Args:
        losses: per-task losses ``[T]`` attached to the graph (a task with no label is 0).
        model: the architecture; its declared shared parameters are what aggregators see.
        method: the balancing method.
        features: the shared representation of this step (for representation-level methods).
        penalty: an extra regulariser (e.g. soft sharing) added to the objective.
        comm: the ranks of data-parallel training (``losses`` from
            :func:`~manyheads.distributed.global_losses`); one process by default.

    Returns:
        The detached weights ``[T]`` (for aggregators, ones: the update is not a weighting).
    """
    if comm.active:  # imported here: the distributed step builds on this module
        from manyheads.distributed._backward import distributed_backward

        return distributed_backward(
            losses, model, method, features=features, penalty=penalty, comm=comm
        )
    if isinstance(method, Weighting):
        return weighting_backward(losses, model, method, features, penalty)
    shared = [p for p in model.shared_parameters() if p.requires_grad]
    if shared:
        method.observe_losses(losses.detach())
        _aggregator_step(losses, method, shared, features, model)
        add_penalty_grads(penalty, shared)
    task_backward(losses, model, penalty, retain_graph=False)
    return torch.ones_like(losses).detach()
