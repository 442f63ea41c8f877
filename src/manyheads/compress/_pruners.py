"""What Torch-Pruning needs to know about manyheads's own layers.

:class:`~manyheads.architectures._experts.FusedExperts` stores layer ``l`` of all E experts as
one ``[E, in, out]`` weight (``_FusedLinear``) and normalises per expert (``_FusedNorm``);
Torch-Pruning knows neither, so each gets a pruning function (which slices of the tensors a
hidden unit owns), and :class:`GroupL2` scores a unit by the L2 norm of the weights it owns in
every layer of its dependency group, ``nn.Linear`` and fused layers alike (Torch-Pruning's
``GroupMagnitudeImportance`` skips layers it does not know). A unit of an expert layer is
removed from every expert at once, so that all experts keep one width (the ``expert_hidden``
option).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch_pruning as tp
from torch import Tensor, nn

from manyheads.architectures._experts import _FusedLinear, _FusedNorm

__all__ = ["FusedLinearPruner", "FusedNormPruner", "GroupL2"]


def _keep(size: int, idxs: Sequence[int]) -> Tensor:
    drop = set(int(i) for i in idxs)
    return torch.tensor([i for i in range(size) if i not in drop], dtype=torch.long)


def _sliced(param: Tensor, dim: int, keep: Tensor) -> nn.Parameter:
    return nn.Parameter(param.data.index_select(dim, keep).clone(), param.requires_grad)


class FusedLinearPruner(tp.pruner.BasePruningFunc):  # type: ignore[misc]
    """Out units are the last axis of ``weight [E, in, out]`` and of ``bias [E, out]``; in units
    the middle axis of ``weight``."""

    TARGET_MODULES = _FusedLinear

    def prune_out_channels(self, layer: nn.Module, idxs: Sequence[int]) -> nn.Module:
        assert isinstance(layer, _FusedLinear)
        keep = _keep(layer.weight.shape[2], idxs)
        layer.weight = _sliced(layer.weight, 2, keep)
        layer.bias = _sliced(layer.bias, 1, keep)
        return layer

    def prune_in_channels(self, layer: nn.Module, idxs: Sequence[int]) -> nn.Module:
        assert isinstance(layer, _FusedLinear)
        layer.weight = _sliced(layer.weight, 1, _keep(layer.weight.shape[1], idxs))
        return layer

    def get_out_channels(self, layer: nn.Module) -> int:
        assert isinstance(layer, _FusedLinear)
        return int(layer.weight.shape[2])

    def get_in_channels(self, layer: nn.Module) -> int:
        assert isinstance(layer, _FusedLinear)
        return int(layer.weight.shape[1])


class FusedNormPruner(tp.pruner.BasePruningFunc):  # type: ignore[misc]
    """Per-expert layer norm (``weight``/``bias [E, 1, D]``) or one batch norm over ``E * D``
    features (expert-major: unit ``j`` of expert ``e`` is feature ``e * D + j``)."""

    TARGET_MODULES = _FusedNorm

    def __init__(self, n_experts: int) -> None:
        super().__init__()
        self.n_experts = n_experts

    def prune_out_channels(self, layer: nn.Module, idxs: Sequence[int]) -> nn.Module:
        assert isinstance(layer, _FusedNorm)
        if layer.kind == "batch":
            dim = self.get_out_channels(layer)
            flat = [e * dim + int(j) for e in range(self.n_experts) for j in idxs]
            tp.prune_batchnorm_out_channels(layer.batch, flat)
        else:
            keep = _keep(layer.weight.shape[2], idxs)
            layer.weight = _sliced(layer.weight, 2, keep)
            layer.bias = _sliced(layer.bias, 2, keep)
        return layer

    prune_in_channels = prune_out_channels

    def get_out_channels(self, layer: nn.Module) -> int:
        assert isinstance(layer, _FusedNorm)
        if layer.kind == "batch":
            return int(layer.batch.num_features // self.n_experts)
        return int(layer.weight.shape[2])

    get_in_channels = get_out_channels


class GroupL2(tp.importance.Importance):  # type: ignore[misc]
    """The L2 norm of the weights a hidden unit owns, over every linear layer of its group:
    its row in the layer that computes it and its column in each layer that reads it."""

    @torch.no_grad()
    def __call__(self, group: Any) -> Tensor | None:  # noqa: ANN401 - a Torch-Pruning Group
        total: Tensor | None = None
        for i, (dep, idxs) in enumerate(group):
            roots = group[i].root_idxs
            score = _owned_squares(dep.layer, dep.pruning_fn.__name__, list(idxs))
            if score is None or any(r is None for r in roots):
                continue
            size = max(roots) + 1
            if total is None or total.numel() < size:
                grown = torch.zeros(size)
                if total is not None:
                    grown[: total.numel()] = total
                total = grown
            total.scatter_add_(0, torch.tensor(roots, dtype=torch.long), score.float())
        return None if total is None else total.sqrt()


def _owned_squares(layer: nn.Module, how: str, idxs: list[int]) -> Tensor | None:
    """Sum of squared weights per unit in ``idxs`` of ``layer`` (None: a layer without any)."""
    out = how == "prune_out_channels"
    if isinstance(layer, nn.Linear):
        w = layer.weight  # [out, in]
        return w[idxs].pow(2).sum(1) if out else w[:, idxs].pow(2).sum(0)
    if isinstance(layer, _FusedLinear):
        w = layer.weight  # [E, in, out]
        return w[:, :, idxs].pow(2).sum((0, 1)) if out else w[:, idxs, :].pow(2).sum((0, 2))
    return None
