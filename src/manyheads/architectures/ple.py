"""Progressive layered extraction (Tang et al., RecSys 2020): stacked CGC levels of experts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

from manyheads._validation import COUNT, WIDTHS, Constraints
from manyheads.architectures._experts import FusedExperts, gate_weights, mix
from manyheads.architectures._parts import EncoderModel
from manyheads.architectures.base import TOWER_OPTIONS, Features, TaskTowers
from manyheads.encoders.base import InputEncoder

__all__ = ["PLE"]


class _CGCLevel(nn.Module):
    """One customized gate control level: per-task and shared experts, per-task gates.

    With ``shared_gate`` the level also mixes every expert into the next level's shared input.
    """

    def __init__(
        self,
        in_dim: int,
        tasks: list[str],
        n_shared: int,
        n_specific: int,
        expert_hidden: Sequence[int],
        *,
        shared_gate: bool,
        dropout: float,
        norm: str,
    ) -> None:
        super().__init__()
        self.tasks = tasks
        self.shared = FusedExperts(in_dim, n_shared, expert_hidden, dropout=dropout, norm=norm)
        self.specific = nn.ModuleDict(
            {
                t: FusedExperts(in_dim, n_specific, expert_hidden, dropout=dropout, norm=norm)
                for t in tasks
            }
        )
        self.gates = nn.ModuleDict({t: nn.Linear(in_dim, n_specific + n_shared) for t in tasks})
        n_all = len(tasks) * n_specific + n_shared
        self.shared_gate = nn.Linear(in_dim, n_all) if shared_gate else None
        self.out_dim = self.shared.out_dim

    def forward(
        self,
        inputs: dict[str, Tensor],
        shared_input: Tensor,
        *,
        tasks: Sequence[str] | None = None,
    ) -> tuple[dict[str, Tensor], Tensor | None]:
        """Task inputs {t: [B, D]} and shared input [B, D] -> next task inputs and shared input.

        Only the outputs of ``tasks`` (None: every task) are computed. A level with a shared
        gate mixes every task's experts into the shared output, so it computes them all (and
        needs every task's input); a level without one runs only ``tasks``' experts.
        Per-token inputs ``[B, L, D]`` work the same way, every token gated on its own.
        """
        asked = self.tasks if tasks is None else list(tasks)
        experts_of = self.tasks if self.shared_gate is not None else asked
        shared = self.shared(shared_input)  # [B, S, H]
        specific = {t: self.specific[t](inputs[t]) for t in experts_of}  # {t: [B, K, H]}
        weights = self._gate_weights(inputs, shared_input, asked)
        outputs = {}
        for t in asked:
            # eq. 1-3: g^k(x) = softmax(W_g^k x) [E_k, E_s], weights [B, K + S]
            outputs[t] = mix(weights[t], torch.cat([specific[t], shared], dim=-2))
        if self.shared_gate is None:
            return outputs, None
        everything = torch.cat([*specific.values(), shared], dim=-2)  # [B, T * K + S, H]
        return outputs, mix(weights[None], everything)

    def _gate_weights(
        self, inputs: dict[str, Tensor], shared_input: Tensor, asked: Sequence[str]
    ) -> dict[str | None, Tensor]:
        """The gate weights of ``asked`` tasks and of the shared gate (key None, if any).

        Gates that read the same tensor (all of them on the first level) run as one
        :func:`~manyheads.architectures._experts.gate_weights` call, of every task with an
        input whether asked or not, so that a subset of tasks gets the full model's numbers
        bit for bit (a gate is a thin [D, E] product, far cheaper than its experts)."""
        del asked  # see above: the set of gates computed never depends on it
        present = [t for t in self.tasks if t in inputs]
        keys: list[str | None] = [*present, *([None] if self.shared_gate is not None else [])]
        sources = {k: shared_input if k is None else inputs[k] for k in keys}
        by_input: dict[int, list[str | None]] = {}
        for k in keys:
            by_input.setdefault(id(sources[k]), []).append(k)
        out: dict[str | None, Tensor] = {}
        for group in by_input.values():
            gates = [self.shared_gate if k is None else self.gates[k] for k in group]
            out.update(zip(group, gate_weights(sources[group[0]], gates), strict=True))  # type: ignore[arg-type]
        return out

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return [*self.specific[task].parameters(), *self.gates[task].parameters()]

    def shared_parameters(self) -> list[nn.Parameter]:
        gate = [] if self.shared_gate is None else list(self.shared_gate.parameters())
        return [*self.shared.parameters(), *gate]


class PLE(EncoderModel):
    """Stacked CGC levels of task-specific and shared experts; one tower per task on top.

    At level ``j`` task ``k``'s gate mixes its own experts and the shared experts,
    ``g^{k,j}(x) = w^{k,j}(g^{k,j-1}(x)) S^{k,j}(x)`` (Tang et al., RecSys 2020, eq. 1-3 and 5);
    below the last level a shared gate mixes all experts into the next level's shared input. The
    towers read the last level, ``y^k = t^k(g^{k,N}(x))`` (eq. 4). With ``n_levels=1`` this is
    CGC, the single-level form of the paper.

    :meth:`forward_features` returns the input embedding; the levels run in :meth:`forward_heads`.
    Task ``k``'s experts below the last level also feed the other tasks through the shared gate,
    so :meth:`task_parameters` lists the parameters each task *owns*.

    Args:
        encoder: the input encoder, built from the model options by
            :func:`~manyheads.architectures.create_model`.
        out_dims: task name -> output width.
        n_levels: number of CGC levels.
        shared_experts: number of shared experts per level.
        specific_experts: number of experts per task and level.
        expert_hidden: widths of each expert MLP.
        tower, dropout, norm: each task tower's widths, and the dropout and normalisation of
            every MLP (:data:`~manyheads.architectures.base.TOWER_OPTIONS`).

    Raises:
        InvalidParameterError: a count < 1 or an invalid ``dropout`` / ``norm``.

    Example:
        >>> from manyheads.architectures.base import example_input
        >>> enc, batch = example_input()
        >>> m = PLE(enc, {"a": 1, "b": 4}, expert_hidden=[8], tower=[4])
        >>> {k: tuple(v.shape) for k, v in m(batch).items()}
        {'a': (2,), 'b': (2, 4)}
    """

    _parameter_constraints: ClassVar[Constraints] = {
        **TOWER_OPTIONS,
        "n_levels": [COUNT],
        "shared_experts": [COUNT],
        "specific_experts": [COUNT],
        "expert_hidden": [WIDTHS],
    }

    def __init__(  # noqa: PLR0913 - public constructor: one keyword per documented option
        self,
        encoder: InputEncoder,
        out_dims: dict[str, int],
        *,
        n_levels: int = 2,
        shared_experts: int = 2,
        specific_experts: int = 2,
        expert_hidden: Sequence[int] = (64,),
        tower: Sequence[int] | None = None,
        dropout: float = 0.0,
        norm: str = "none",
    ) -> None:
        super().__init__(out_dims, encoder)
        levels: list[_CGCLevel] = []
        width = self.input.out_dim
        for j in range(n_levels):
            level = _CGCLevel(
                width,
                self.task_names,
                shared_experts,
                specific_experts,
                expert_hidden,
                shared_gate=j < n_levels - 1,
                dropout=dropout,
                norm=norm,
            )
            levels.append(level)
            width = level.out_dim
        self.levels = nn.ModuleList(levels)
        self.towers = TaskTowers.on(encoder, width, out_dims, tower, dropout=dropout, norm=norm)

    def forward_heads(
        self, features: Features, *, tasks: Sequence[str] | None = None
    ) -> dict[str, Tensor]:
        """The outputs of ``tasks`` (None: all). The shared gate of each level below the last
        mixes every task's experts, so up to the level below the last every task's experts run
        (and every task's gate below that); the last two levels' gates, the last level's
        task experts and the towers run for ``tasks`` only. With ``n_levels=1`` (CGC) only the
        asked tasks' experts, gates and towers run."""
        assert isinstance(features, Tensor)
        asked = self.asked_tasks(tasks)
        inputs = dict.fromkeys(self.task_names, features)
        shared: Tensor | None = features
        for j, level in enumerate(self.levels):
            assert shared is not None  # only the last level has no shared output
            # the next level needs every task's input only if it has a shared gate itself
            every = j + 1 < len(self.levels) - 1
            inputs, shared = level(inputs, shared, tasks=None if every else asked)
        return self.towers.forward_all([inputs[t] for t in asked], tasks=asked)

    def shared_parameters(self) -> list[nn.Parameter]:
        shared = [p for level in self._levels() for p in level.shared_parameters()]
        return [*self.input.parameters(), *shared]

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        own = [p for level in self._levels() for p in level.task_parameters(task)]
        return [*own, *self.towers.task_parameters(task)]

    def _levels(self) -> list[_CGCLevel]:
        return [level for level in self.levels if isinstance(level, _CGCLevel)]
