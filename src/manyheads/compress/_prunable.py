"""Which architectures ``manyheads prune`` takes, why it refuses the others, and how a pruned
network's layer widths read back as its architecture's options."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from manyheads.architectures.base import MTLModel, TaskTowers
from manyheads.errors import InvalidParameterError, ManyheadsError

__all__ = ["PRUNABLE", "REFUSED", "check_prunable"]

#: Why an architecture is not pruned (``manyheads prune`` refuses it with this reason).
REFUSED: dict[str, str] = {
    "stl": "it shares no layer between tasks (one network per task); prune each task's "
    "single-task run instead",
    "soft_sharing": "its task columns are tied by a penalty between same-shaped layers, which "
    "pruning each column on its own would break",
    "ple": "its levels concatenate task and shared experts along the expert axis, which "
    "Torch-Pruning's dependency graph does not follow unit by unit",
    "cross_stitch": "its cross-stitch units mix the task columns unit by unit, so a unit "
    "cannot leave one column alone",
    "cascade": "a task's prediction enters the next task's tower, a dependency the width "
    "options cannot describe",
    "mtan": "its attention modules are convolutions over an image feature map tied to the "
    "backbone's channels",
}


def _mlp_widths(net: nn.Module) -> list[int]:
    return [m.out_features for m in net.modules() if isinstance(m, nn.Linear)]


def _tower_widths(model: MTLModel) -> list[int]:
    towers = getattr(model, "towers", None)
    assert isinstance(towers, TaskTowers)
    widths = [_mlp_widths(t) for t in towers.towers.values()]
    if any(w != widths[0] for w in widths):  # same ratio, same start: equal unless a bug
        raise ManyheadsError(f"the pruned task towers differ in width ({widths}): report this.")
    return widths[0]


def _hps_widths(model: MTLModel) -> dict[str, Any]:
    return {"hidden": _mlp_widths(model.get_submodule("bottom")), "tower": _tower_widths(model)}


def _mmoe_widths(model: MTLModel) -> dict[str, Any]:
    from manyheads.architectures._experts import FusedExperts, _FusedLinear

    experts = model.get_submodule("experts")
    assert isinstance(experts, FusedExperts)
    layers = experts.layers.children()
    return {
        "n_experts": experts.n_experts,
        "expert_hidden": [int(m.weight.shape[2]) for m in layers if isinstance(m, _FusedLinear)],
        "tower": _tower_widths(model),
    }


#: The architectures pruned, each with how its layer widths read back as its options.
PRUNABLE: dict[str, Callable[[MTLModel], dict[str, Any]]] = {
    "hps": _hps_widths,
    "mmoe": _mmoe_widths,
}


def check_prunable(architecture: str, model: MTLModel) -> None:
    """Refuse an architecture, or a model, that :func:`prune_model` cannot prune safely.

    Raises:
        InvalidParameterError: naming the architecture and why.

    Example:
        >>> check_prunable("stl", None)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: Architecture 'stl' cannot be pruned: it shares \
no layer between tasks (one network per task)...
    """
    names = ", ".join(PRUNABLE)
    if architecture not in PRUNABLE:
        why = REFUSED.get(architecture, "manyheads does not know how to prune it safely")
        raise InvalidParameterError(
            f"Architecture '{architecture}' cannot be pruned: {why}. Prunable architectures: "
            f"{names}."
        )
    if model.token_level:
        raise InvalidParameterError(
            f"This '{architecture}' model has per-token outputs (a sequence encoder): "
            "pruning supports row-level models on a pooled or tabular encoder."
        )
    towers = getattr(model, "towers", None)
    if isinstance(towers, TaskTowers) and len(towers.transitions):
        raise InvalidParameterError(
            f"This '{architecture}' model has CRF tasks, whose transition scores pruning "
            "does not follow."
        )
