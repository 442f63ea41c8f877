"""The optimiser of a run: parameter groups with their learning rates, then AdamW, Adam or SGD."""

from __future__ import annotations

from typing import Any

import torch

from manyheads.architectures.base import MTLModel
from manyheads.config.train import TrainSettings
from manyheads.encoders.base import InputEncoder

__all__ = ["ParamGroup", "build_optimizer", "param_groups"]

#: One ``torch.optim`` parameter group: ``params``, ``lr`` and ``initial_lr`` (the schedule's base).
ParamGroup = dict[str, Any]


def param_groups(
    model: MTLModel, method: torch.nn.Module, settings: TrainSettings
) -> list[ParamGroup]:
    """The encoder, shared, task-specific and balancing-method parameters, each group with its
    learning rate (``lr_encoder``, ``lr_shared``, ``lr_task``, else ``lr``); empty groups are
    left out. The input encoders' parameters form their own group only with ``lr_encoder``;
    a wide path's (:mod:`manyheads.encoders._wide`) always form their own group, last, with
    its ``weight_decay`` and learning rate (``wide_lr``, else the task layers')."""
    s = settings
    wide = _wide_group(model, s)
    encoder: dict[int, torch.nn.Parameter] = {}
    if s.lr_encoder is not None:
        for module in model.modules():
            if isinstance(module, InputEncoder):
                encoder.update((id(p), p) for p in module.parameters())
    skip = {*encoder, *(id(p) for p in (wide["params"] if wide is not None else []))}
    shared = [p for p in model.shared_parameters() if id(p) not in skip]
    task = [p for t in model.task_names for p in model.task_parameters(t) if id(p) not in skip]
    groups = []
    for params, lr in (
        (list(encoder.values()), s.lr_encoder),
        (shared, s.lr_shared),
        (task, s.lr_task),
        (list(method.parameters()), None),
    ):
        if params:
            groups.append({"params": params, "lr": lr if lr is not None else s.base_lr()})
    if wide is not None:
        groups.append(wide)
    for g in groups:
        g["initial_lr"] = g["lr"]
    return groups


def _wide_group(model: MTLModel, settings: TrainSettings) -> ParamGroup | None:
    """The optimiser group of ``model``'s wide path, or None without one."""
    from manyheads.encoders._wide import WidePath

    wide = getattr(getattr(model, "towers", None), "wide", None)
    if not isinstance(wide, WidePath):
        return None
    params = [p for t in model.task_names for p in wide.task_parameters(t)]
    task_lr = settings.lr_task if settings.lr_task is not None else settings.base_lr()
    lr = wide.lr if wide.lr is not None else task_lr
    return {"params": params, "lr": lr, "weight_decay": wide.weight_decay}


def build_optimizer(groups: list[ParamGroup], settings: TrainSettings) -> torch.optim.Optimizer:
    """The ``optimizer`` of ``settings`` over ``groups`` (see :func:`param_groups`).

    The step is torch's multi-tensor (``foreach``) form: bit-for-bit the per-tensor loop's
    update in fewer, larger operations; with ``fused_optimizer`` the fused kernel (one pass,
    last-bit rounding may differ)."""
    s = settings
    kernel = _kernel(s)
    fused, foreach = kernel.get("fused"), kernel.get("foreach")
    if s.optimizer == "sgd":
        return torch.optim.SGD(
            groups,
            lr=s.base_lr(),
            momentum=s.momentum,
            weight_decay=s.weight_decay,
            foreach=foreach,
            fused=fused,
        )
    cls = torch.optim.Adam if s.optimizer == "adam" else torch.optim.AdamW
    return cls(groups, lr=s.base_lr(), weight_decay=s.weight_decay, foreach=foreach, fused=fused)


def _kernel(settings: TrainSettings) -> dict[str, bool]:
    """``{"fused": True}`` with ``fused_optimizer``, else ``{"foreach": True}``."""
    return {"fused": True} if settings.fused_optimizer else {"foreach": True}
