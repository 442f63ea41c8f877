"""FAMO: fast adaptive multitask optimisation, balancing the rates of loss decrease."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from manyheads._validation import N_TASKS, NON_NEGATIVE, POSITIVE, Constraints
from manyheads.aggregation._task_state import TaskStateMixin
from manyheads.weighting.base import Weighting

__all__ = ["FAMO"]


class FAMO(TaskStateMixin, Weighting):
    r"""FAMO (Liu et al., NeurIPS 2023, "FAMO: Fast Adaptive Multitask Optimization").

    With task logits :math:`\xi`, :math:`z = \mathrm{softmax}(\xi)` and
    :math:`c = (\sum_t z_t / L_t)^{-1}`, the step follows
    :math:`\sum_t c\, z_t \nabla \log L_t` (their Eq. 5), i.e. loss weights
    :math:`c z_t / L_t`. The logits then move by
    :math:`\xi \leftarrow \xi - \alpha (\nabla_\xi z(\xi)^\top \delta + \gamma \xi)` with
    :math:`\delta = \log L(\theta_t) - \log L(\theta_{t+1})` (Eq. 7), using Adam with weight decay
    :math:`\gamma` as the authors' code does. ``L(θ_{t+1})`` is read at the next step (on the next
    batch), so FAMO costs no extra forward pass. Logits, the Adam moments, the previous losses and
    the step count are buffers, saved with checkpoints.

    Args:
        n_tasks: the number of tasks T.
        lr: the logits' learning rate :math:`\alpha` (0.025, the authors' code default).
        gamma: the logits' weight decay :math:`\gamma` (0.01, the authors' code default).
        eps: added to every loss, which must be non-negative (lower bound 0).

    Example:
        >>> FAMO(2)(torch.tensor([1.0, 3.0]))
        tensor([0.7500, 0.2500])
    """

    logits: Tensor
    prev_losses: Tensor
    adam_m: Tensor
    adam_v: Tensor

    _parameter_constraints: ClassVar[Constraints] = {
        **N_TASKS,
        "lr": [POSITIVE],
        "gamma": [NON_NEGATIVE],
        "eps": [POSITIVE],
    }

    def __init__(
        self, n_tasks: int, *, lr: float = 0.025, gamma: float = 0.01, eps: float = 1e-8
    ) -> None:
        super().__init__(n_tasks)
        self.lr, self.gamma, self.eps = float(lr), float(gamma), float(eps)
        for name in ("logits", "prev_losses", "adam_m", "adam_v"):
            self.register_task_buffer(name)
        self.register_counter()

    def forward(self, losses: Tensor) -> Tensor:
        values = losses.detach().to(self.logits) + self.eps
        if int(self.step) > 0:
            self._update_logits(self.prev_losses.log() - values.log())
        self.prev_losses.copy_(values)
        self.step.add_(1)
        z = torch.softmax(self.logits, dim=0)
        c = 1.0 / (z / values).sum()
        return (c * z / values).to(losses.dtype)

    def _update_logits(self, delta: Tensor) -> None:
        z = torch.softmax(self.logits, dim=0)
        grad = z * (delta - (z * delta).sum()) + self.gamma * self.logits  # J_zᵀ δ + γ ξ
        k = int(self.step)  # Adam step number
        self.adam_m.mul_(0.9).add_(0.1 * grad)
        self.adam_v.mul_(0.999).add_(0.001 * grad**2)
        m_hat = self.adam_m / (1 - 0.9**k)
        v_hat = self.adam_v / (1 - 0.999**k)
        self.logits.sub_(self.lr * m_hat / (v_hat.sqrt() + 1e-8))

    def reset(self) -> None:
        self.zero_state(self.logits, self.prev_losses, self.adam_m, self.adam_v, self.step)
