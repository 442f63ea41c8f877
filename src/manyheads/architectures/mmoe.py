"""Multi-gate mixture of experts (Ma et al., KDD 2018): shared experts, a softmax gate per task."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from torch import Tensor, nn

from manyheads._validation import COUNT, WIDTHS, Constraints
from manyheads.architectures._experts import FusedExperts, gate_weights, mix
from manyheads.architectures._parts import EncoderModel
from manyheads.architectures.base import TOWER_OPTIONS, Features, TaskTowers
from manyheads.encoders.base import InputEncoder

__all__ = ["MMoE"]


class MMoE(EncoderModel):
    """Shared input layer and experts; each task mixes the experts with its own gate.

    Task ``k`` computes ``y_k = h^k(f^k(x))`` with ``f^k(x) = sum_i g^k(x)_i f_i(x)`` and
    ``g^k(x) = softmax(W_gk x)`` (Ma et al., KDD 2018, eq. 5-7), where ``x`` is the input
    embedding, ``f_i`` the experts and ``h^k`` the task's tower.

    :meth:`forward_features` returns ``(embedding [B, D], expert outputs [B, E, H])`` so that
    representation-level gradient methods can differentiate at either; the gates run in
    :meth:`forward_heads`.

    Args:
        encoder: the input encoder, built from the model options by
            :func:`~manyheads.architectures.create_model`.
        out_dims: task name -> output width.
        n_experts: number of shared experts.
        expert_hidden: widths of each expert MLP.
        tower, dropout, norm: each task tower's widths, and the dropout and normalisation of
            every MLP (:data:`~manyheads.architectures.base.TOWER_OPTIONS`).

    Raises:
        InvalidParameterError: ``n_experts`` < 1 or an invalid ``dropout`` / ``norm``.

    Example:
        >>> from manyheads.architectures.base import example_input
        >>> enc, batch = example_input()
        >>> m = MMoE(enc, {"a": 1, "b": 4}, n_experts=2, expert_hidden=[8])
        >>> {k: tuple(v.shape) for k, v in m(batch).items()}
        {'a': (2,), 'b': (2, 4)}
    """

    _parameter_constraints: ClassVar[Constraints] = {
        **TOWER_OPTIONS,
        "n_experts": [COUNT],
        "expert_hidden": [WIDTHS],
    }

    def __init__(
        self,
        encoder: InputEncoder,
        out_dims: dict[str, int],
        *,
        n_experts: int = 8,
        expert_hidden: Sequence[int] = (64,),
        tower: Sequence[int] | None = None,
        dropout: float = 0.0,
        norm: str = "none",
    ) -> None:
        super().__init__(out_dims, encoder)
        width = self.input.out_dim
        self.experts = FusedExperts(width, n_experts, expert_hidden, dropout=dropout, norm=norm)
        self.gates = nn.ModuleDict({t: nn.Linear(width, n_experts) for t in out_dims})
        self.towers = TaskTowers.on(
            encoder, self.experts.out_dim, out_dims, tower, dropout=dropout, norm=norm
        )

    def forward_features(
        self, x: dict[str, Tensor], *, tasks: Sequence[str] | None = None
    ) -> Features:
        del tasks  # the experts are every task's
        embedding = self.input(x)  # [B, D]
        return embedding, self.experts(embedding)  # [B, D], [B, E, H]

    def gate_weights(
        self, embedding: Tensor, *, tasks: Sequence[str] | None = None
    ) -> dict[str, Tensor]:
        """The gate ``g^k(x) = softmax(W_gk x)`` of each task of ``tasks`` (eq. 7; None: every
        task): {task: [B, E]}."""
        asked = self.asked_tasks(tasks)
        # every gate in one product (a subset gets the full model's numbers bit for bit)
        gates = [self.gates[t] for t in self.task_names]
        weights = dict(zip(self.task_names, gate_weights(embedding, gates), strict=True))  # type: ignore[arg-type]
        return {t: weights[t] for t in asked}

    def forward_heads(
        self, features: Features, *, tasks: Sequence[str] | None = None
    ) -> dict[str, Tensor]:
        """The outputs of ``tasks`` (None: all): the experts are shared and computed once (in
        :meth:`forward_features`), the gates are one thin product for every task
        (:func:`~manyheads.architectures._experts.gate_weights`), and only the asked tasks'
        mixtures and towers run."""
        assert isinstance(features, tuple)
        embedding, experts = features
        asked = self.asked_tasks(tasks)
        gates = self.gate_weights(embedding, tasks=asked)
        mixed = [mix(gates[t], experts) for t in asked]
        return self.towers.forward_all(mixed, tasks=asked)

    def shared_parameters(self) -> list[nn.Parameter]:
        return [*self.input.parameters(), *self.experts.parameters()]

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return [*self.gates[task].parameters(), *self.towers.task_parameters(task)]
