"""One backward step under data parallelism: each balancing method sees the global batch.

The losses come from :func:`~manyheads.distributed._losses.global_losses`: their values are
the global batch's, their gradient is this rank's part of it. What is communicated then:

* a loss weighting: the weights are read from the global losses on every rank alike, the
  objective's gradient is this rank's part, and the model's gradients are summed (one
  all-reduce of ``P`` numbers, as PyTorch's DDP does). GradNorm also needs the norms of the
  global gradients at the last shared layer: its per-task Jacobian (``T × P_last``) is summed
  first (per-task gradients add over ranks; their norms do not).
* an aggregator on the shared parameters: the Jacobian ``J = Σ_r J_r`` (``T × P_shared``) is
  summed and aggregated identically on every rank, so no rank sends its shared gradients
  again; the task-specific parameters' gradients are summed (``P_task``). A Gramian method
  needs ``J`` too: the Gramian is not additive over ranks (``Σ_r J_r J_rᵀ ≠ J Jᵀ``).
* an aggregator in ``rep_grad`` mode: each rank owns the rows of its features, so the global
  feature Jacobian is the ranks' column blocks side by side and its Gramian IS the sum of the
  ranks' Gramians (the blocks' columns are disjoint). A Gramian method sums ``T × T`` numbers
  and each rank backpropagates ``J_rᵀ w`` through its own rows; any other method gathers the
  blocks (and the features, which GradDrop reads). The trunk's and the heads' gradients are
  then summed (``P``).

Terms that do not depend on the rows (a soft-sharing penalty, a weighting's own loss) are
computed identically on every rank: they are divided by ``R`` where the gradients are summed.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from manyheads.aggregation.base import Aggregator, GramianAggregator
from manyheads.architectures.base import Features, MTLModel
from manyheads.distributed._comm import Comm
from manyheads.engine._balancing import (
    add_penalty_grads,
    rep_backward,
    task_backward,
    trainable_features,
    weighted_backward,
)
from manyheads.engine._task_gradients import batched_grads, last_shared_layer
from manyheads.engine.backward import shared_jacobian
from manyheads.weighting._gradient import GradientNormWeighting
from manyheads.weighting.base import Weighting

__all__ = ["distributed_backward", "sums_gramian"]


def distributed_backward(
    losses: Tensor,
    model: MTLModel,
    method: Weighting | Aggregator,
    *,
    features: Features | None,
    penalty: Tensor | None,
    comm: Comm,
) -> Tensor:
    """:func:`~manyheads.engine.backward.backward` over ``comm``'s ranks: the same ``.grad``
    on every rank as one process computes for the global batch; return the weights used."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    shared_penalty = None if penalty is None else penalty / comm.world_size
    if isinstance(method, Weighting):
        weights = _weighting_backward(losses, model, method, features, shared_penalty, comm)
        comm.sum_grads(trainable)
        return weights
    shared = [p for p in model.shared_parameters() if p.requires_grad]
    summed = [p for t in model.task_names for p in model.task_parameters(t) if p.requires_grad]
    if shared:
        method.observe_losses(losses.detach())
        if method.rep_grad:
            update = _feature_update(method, comm)
            rep_backward(losses, model, method, shared, features, update=update)
            add_penalty_grads(shared_penalty, shared)
            summed = shared + summed
        else:  # J summed once; every rank computes the same update
            jacobian = comm.sum_(shared_jacobian(losses, shared))
            _write(shared, method(jacobian))
            add_penalty_grads(penalty, shared)
    task_backward(losses, model, shared_penalty, retain_graph=False)
    comm.sum_grads(summed)
    return torch.ones_like(losses).detach()


def _write(params: list[nn.Parameter], update: Tensor) -> None:
    offset = 0
    for p in params:
        p.grad = update[offset : offset + p.numel()].view_as(p).clone()
        offset += p.numel()


