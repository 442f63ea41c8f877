"""Grow a trained model by one task: the same architecture with the new task's own parts (its
head; for MMoE its gate, for PLE/CGC its gate and experts, for MTAN its attention modules, for
``stl`` and ``soft_sharing`` its column), every old weight copied.

A new task is added only where the old tasks' computation stays exactly as it was: every old
tensor keeps its name and shape, and every new tensor belongs to the new task alone. Where a
shared part is sized by the number of tasks (cross-stitch units, the shared gates of PLE below
its last level) the architecture is refused, naming the tensor and the reason.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from manyheads.architectures.base import MTLModel
from manyheads.errors import InvalidParameterError

__all__ = ["REASONS", "changed_outputs", "grow_model", "grown_options", "new_state_keys"]

#: Why an architecture cannot take a new task, by the tensor that a new task would change.
REASONS: dict[str, str] = {
    "cross_stitch": "its cross-stitch units mix the T task columns with a T x T matrix, so a "
    "new task changes the units every old task reads",
    "ple": "below its last level a shared gate mixes the experts of every task, so a new "
    "task's experts change the shared input of the level above (ple with n_levels: 1, CGC, "
    "takes new tasks)",
}


def grown_options(options: dict[str, Any], task: str, task_type: str) -> dict[str, Any]:
    """The architecture options with the new task appended where they name the tasks
    (``cascade``'s ``order`` and ``kinds``).

    Example:
        >>> grown_options({"order": ["a"], "kinds": {"a": "binary"}, "hidden": [8]}, "b",
        ...               "regression")
        {'order': ['a', 'b'], 'kinds': {'a': 'binary', 'b': 'regression'}, 'hidden': [8]}
    """
    out = dict(options)
    if out.get("order") is not None:
        out["order"] = [*out["order"], task]
    if isinstance(out.get("kinds"), dict):
        out["kinds"] = {**out["kinds"], task: task_type}
    return out


def new_state_keys(model: MTLModel, task: str) -> set[str]:
    """The ``state_dict`` keys that belong to ``task`` alone: its parameters
    (:meth:`~MTLModel.task_parameters`) and the buffers inside the modules whose parameters are
    all its own (a tower's batch-norm statistics, an encoder's offsets)."""
    own = {id(p) for p in model.task_parameters(task)}
    names = {n for n, p in model.named_parameters(remove_duplicate=False) if id(p) in own}
    modules = [
        name
        for name, module in model.named_modules()
        if name and (params := list(module.parameters())) and all(id(p) in own for p in params)
    ]
    buffers = {n for n, _ in model.named_buffers() if any(n.startswith(f"{m}.") for m in modules)}
    return names | buffers


def _refuse(architecture: str, task: str, detail: str) -> InvalidParameterError:
    why = REASONS.get(architecture, "a part the old tasks read would change")
    return InvalidParameterError(
        f"Cannot add task '{task}' to a '{architecture}' model: {why} ({detail}). Train a new "
        "run with all the tasks instead (manyheads train)."
    )


def grow_model(old: MTLModel, new: MTLModel, task: str, *, architecture: str) -> MTLModel:
    """Copy every weight of ``old`` into ``new`` (``old``'s architecture built with ``task``
    appended) and return ``new``; its parameters of ``task`` keep their fresh initialisation.

    Raises:
        InvalidParameterError: ``new`` changes or drops an old tensor, or adds a tensor that is
            not ``task``'s own: the old tasks' outputs could not stay as they were.
    """
    before = old.state_dict()
    after = new.state_dict()
    changed = [
        f"'{k}' {list(before[k].shape)} -> {list(after[k].shape)}"
        for k in before
        if k in after and after[k].shape != before[k].shape
    ]
    if changed:
        raise _refuse(architecture, task, f"shared tensor {changed[0]}")
    dropped = [k for k in before if k not in after]
    if dropped:
        raise _refuse(architecture, task, f"tensor '{dropped[0]}' would be dropped")
    foreign = sorted(set(after) - set(before) - new_state_keys(new, task))
    if foreign:
        raise _refuse(architecture, task, f"new shared tensor '{foreign[0]}'")
    new.load_state_dict(before, strict=False)
    return new


@torch.no_grad()
def changed_outputs(old: MTLModel, new: MTLModel, x: dict[str, Tensor]) -> list[str]:
    """The old tasks whose outputs on inputs ``x`` differ between ``old`` and ``new`` in
    evaluation mode (bit for bit); ``[]`` when all agree."""
    old.eval()
    new.eval()
    before, after = old(x), new(x)
    return [t for t in old.task_names if not torch.equal(before[t], after[t])]
