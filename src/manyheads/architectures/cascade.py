"""Cascaded towers: each task sees the previous task's prediction; ``funnel`` is ESMM."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from manyheads._registry import did_you_mean
from manyheads._validation import (
    WIDTHS,
    Boolean,
    Constraints,
    InstanceOf,
    SequenceOf,
    Text,
    option_message,
)
from manyheads.architectures._parts import SharedBottomModel
from manyheads.architectures.base import TOWER_OPTIONS, Features, TaskTowers
from manyheads.encoders.base import InputEncoder
from manyheads.errors import InvalidParameterError
from manyheads.tasks import list_task_types

__all__ = ["Cascade", "funnel_columns", "funnel_logits", "log1mexp"]


def log1mexp(x: Tensor) -> Tensor:
    """``log(1 - exp(x))`` for ``x <= 0``, accurate everywhere (Mächler 2012).

    ``x`` is clamped to ``-tiny`` so that ``x = 0`` (a probability rounded to 1) stays finite.
    Each branch only ever sees the inputs it is accurate for, so gradients are never NaN.

    Example:
        >>> log1mexp(torch.tensor([-1e-20, -math.log(2), -50.0]))
        tensor([-4.6052e+01, -6.9315e-01, -1.9287e-22])
    """
    x = x.clamp(max=-torch.finfo(x.dtype).tiny)
    cut = -math.log(2.0)
    near = x > cut
    small = torch.log(-torch.expm1(torch.where(near, x, cut)))
    large = torch.log1p(-torch.exp(torch.where(near, cut, x)))
    return torch.where(near, small, large)


def funnel_logits(logits: Sequence[Tensor]) -> list[Tensor]:
    """Logits of the joint events ``P(t_1, ..., t_k) = prod_{j<=k} sigmoid(l_j)``, k = 1..K.

    Computed in log space, ``log p_k = sum_{j<=k} logsigmoid(l_j)`` and
    ``logit_k = log p_k - log(1 - p_k)``, so logits of ±50 and beyond stay finite. The first is
    ``l_1`` itself.

    Example:
        >>> out = funnel_logits([torch.tensor([0.0]), torch.tensor([0.0])])
        >>> torch.sigmoid(out[1])
        tensor([0.2500])
    """
    log_p = torch.cumsum(torch.stack([F.logsigmoid(lg) for lg in logits]), dim=0)  # [K, B]
    joint = log_p - log1mexp(log_p)
    return [logits[0], *joint[1:].unbind(0)]


def funnel_columns(outputs: dict[str, Tensor], order: Sequence[str]) -> dict[str, np.ndarray]:
    """The funnel's probabilities as prediction columns, from the joint logits a funnel outputs.

    Two stages (impression -> click -> purchase) give ``pCTR`` = P(t_1), ``pCVR`` =
    P(t_2 | t_1) and ``pCTCVR`` = P(t_1, t_2); more stages give ``<task>_cond_proba`` =
    P(t_k | t_1..t_{k-1}) for k >= 2 (the joint is ``<task>_proba``). Each conditional is
    ``exp(log P(t_1..t_k) - log P(t_1..t_{k-1}))`` in float64, so it needs the outputs only
    (an ONNX run has no towers to ask).

    Example:
        >>> cols = funnel_columns({"click": torch.tensor([0.0]), "buy": torch.tensor([-1.0986])},
        ...                       ["click", "buy"])
        >>> {k: round(float(v[0]), 3) for k, v in cols.items()}
        {'pCTR': 0.5, 'pCVR': 0.5, 'pCTCVR': 0.25}
    """
    log_joint = [F.logsigmoid(outputs[t].double()).cpu().numpy() for t in order]
    conditional = [np.exp(np.minimum(b - a, 0.0)) for a, b in itertools.pairwise(log_joint)]
    if len(order) == 2:
        return {
            "pCTR": np.exp(log_joint[0]),
            "pCVR": conditional[0],
            "pCTCVR": np.exp(log_joint[1]),
        }
    return {f"{t}_cond_proba": c for t, c in zip(order[1:], conditional, strict=True)}


class Cascade(SharedBottomModel):
    """Shared input layer and bottom MLP; towers run in ``order``, each fed the previous output.

    Tower ``k`` reads ``concat(shared features, prediction of task k-1)``, where the prediction is
    a sigmoid for 1-wide (binary) and multilabel outputs, a softmax for other multi-wide outputs
    and the raw value for tasks that ``kinds`` marks ``regression``. Gradients flow through the
    chain, so :meth:`task_parameters` lists the parameters each task *owns*.

    With ``funnel=True`` the model is ESMM (Ma et al., SIGIR 2018) generalised to K stages of a
    funnel such as impression -> click -> conversion: the towers read only the shared features and
    their logits ``l_k`` are conditional probabilities ``P(t_k | t_1..t_{k-1})``; the output of
    task ``k`` is the logit of the joint ``P(t_1, ..., t_k) = prod_{j<=k} sigmoid(l_j)``
    (pCTCVR = pCTR x pCVR), computed stably by :func:`funnel_logits`. The ordinary
    BCE-with-logits loss then trains each joint probability on *all* rows, which removes the
    sample-selection bias of training pCVR on clicked rows only. The label of task ``k`` must
    therefore be the joint event (1 only where ``t_1 .. t_k`` all hold, e.g. "clicked and
    converted"), given for every row. :meth:`tower_logits` returns the conditional logits.

    Args:
        encoder: the input encoder, built from the model options by
            :func:`~manyheads.architectures.create_model`.
        out_dims: task name -> output width.
        order: the task names in cascade order; ``None`` keeps the order of ``out_dims``.
        kinds: task name -> task type (``manyheads ls tasks``) for tasks whose prediction is not
            a sigmoid (1-wide) or softmax (multi-wide), e.g. ``{"price": "regression"}``.
        funnel: the ESMM form described above; all tasks must be 1-wide binary tasks.
        hidden: widths of the shared bottom MLP (default ``(128, 64)``; ``()`` on a
            text encoder, see :func:`~manyheads.architectures.base.default_widths`).
        tower, dropout, norm: each task tower's widths, and the dropout and normalisation of
            every MLP (:data:`~manyheads.architectures.base.TOWER_OPTIONS`).

    Raises:
        InvalidParameterError: ``order`` is not a permutation of the task names, ``kinds`` names
            an unknown task or type, or ``funnel`` is set with a non-binary task.

    Example:
        >>> from manyheads.architectures.base import example_input
        >>> enc, batch = example_input()
        >>> m = Cascade(enc, {"click": 1, "buy": 1}, funnel=True, hidden=[8])
        >>> {k: tuple(v.shape) for k, v in m(batch).items()}
        {'click': (2,), 'buy': (2,)}
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "order": [SequenceOf(Text()), None],
        "kinds": [InstanceOf(dict, "a mapping of task name -> task type"), None],
        "funnel": [Boolean()],
        "hidden": [WIDTHS, None],
        **TOWER_OPTIONS,
    }

    def __init__(  # noqa: PLR0913 - public constructor: one keyword per documented option
        self,
        encoder: InputEncoder,
        out_dims: dict[str, int],
        *,
        order: Sequence[str] | None = None,
        kinds: dict[str, str] | None = None,
        funnel: bool = False,
        hidden: Sequence[int] | None = None,
        tower: Sequence[int] | None = None,
        dropout: float = 0.0,
        norm: str = "none",
    ) -> None:
        super().__init__(out_dims, encoder, hidden, dropout=dropout, norm=norm)
        self.order = _check_order(order, self.task_names)
        self.kinds = _check_kinds(kinds, self.task_names)
        self.funnel = funnel
        if self.funnel:
            _check_funnel(out_dims, self.kinds)
        width = self.bottom.out_dim
        in_dims = {t: width for t in self.order}
        if not self.funnel:
            for prev, t in zip(self.order[:-1], self.order[1:], strict=True):
                in_dims[t] = width + out_dims[prev]
        self.towers = TaskTowers.on(encoder, in_dims, out_dims, tower, dropout=dropout, norm=norm)

    def tower_logits(
        self, features: Features, *, tasks: Sequence[str] | None = None
    ) -> dict[str, Tensor]:
        """Each tower's own output, in ``order`` (the conditional logits ``l_k`` of a funnel).

        With ``tasks``, the towers up to the last of them in ``order`` run (a tower reads the
        one before it, a funnel's joint the ones before it); the later ones do not.
        """
        assert isinstance(features, Tensor)
        out: dict[str, Tensor] = {}
        previous: Tensor | None = None
        for t in self.needed_tasks(tasks):
            h = features if previous is None or self.funnel else torch.cat([features, previous], -1)
            out[t] = self.towers.forward_task(t, h)
            previous = self._as_input(t, out[t], features)
        return out

    def needed_tasks(self, tasks: Sequence[str] | None) -> list[str]:
        """The tasks whose towers ``tasks`` need: ``order`` up to the last of them.

        Example:
            >>> from manyheads.architectures.base import example_input
            >>> enc, _ = example_input()
            >>> Cascade(enc, {"a": 1, "b": 1, "c": 1}, order=["c", "a", "b"]).needed_tasks(["a"])
            ['c', 'a']
        """
        asked = self.asked_tasks(tasks)
        last = max(self.order.index(t) for t in asked)
        return self.order[: last + 1]

    def forward_heads(
        self, features: Features, *, tasks: Sequence[str] | None = None
    ) -> dict[str, Tensor]:
        """The outputs of ``tasks`` (None: all); the towers before them in ``order`` run too
        (:meth:`needed_tasks`), only the asked tasks' outputs are returned."""
        asked = self.asked_tasks(tasks)
        logits = self.tower_logits(features, tasks=asked)
        if self.funnel:
            needed = self.needed_tasks(asked)
            joint = funnel_logits([logits[t] for t in needed])
            logits = dict(zip(needed, joint, strict=True))
        return {t: logits[t] for t in asked}

    def _as_input(self, task: str, output: Tensor, features: Tensor | None = None) -> Tensor:
        """The prediction of ``task`` as a [B, width] input of the next tower.

        For per-token ``features`` [B, L, D] it is [B, L, width] (a CRF task's transition rows,
        appended after the L positions, are left out).
        """
        if features is not None and features.dim() == 3:
            per_token = output[:, : features.shape[1]]
            out = per_token.unsqueeze(-1) if self.out_dims[task] == 1 else per_token
        else:
            out = output.unsqueeze(-1) if output.dim() == 1 else output
        task_type = self.kinds.get(task)
        if task_type == "regression":
            return out
        if task_type == "box":  # the box itself (normalised corners), not a distribution
            from manyheads.tasks._box import decode_boxes

            return decode_boxes(out)
        if out.shape[-1] == 1 or task_type == "multilabel":
            return torch.sigmoid(out)
        return torch.softmax(out, dim=-1)