def _weighting_backward(
    losses: Tensor,
    model: MTLModel,
    method: Weighting,
    features: Features | None,
    penalty: Tensor | None,
    comm: Comm,
) -> Tensor:
    """``Σ_t w_t L_t + extra`` with ``w`` from the global losses; ``penalty`` is this rank's."""
    if isinstance(method, GradientNormWeighting):
        method.observe_grad_norms(losses.detach(), _grad_norms(losses, model, features, comm))
    # extra_loss() is of the method's own parameters: the same on every rank
    return weighted_backward(losses, method, penalty)


def _grad_norms(losses: Tensor, model: MTLModel, features: Features | None, comm: Comm) -> Tensor:
    """GradNorm's ``||∇_W L_t||`` [T] of the global losses (the Jacobian at ``W`` summed)."""
    shared = [p for p in model.shared_parameters() if p.requires_grad]
    if shared:
        jacobian = comm.sum_(shared_jacobian(losses, last_shared_layer(shared)))
        norms: Tensor = jacobian.norm(dim=1).detach()
        return norms
    feats = trainable_features(features)  # rows are disjoint: squared norms add up
    grads = batched_grads(losses, feats)
    flat = torch.cat([g.reshape(losses.shape[0], -1).to(losses.dtype) for g in grads], 1)
    squares: Tensor = comm.sum_(flat.pow(2).sum(1).detach())
    return squares.sqrt()


def sums_gramian(method: Aggregator) -> bool:
    """Whether ``method``'s feature update is ``J_rᵀ w(Σ_r G_r)`` (a Gramian method that reads
    neither the features nor anything but the Gramian)."""
    kind = type(method)
    return (
        isinstance(method, GramianAggregator)
        and kind.forward is GramianAggregator.forward
        and kind.aggregate_features is Aggregator.aggregate_features
    )


def _feature_update(method: Aggregator, comm: Comm) -> Callable[[Tensor, list[Tensor]], Tensor]:
    """The ``update`` of :func:`rep_backward`: this rank's block of the global update."""

    def update(jacobian: Tensor, feats: list[Tensor]) -> Tensor:
        if sums_gramian(method):
            assert isinstance(method, GramianAggregator)
            gramian = comm.sum_(jacobian @ jacobian.T)
            return method.weights(gramian).to(jacobian.dtype) @ jacobian
        return _gathered_update(method, jacobian, feats, comm)

    return update


def _gathered_update(
    method: Aggregator, jacobian: Tensor, feats: list[Tensor], comm: Comm
) -> Tensor:
    """Gather every rank's feature-Jacobian block (and features), aggregate the whole, keep
    this rank's block; the columns are in one process's order (feature by feature, rows in
    rank order)."""
    n_tasks, offset = jacobian.shape[0], 0
    columns, full_feats, starts = [], [], []
    sent = 0 if comm.idle else None  # an idle rank's stand-in row is no row of the batch
    for f in feats:
        n_rows, width = f.shape[0], math.prod(f.shape[1:])
        block = jacobian[:, offset : offset + n_rows * width].reshape(n_tasks, n_rows, width)
        offset += n_rows * width
        parts = comm.gather_rows(block.transpose(0, 1)[:sent].contiguous())  # [B_r, T, D]
        starts.append(sum(p.shape[0] for p in parts[: comm.rank]))
        columns.append(torch.cat(parts).transpose(0, 1).reshape(n_tasks, -1))
        full_feats.append(torch.cat(comm.gather_rows(f.detach()[:sent])))
    update = method.aggregate_features(torch.cat(columns, 1), full_feats)
    pieces, offset = [], 0
    for f, full, start in zip(feats, full_feats, starts, strict=True):
        width = math.prod(full.shape[1:])
        if comm.idle:
            pieces.append(update.new_zeros(f.numel()))
        else:
            pieces.append(update[offset + start * width : offset + (start + f.shape[0]) * width])
        offset += full.numel()
    return torch.cat(pieces)
