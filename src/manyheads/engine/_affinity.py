"""Lookahead inter-task affinity (Fifty et al., NeurIPS 2021, "Efficiently Identifying Task
Groupings for Multi-Task Learning", TAG) of one batch, and the exact task grouping it suggests.

Documented in docs/config.md (``train.affinity_every``) and docs/text.md (``manyheads analyze``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import Tensor, nn

from manyheads.architectures.base import MTLModel
from manyheads.data.tensors import Batch
from manyheads.engine.backward import shared_jacobian
from manyheads.engine.loop import task_losses
from manyheads.errors import InvalidParameterError
from manyheads.tasks._fitted import FittedTask

__all__ = [
    "MAX_GROUPING_TASKS",
    "batch_affinity",
    "group_score",
    "lookahead_affinity",
    "partitions",
    "suggest_groups",
]

#: The most tasks :func:`suggest_groups` searches exhaustively (Bell(10) = 115,975 partitions).
MAX_GROUPING_TASKS = 10


def lookahead_affinity(
    losses_fn: Callable[[], Tensor], params: Sequence[nn.Parameter], lrs: Sequence[float]
) -> Tensor:
    """``Z[i, j] = 1 - L_j(θ_s - η ∇_{θ_s} L_i) / L_j(θ_s)``: how a plain SGD step on task ``i``
    alone changes task ``j``'s loss on the same batch (TAG, Eq. 3; the task-specific
    parameters stay put). ``losses_fn()`` returns the per-task losses ``[T]`` at the current
    parameters; ``params`` are the shared parameters θ_s, ``lrs`` their learning rates η.

    A task whose loss is zero or undefined on the batch (no labels) has NaN in its column, and
    a task without a gradient has NaN in its row. The parameters are restored exactly.

    Example:
        >>> w = nn.Parameter(torch.tensor([1.0]))
        >>> fn = lambda: torch.stack([(w - 2) ** 2, (w + 1) ** 2]).squeeze(1)
        >>> lookahead_affinity(fn, [w], [0.25])  # task 0 steps w to 1.5, task 1 to 0
        tensor([[ 0.7500, -0.5625],
                [-3.0000,  0.7500]], dtype=torch.float64)
    """
    losses = losses_fn()
    jac = shared_jacobian(losses, list(params)).detach()  # [T, P]
    before = losses.detach().double()
    n = losses.shape[0]
    out = torch.full((n, n), torch.nan, dtype=torch.float64)
    saved = [p.detach().clone() for p in params]
    sizes = [p.numel() for p in params]
    with torch.no_grad():
        for i in range(n):
            if not bool(jac[i].any()):
                continue
            for p, g, lr in zip(params, torch.split(jac[i], sizes), lrs, strict=True):
                p.sub_(lr * g.view_as(p))
            after = losses_fn().detach().double()
            for p, old in zip(params, saved, strict=True):
                p.copy_(old)
            out[i] = 1.0 - after / before
    defined = torch.isfinite(before) & (before > 0)
    out[:, ~defined] = torch.nan
    return out


def batch_affinity(
    model: MTLModel, batch: Batch, tasks: Sequence[FittedTask], lrs: Sequence[float]
) -> Tensor:
    """:func:`lookahead_affinity` ``[T, T]`` of a model's shared parameters on one batch, in
    eval mode (no dropout noise between the two losses, normalisation statistics untouched;
    the global random state is not used, so the training run is unchanged). ``lrs`` are the
    learning rates of ``model.shared_parameters()`` that require a gradient, in that order."""
    shared = [p for p in model.shared_parameters() if p.requires_grad]
    was_training = model.training
    model.eval()
    try:
        return lookahead_affinity(lambda: task_losses(model(batch.x), batch, tasks), shared, lrs)
    finally:
        model.train(was_training)


def partitions(n_items: int, n_groups: int) -> Iterator[list[list[int]]]:
    """Every partition of ``range(n_items)`` into exactly ``n_groups`` non-empty groups, each
    once (restricted growth strings).

    Example:
        >>> list(partitions(3, 2))
        [[[0, 1], [2]], [[0, 2], [1]], [[0], [1, 2]]]
    """
    labels = [0] * n_items

    def grow(k: int, top: int) -> Iterator[list[list[int]]]:
        # restricted growth: item k joins a group already open or opens the next one
        if n_items - k < n_groups - 1 - top:
            return  # too few items left to open the remaining groups
        if k == n_items:
            yield [[i for i in range(n_items) if labels[i] == g] for g in range(n_groups)]
            return
        for label in range(min(top + 2, n_groups)):
            labels[k] = label
            yield from grow(k + 1, max(top, label))

    if n_items >= n_groups >= 1:
        yield from grow(0, -1)


def group_score(affinity: Tensor | Sequence[Sequence[float]], group: Sequence[int]) -> float:
    """TAG's total affinity of a group: for each member ``j``, the mean affinity onto ``j``
    of the other members (``affinity[i][j]``: task i onto task j), summed over members; a
    single task scores 0. Undefined (NaN) pairs are left out of the means.

    Example:
        >>> a = [[0.0, 0.2, 0.1], [0.4, 0.0, 0.3], [0.0, 0.0, 0.0]]
        >>> round(group_score(a, [0, 1, 2]), 4)  # (0.4+0)/2 + (0.2+0)/2 + (0.1+0.3)/2
        0.5
    """
    rows = affinity.tolist() if isinstance(affinity, Tensor) else affinity
    total = 0.0
    for j in group:
        onto = [rows[i][j] for i in group if i != j and math.isfinite(rows[i][j])]
        if onto:
            total += sum(onto) / len(onto)
    return total


def suggest_groups(affinity: Tensor, n_groups: int) -> tuple[list[list[int]], float]:
    """The partition of the tasks into ``n_groups`` groups with the highest total affinity
    (:func:`group_score` summed over groups), found exhaustively; ties go to the first
    partition in :func:`partitions` order. TAG (Fifty et al. 2021, Sec. 3.2) searches the
    same objective with a branch and bound, and also lets groups overlap; here each task
    belongs to exactly one group (one network per group).

    Raises:
        InvalidParameterError: ``n_groups`` not in 1..T, or more than
            :data:`MAX_GROUPING_TASKS` tasks.

    Example:
        >>> a = torch.tensor([[0, .5, -.2, -.1], [.4, 0, -.3, 0], [-.2, -.1, 0, .6],
        ...                   [0, -.2, .3, 0]], dtype=torch.float64)
        >>> suggest_groups(a, 2)
        ([[0, 1], [2, 3]], 1.8)
    """
    n = affinity.shape[0]
    if isinstance(n_groups, bool) or not isinstance(n_groups, int) or not 1 <= n_groups <= n:
        raise InvalidParameterError(
            f"The number of groups must be an int in 1..{n} (the number of tasks). "
            f"Got {n_groups!r} instead."
        )
    if n > MAX_GROUPING_TASKS:
        raise InvalidParameterError(
            f"Exhaustive grouping searches at most {MAX_GROUPING_TASKS} tasks; this run has {n}."
        )
    rows = affinity.tolist()
    cache: dict[tuple[int, ...], float] = {}

    def score_of(group: list[int]) -> float:
        key = tuple(group)
        if key not in cache:
            cache[key] = group_score(rows, group)
        return cache[key]

    best: tuple[list[list[int]], float] | None = None
    for parts in partitions(n, n_groups):
        score = sum(score_of(g) for g in parts)
        if best is None or score > best[1] + 1e-12:
            best = (parts, score)
    assert best is not None
    return best[0], round(best[1], 12)
