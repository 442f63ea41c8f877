"""Per-task gradients in one vectorised backward, and the Gramian ``J Jᵀ`` without ``J``.

The building blocks of :mod:`manyheads.engine.backward`: :func:`task_deltas` takes the
gradients ``δ_t`` at the output of every shared ``nn.Linear`` (found by
:mod:`manyheads.engine._autograd_internals`) and the ordinary per-task gradients of the other
shared parameters, all in one backward with the T rows of the identity as batched grad
outputs (``is_grads_batched=True``, no host copies).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.autograd.graph import GradientEdge

from manyheads.engine._autograd_internals import SharedLinear, shared_linear_layers

__all__ = [
    "batched_grads",
    "feature_jacobian",
    "last_shared_layer",
    "shared_gramian",
    "task_deltas",
]


def _rows_of_identity_grads(
    losses: Tensor, inputs: Sequence[Tensor | GradientEdge]
) -> tuple[Tensor | None, ...]:
    """One backward with the T rows of the identity as batched grad outputs (None: unused)."""
    eye = torch.eye(losses.shape[0], dtype=losses.dtype, device=losses.device)
    grads: tuple[Tensor | None, ...] = torch.autograd.grad(
        losses,
        inputs,  # type: ignore[arg-type]  # torch mixes edges and tensors; its stub does not
        grad_outputs=eye,
        is_grads_batched=True,
        retain_graph=True,
        allow_unused=True,
    )
    return grads


def batched_grads(losses: Tensor, inputs: list[Tensor]) -> list[Tensor]:
    """``[T, *shape]`` gradients of every loss w.r.t. each input (zeros where unused).

    Example:
        >>> z = torch.tensor([1.0, 2.0], requires_grad=True)
        >>> batched_grads(torch.stack([z.sum(), (z ** 2).sum()]), [z])[0]
        tensor([[1., 1.],
                [2., 4.]])
    """
    n_tasks = losses.shape[0]
    grads = _rows_of_identity_grads(losses, inputs)
    return [
        g if g is not None else x.new_zeros((n_tasks, *x.shape))
        for g, x in zip(grads, inputs, strict=True)
    ]


def task_deltas(
    losses: Tensor, params: list[nn.Parameter]
) -> tuple[list[SharedLinear], list[Tensor | None], list[tuple[Tensor, Tensor]]]:
    """One vectorised backward: ``δ_t`` at each shared linear layer, gradients of the others.

    Returns:
        The shared linear layers, their ``δ`` ``[T, B, out]`` (None when a layer gets no
        gradient), and ``(parameter, [T, *shape] gradient)`` for every other parameter that
        gets one.
    """
    if losses.grad_fn is None:
        return [], [], []
    linear = shared_linear_layers(losses.grad_fn, params)
    covered = {id(t) for layer in linear for t in (layer.weight, layer.bias)}
    rest = [p for p in params if id(p) not in covered]
    edges = [layer.output_edge() for layer in linear]
    grads = _rows_of_identity_grads(losses, [*edges, *rest])
    others: list[tuple[Tensor, Tensor]] = [
        (p, g) for p, g in zip(rest, grads[len(linear) :], strict=True) if g is not None
    ]
    return linear, list(grads[: len(linear)]), others


def shared_gramian(losses: Tensor, params: list[nn.Parameter]) -> Tensor:
    """The Gramian ``J Jᵀ`` [T, T] of the per-task gradients w.r.t. ``params``, without ``J``.

    For a linear layer ``⟨δ_tᵀa, δ_sᵀa⟩ = ⟨a aᵀ δ_t, δ_s⟩`` (the idea of TorchJD's autogram);
    other parameters add their small Jacobian's ``J Jᵀ``.

    Example:
        >>> from manyheads.engine.backward import shared_jacobian
        >>> _ = torch.manual_seed(0)
        >>> layer = nn.Linear(3, 2)
        >>> out = layer(torch.randn(5, 3))
        >>> losses = torch.stack([out[:, 0].pow(2).mean(), out[:, 1].mean()])
        >>> jac = shared_jacobian(losses, list(layer.parameters()))
        >>> torch.allclose(shared_gramian(losses, list(layer.parameters())), jac @ jac.T)
        True
    """
    n_tasks = losses.shape[0]
    linear, deltas, rest = task_deltas(losses, params)
    gramian = losses.new_zeros(n_tasks, n_tasks)
    with torch.no_grad():
        for layer, delta in zip(linear, deltas, strict=True):
            if delta is None:
                continue
            a = layer.saved_input().to(losses.dtype)  # [B, in] (bf16 under autocast)
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
    grads = batched_grads(losses, features)  # bf16 features under autocast: aggregate in float
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