def _check_order(order: Sequence[str] | None, tasks: list[str]) -> list[str]:
    if order is None:
        return list(tasks)
    if sorted(order) != sorted(tasks):
        expected = f"a permutation of the task names {', '.join(tasks)}"
        raise InvalidParameterError(
            option_message("Cascade", "order", expected, order, "List each task exactly once.")
        )
    return list(order)


def _check_kinds(kinds: dict[str, str] | None, tasks: list[str]) -> dict[str, str]:
    types = list_task_types()
    for task, task_type in (kinds or {}).items():
        if task not in tasks:
            expected = f"a mapping from the task names {', '.join(tasks)} to task types"
            fix = f"{task!r} is not a task.{did_you_mean(task, tasks)}"
            raise InvalidParameterError(option_message("Cascade", "kinds", expected, kinds, fix))
        if task_type not in types:
            expected = f"a mapping from task names to one of {', '.join(types)}"
            fix = f"Task {task!r} has {task_type!r}.{did_you_mean(str(task_type), types)}"
            raise InvalidParameterError(option_message("Cascade", "kinds", expected, kinds, fix))
    return dict(kinds or {})


def _check_funnel(out_dims: dict[str, int], kinds: dict[str, str]) -> None:
    for task, width in out_dims.items():
        if width != 1 or kinds.get(task, "binary") != "binary":
            fix = (
                f"Task {task!r} has width {width} and type {kinds.get(task, 'unknown')!r}: "
                "set funnel=False or drop the task."
            )
            expected = "false unless every task is binary (one logit each)"
            raise InvalidParameterError(option_message("Cascade", "funnel", expected, True, fix))
