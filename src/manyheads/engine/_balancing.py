"""The steps of :func:`manyheads.engine.backward.backward` that need no Jacobian blocks.

A loss weighting's backward (with GradNorm's gradient norms), the representation-level
(``rep_grad``) aggregation, the task-specific parameters' backward, and writing an update
``[P]`` into ``.grad``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from manyheads.aggregation.base import Aggregator
from manyheads.architectures.base import Features, MTLModel
from manyheads.engine._task_gradients import (
    batched_grads,
    feature_jacobian,
    last_shared_layer,
    shared_gramian,
)
from manyheads.errors import InvalidParameterError
from manyheads.weighting._gradient import GradientNormWeighting
from manyheads.weighting.base import Weighting

__all__ = [
    "add_penalty_grads",
    "rep_backward",
    "task_backward",
    "trainable_features",
    "weighted_backward",
    "weighting_backward",
    "write_grads",
]


def trainable_features(features: Features | None) -> list[Tensor]:
    """The feature tensors of a step that require a gradient."""
    if features is None:
        return []
    items = [features] if isinstance(features, Tensor) else list(features)
    return [f for f in items if f.requires_grad]


def write_grads(params: list[nn.Parameter], update: Tensor, *, owned: bool = False) -> None:
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


def _grad_norms(losses: Tensor, model: MTLModel, features: Features | None) -> Tensor:
    """``||∇_W L_t||`` [T] at the last shared layer, or at the features without one."""
    shared = [p for p in model.shared_parameters() if p.requires_grad]
    if shared:  # ||∇_W L_t||² is the diagonal of the last layer's Gramian
        return shared_gramian(losses, last_shared_layer(shared)).diagonal().clamp(min=0).sqrt()
    feats = trainable_features(features)
    if not feats:  # e.g. a frozen encoder straight into the heads
        raise InvalidParameterError(
            f"GradNorm needs the gradients of trainable shared parameters or features, "
            f"and {type(model).__name__} has none (a frozen encoder with no trainable "
            "shared layer?). Add shared layers (e.g. hidden: [256]), unfreeze the "
            "encoder, or choose another balancing method (train.method)."
        )
    grads = batched_grads(losses, feats)
    flat = [g.reshape(losses.shape[0], -1).to(losses.dtype) for g in grads]
    norms: Tensor = torch.cat(flat, 1).norm(dim=1)
    return norms


def weighting_backward(
    losses: Tensor,
    model: MTLModel,
    method: Weighting,
    features: Features | None,
    penalty: Tensor | None,
) -> Tensor:
    """One backward of ``Σ_t w_t L_t + extra + penalty``; return the weights ``w`` used."""
    if isinstance(method, GradientNormWeighting):
        norms = _grad_norms(losses, model, features)
        method.observe_grad_norms(losses.detach(), norms.detach())
    return weighted_backward(losses, method, penalty)


def weighted_backward(losses: Tensor, method: Weighting, penalty: Tensor | None) -> Tensor:
    """One backward of ``Σ_t w_t L_t + extra + penalty`` with ``w = method(losses)`` and the
    method's ``extra_loss()``; return the detached weights ``w``.

    Example:
        >>> from manyheads.weighting import EW
        >>> w = torch.tensor(2.0, requires_grad=True)
        >>> weighted_backward(torch.stack([w, 3 * w]), EW(2), None), w.grad
        (tensor([1., 1.]), tensor(4.))
    """
    weights = method(losses)
    objective = (weights * losses).sum()
    extra = method.extra_loss()
    if extra is not None:
        objective = objective + extra
    if penalty is not None:
        objective = objective + penalty
    torch.autograd.backward(objective)
    return weights.detach()


def task_backward(
    losses: Tensor, model: MTLModel, penalty: Tensor | None, *, retain_graph: bool
) -> None:
    """The task-specific parameters' gradients of ``Σ_t L_t + penalty``."""
    params = [p for t in model.task_names for p in model.task_parameters(t) if p.requires_grad]
    objective = losses.sum() if penalty is None else losses.sum() + penalty
    if params:
        torch.autograd.backward(objective, inputs=params, retain_graph=retain_graph)


def rep_backward(
    losses: Tensor,
    model: MTLModel,
    method: Aggregator,
    shared: list[nn.Parameter],
    features: Features | None,
    *,
    update: Callable[[Tensor, list[Tensor]], Tensor] | None = None,
) -> None:
    """Aggregate the feature Jacobian and backpropagate the update through the shared trunk.

    ``update`` maps the feature Jacobian and the features to the update (default:
    ``method.aggregate_features``; data-parallel training aggregates over every rank)."""
    feats = trainable_features(features)
    if not feats:
        raise InvalidParameterError(
            f"rep_grad=True needs the shared features of the step, but {type(model).__name__} "
            "gave none that require a gradient. Remove the 'rep_grad' option."
        )
    aggregate = method.aggregate_features if update is None else update
    step = aggregate(feature_jacobian(losses, feats), feats)
    pieces, offset = [], 0
    for f in feats:
        pieces.append(step[offset : offset + f.numel()].view_as(f).to(f.dtype))
        offset += f.numel()
    missing = [p for p in shared if p.grad is None]
    torch.autograd.backward(feats, grad_tensors=pieces, inputs=shared, retain_graph=True)
    downstream = [p for p in missing if p.grad is None]  # not upstream of the features
    if downstream:
        torch.autograd.backward(losses.sum(), inputs=downstream, retain_graph=True)


def add_penalty_grads(penalty: Tensor | None, shared: list[nn.Parameter]) -> None:
    """Add the penalty's gradient to the ``.grad`` of the shared parameters."""
    if penalty is None or not penalty.requires_grad:
        return
    grads = torch.autograd.grad(penalty, shared, retain_graph=True, allow_unused=True)
    for p, g in zip(shared, grads, strict=True):
        if g is not None:
            p.grad = g if p.grad is None else p.grad + g
