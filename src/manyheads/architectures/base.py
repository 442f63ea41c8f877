"""The one contract every multi-task architecture implements (timm-style model surface).

* ``forward_features(x)`` computes the shared representation (a tensor or a tuple of tensors);
  gradient methods that work at the representation level differentiate with respect to it.
* ``forward_heads(features)`` maps it to one output per task: ``{task: [B] or [B, C]}``.
* ``shared_parameters()`` and ``task_parameters(task)`` partition ``parameters()`` exactly: every
  parameter is in the shared set or in exactly one task's set. Gradient aggregation operates on the
  shared set; each task set gets its own task's gradient.
* ``penalty()`` is an extra regulariser added to the objective (soft sharing), or ``None``.
* ``forward(x, tasks=...)``, ``forward_features(x, tasks=...)``, ``forward_heads(features,
  tasks=...)`` and ``task_outputs(features, tasks=...)`` compute only the asked tasks' outputs
  (and what they depend on: see each architecture); ``tasks=None`` is every task, exactly as
  without the argument. Features computed for some tasks are read by ``forward_heads`` with
  the same tasks. :meth:`MTLModel.asked_tasks` checks the names.
* ``task_outputs(features)`` is what the loop and prediction call: ``forward_heads`` plus, when
  the input encoder is token-level (``token_level``: features ``[B, 1 + W, D]`` whose position 0
  is the pooled row representation), the selection of position 0 for row-level tasks and of the
  W word positions for token-level tasks (``token_tasks``). Architectures need not know.
  With a TabM-style ensemble of ``n_members`` > 1 (the tabular encoders' ``ensemble`` option),
  the features and outputs have ``k*B`` rows, member by member; in evaluation ``task_outputs``
  averages the members into ``[B, ...]`` (:func:`~manyheads.encoders.ensemble.average_members`),
  in training it returns every member's rows for the loop to score.

An architecture does not build its input encoder: :func:`~manyheads.architectures.create_model`
builds it once from the model's options (:func:`~manyheads.encoders.build_input`) and passes it
in, as the constructor's first argument, which the argument's name selects:

* ``encoder``: the built :class:`~manyheads.encoders.base.InputEncoder` (most architectures);
* ``make_encoder``: a zero-argument factory of it, for architectures with one encoder per task
  (``stl``, ``soft_sharing``); each call builds a fresh encoder;
* ``spec``: the :class:`~manyheads.data.preprocess.InputSpec`, for an architecture that reads
  the inputs itself (``mtan``); it takes none of the encoder options.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

from manyheads._registry import did_you_mean
from manyheads._validation import Constraints, ValidatesParams
from manyheads.architectures._towers import (
    TABLE_HIDDEN,
    TABLE_TOWER,
    TOWER_OPTIONS,
    TaskTowers,
    default_widths,
)
from manyheads.data.preprocess import InputSpec
from manyheads.encoders.base import InputEncoder
from manyheads.encoders.ensemble import average_members
from manyheads.encoders.tabular import TabularInput
from manyheads.errors import InvalidParameterError

__all__ = [
    "TABLE_HIDDEN",
    "TABLE_TOWER",
    "TOWER_OPTIONS",
    "Features",
    "MTLModel",
    "TaskTowers",
    "default_widths",
    "example_input",
]

Features = Tensor | tuple[Tensor, ...]


def example_input() -> tuple[InputEncoder, dict[str, Tensor]]:
    """A ``tabular`` encoder of three numeric inputs and a batch of two rows of them, for the
    architectures' examples.

    Example:
        >>> encoder, batch = example_input()
        >>> encoder(batch).shape
        torch.Size([2, 3])
    """
    return TabularInput(InputSpec(3, (), ())), {"num": torch.zeros(2, 3)}


class MTLModel(ValidatesParams, nn.Module, ABC):
    """Base class of the architectures.

    Args:
        out_dims: task name -> output width of its head (1 for binary and regression).

    Subclasses declare the constraints of their keyword options in ``_parameter_constraints``;
    the arguments of their ``__init__`` are checked against them before it runs
    (:class:`~manyheads._validation.ValidatesParams`).
    """

    _parameter_constraints: ClassVar[Constraints] = {}

    def __init__(self, out_dims: dict[str, int]) -> None:
        super().__init__()
        if not out_dims:
            raise ValueError("A multi-task model needs at least one task.")
        self.task_names: list[str] = list(out_dims)
        self.out_dims: dict[str, int] = dict(out_dims)
        #: True when the input encoder emits ``[B, 1 + W, D]`` (set by ``build_model``).
        self.token_level: bool = False
        #: tasks with one output per token (``tagging``).
        self.token_tasks: frozenset[str] = frozenset()
        #: members of a TabM-style ensemble (set by ``build_model``; 1: a plain model).
        self.n_members: int = 1
        #: how each task's outputs are averaged over the members (``sigmoid``, ``softmax``,
        #: ``mean``; see :data:`~manyheads.encoders.ensemble.MEMBER_AVERAGES`).
        self.member_averages: dict[str, str] = {}

    @abstractmethod
    def forward_features(
        self, x: dict[str, Tensor], *, tasks: Sequence[str] | None = None
    ) -> Features:
        """Shared representation of a batch of encoded inputs (what ``tasks`` need; None: all)."""

    @abstractmethod
    def forward_heads(
        self, features: Features, *, tasks: Sequence[str] | None = None
    ) -> dict[str, Tensor]:
        """Per-task outputs from the shared representation, for ``tasks`` (None: every task)."""

    def asked_tasks(self, tasks: Sequence[str] | None) -> list[str]:
        """``tasks`` in the model's task order (None: every task), checked.

        Raises:
            InvalidParameterError: ``tasks`` is empty or names a task the model does not have.

        Example:
            >>> from manyheads.architectures import HPS
            >>> enc, batch = example_input()
            >>> HPS(enc, {"a": 1, "b": 1, "c": 1}).asked_tasks(["c", "a"])
            ['a', 'c']
        """
        if tasks is None:
            return self.task_names
        valid = ", ".join(self.task_names)
        if isinstance(tasks, str) or not tasks:
            raise InvalidParameterError(
                f"The 'tasks' argument of {type(self).__name__} must be a non-empty list of "
                f"the model's tasks ({valid}). Got {tasks!r} instead. Pass None for every task."
            )
        for task in tasks:
            if task not in self.out_dims:
                raise InvalidParameterError(
                    f"The 'tasks' argument of {type(self).__name__} must name the model's tasks "
                    f"({valid}). Got {task!r} instead.{did_you_mean(str(task), self.task_names)}"
                )
        return [t for t in self.task_names if t in tasks]

    def task_outputs(
        self, features: Features, *, tasks: Sequence[str] | None = None
    ) -> dict[str, Tensor]:
        """Per-task outputs: ``[B]``/``[B, C]`` for row tasks, ``[B, W, C]`` for token tasks
        (``[k*B, ...]``, every member's, when an ensemble trains); only ``tasks``' if given
        (``features`` computed for the same ``tasks``)."""
        if tasks is None:
            out = self.forward_heads(features)
        else:
            out = self.forward_heads(features, tasks=self.asked_tasks(tasks))
        if self.n_members > 1 and not self.training:
            k, how = self.n_members, self.member_averages
            return {t: average_members(o, k, how.get(t, "mean")) for t, o in out.items()}
        if not self.token_level:
            return out
        return {t: (o[:, 1:] if t in self.token_tasks else o[:, 0]) for t, o in out.items()}

    def forward(
        self, x: dict[str, Tensor], *, tasks: Sequence[str] | None = None
    ) -> dict[str, Tensor]:
        """The outputs of ``tasks`` (None: every task) for a batch of encoded inputs; only the
        parts of the network they need run (what each architecture shares, it computes once)."""
        if tasks is None:
            return self.task_outputs(self.forward_features(x))
        asked = self.asked_tasks(tasks)
        return self.task_outputs(self.forward_features(x, tasks=asked), tasks=asked)

    @abstractmethod
    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters used by more than one task."""

    @abstractmethod
    def task_parameters(self, task: str) -> list[nn.Parameter]:
        """Parameters used by ``task`` only."""

    def penalty(self) -> Tensor | None:
        """An extra regularisation term of the objective, or None."""
        return None

    def task_state_keys(self, task: str) -> list[str] | None:
        """``state_dict`` keys that belong to ``task`` alone, if the tasks are independent.

        Architectures whose tasks share nothing and do not interact (``stl``) return them, so
        that each task's weights can be taken from its own best validation epoch, as separately
        trained single-task models would be. Others return None.
        """
        del task
        return None


def stack_tasks(outputs: dict[str, Tensor]) -> Tensor:
    """Helper for tests: concatenate flattened outputs."""
    return torch.cat([o.reshape(o.shape[0], -1) for o in outputs.values()], dim=1)
