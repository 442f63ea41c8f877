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

This module holds the dispatch. The Jacobian written in column blocks is in
:mod:`manyheads.engine._jacobian_blocks`, the per-task gradients and the Gramian in
:mod:`manyheads.engine._task_gradients`, the steps that need no Jacobian in
:mod:`manyheads.engine._balancing`, and every use of torch's private autograd internals
(grad_fn names, saved tensors) in :mod:`manyheads.engine._autograd_internals`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from manyheads.aggregation.base import (
    Aggregator,
    ColumnwiseAggregator,
    GramianAggregator,
    RunningJacobianAggregator,
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
from manyheads.engine._jacobian_blocks import (
    BLOCK_ELEMENTS,
    columnwise_update,
    shared_jacobian,
    write_jacobian,
)
from manyheads.engine._task_gradients import (
    feature_jacobian,
    last_shared_layer,
    shared_gramian,
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
