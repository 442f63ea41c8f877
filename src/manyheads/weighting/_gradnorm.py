"""GradNorm: learn weights that equalise the tasks' gradient norms, tempered by training rates."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from manyheads._validation import N_TASKS, NON_NEGATIVE, Constraints
from manyheads.aggregation._task_state import TaskStateMixin
from manyheads.weighting._gradient import GradientNormWeighting

__all__ = ["GradNorm"]


class GradNorm(TaskStateMixin, GradientNormWeighting):
    r"""GradNorm (Chen et al., ICML 2018, "GradNorm: Gradient Normalization for Adaptive Loss
    Balancing in Deep Multitask Networks").

    With :math:`G_W^{(t)} = \|\nabla_W w_t L_t\|` at the last shared layer :math:`W`, the mean
    :math:`\bar G_W`, the inverse training rates :math:`r_t = \tilde L_t / \mathrm{mean}(\tilde
    L)`, :math:`\tilde L_t = L_t / L_t(0)`, the weights minimise their Eq. (2),
    :math:`L_{grad} = \sum_t |G_W^{(t)} - \bar G_W r_t^\alpha|`, with the target held constant,
    while the network minimises :math:`\sum_t w_t L_t` with the weights held constant. The
    renormalisation :math:`\sum_t w_t = T` is kept by the parametrisation
    :math:`w = T\,\mathrm{softmax}(\text{logits})`. The logits are trained by the model's
    optimiser; the initial losses are a buffer; both are saved with checkpoints. Without shared
    parameters (``stl``), :math:`W` is the representation each task reads.

    Args:
        n_tasks: the number of tasks T.
        alpha: the asymmetry :math:`\alpha` >= 0 (1.5 in the paper's NYUv2 runs).

    Example:
        >>> GradNorm(2)(torch.tensor([1.0, 3.0]))
        tensor([1., 1.])
    """

    initial_losses: Tensor
    norms: Tensor
    ratios: Tensor

    _parameter_constraints: ClassVar[Constraints] = {**N_TASKS, "alpha": [NON_NEGATIVE]}

    def __init__(self, n_tasks: int, *, alpha: float = 1.5) -> None:
        super().__init__(n_tasks)
        self.alpha = float(alpha)
        self.logits = self.task_parameter()
        self.register_task_buffer("initial_losses")
        self.register_task_buffer("norms", persistent=False)
        self.register_task_buffer("ratios", 1.0, persistent=False)

    def _weights(self) -> Tensor:
        return self.n_tasks * torch.softmax(self.logits, dim=0)

    def forward(self, losses: Tensor) -> Tensor:
        return self._weights().detach().to(losses.dtype)

    def observe_grad_norms(self, losses: Tensor, norms: Tensor) -> None:
        values = losses.detach().to(self.initial_losses)
        fresh = (self.initial_losses == 0) & (values > 0)
        self.initial_losses.copy_(torch.where(fresh, values, self.initial_losses))
        known = self.initial_losses > 0
        relative = torch.where(known, values / self.initial_losses.clamp(min=1e-30), 0.0)
        mean = relative[known].mean() if bool(known.any()) else relative.new_ones(())
        self.ratios = relative / mean.clamp(min=1e-30)
        self.norms = norms.detach().to(self.initial_losses)

    def extra_loss(self) -> Tensor:
        weighted = self._weights() * self.norms  # G_W^(t), differentiable in the logits only
        target = (weighted.mean() * self.ratios**self.alpha).detach()
        return (weighted - target).abs().sum()

    def reset(self) -> None:
        self.zero_state(self.logits, self.initial_losses)
