"""One backward pass with a balancing method: loss weighting or gradient aggregation.

* A :class:`~manyheads.weighting.Weighting` gives weights ``w`` and we minimise
  ``Σ_t w_t L_t + extra + penalty`` with one ordinary backward pass.
* An :class:`~manyheads.aggregation.Aggregator` needs the per-task gradients of the shared
  parameters: one vectorised vector-Jacobian product (``is_grads_batched=True``: the T rows of the
  identity as batched grad outputs, no host copies), the aggregated update written to ``.grad``,
  and one more backward of ``Σ_t L_t + penalty`` restricted to the task-specific parameters.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from manyheads.aggregation.base import Aggregator
from manyheads.architectures.base import Features, MTLModel
from manyheads.weighting.base import Weighting

__all__ = ["backward", "shared_jacobian"]


def shared_jacobian(losses: Tensor, params: list[nn.Parameter]) -> Tensor:
    """Per-task gradients of ``losses`` [T] w.r.t. ``params``, flattened: ``[T, P]``.

    Example:
        >>> w = nn.Parameter(torch.tensor([1.0, 2.0]))
        >>> shared_jacobian(torch.stack([w[0] * 3, (w ** 2).sum()]), [w])
        tensor([[3., 0.],
                [2., 4.]])
    """
    n_tasks = losses.shape[0]
    eye = torch.eye(n_tasks, dtype=losses.dtype, device=losses.device)
    grads = torch.autograd.grad(
        losses,
        params,
        grad_outputs=eye,
        is_grads_batched=True,
        retain_graph=True,
        allow_unused=True,
    )
    rows = [
        g.reshape(n_tasks, -1) if g is not None else losses.new_zeros(n_tasks, p.numel())
        for g, p in zip(grads, params, strict=True)
    ]
    return torch.cat(rows, dim=1)


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
    del features  # representation-level gradients: see the weighting catalogue
    if isinstance(method, Weighting):
        weights = method(losses)
        objective = (weights * losses).sum()
        extra = method.extra_loss()
        if extra is not None:
            objective = objective + extra
        if penalty is not None:
            objective = objective + penalty
        objective.backward()
        return weights.detach()
    shared = [p for p in model.shared_parameters() if p.requires_grad]
    if shared:
        update = method(shared_jacobian(losses, shared))
        offset = 0
        for p in shared:
            n = p.numel()
            p.grad = update[offset : offset + n].view_as(p).clone()
            offset += n
    task_params = [
        p for t in model.task_names for p in model.task_parameters(t) if p.requires_grad
    ]
    objective = losses.sum() if penalty is None else losses.sum() + penalty
    torch.autograd.backward(objective, inputs=task_params)
    return torch.ones_like(losses).detach()
