"""Whole experts of an MMoE removed by how little its gates use them (``prune --experts``)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from manyheads.architectures.base import MTLModel

__all__ = ["EXPERT_PRUNABLE", "USAGE_ROWS", "drop_experts", "expert_usage"]

#: The architectures whose experts ``prune --experts`` removes.
EXPERT_PRUNABLE = ("mmoe",)

#: The training rows the gates' use of each expert is measured on (the first ones).
USAGE_ROWS = 4096


def expert_usage(model: MTLModel, x: dict[str, Tensor]) -> Tensor:
    """How much the tasks use each expert of an MMoE on the encoded rows ``x``: each task's
    mean gate weight per expert, summed over the tasks ([E]; it sums to the number of tasks).

    Example:
        >>> from manyheads.architectures.base import example_input
        >>> from manyheads.architectures.mmoe import MMoE
        >>> enc, batch = example_input()
        >>> round(float(expert_usage(MMoE(enc, {"a": 1, "b": 4}, n_experts=3), batch).sum()), 4)
        2.0
    """
    from manyheads.architectures.mmoe import MMoE

    assert isinstance(model, MMoE)
    with torch.no_grad():
        gates = model.gate_weights(model.get_submodule("input")(x))
    return torch.stack([g.mean(0) for g in gates.values()]).sum(0)


def drop_experts(model: MTLModel, usage: Tensor, share: float) -> list[int]:
    """Remove ``floor(share * E)`` of an MMoE's E experts, the lowest ``usage``
    (:func:`expert_usage`), in place: their slices of every fused expert layer and
    normalisation, and their rows of every task's gate (each gate's softmax then runs over the
    experts left). At least one expert stays. Returns the indices of the experts kept, in order.
    """
    import torch_pruning as tp

    from manyheads.architectures._experts import _FusedLinear, _FusedNorm
    from manyheads.architectures.mmoe import MMoE
    from manyheads.compress._pruners import _sliced

    assert isinstance(model, MMoE)
    experts = model.experts
    n = experts.n_experts
    n_keep = max(1, n - math.floor(share * n + 1e-9))
    keep = sorted(int(i) for i in torch.argsort(usage, descending=True)[:n_keep])
    index = torch.tensor(keep, dtype=torch.long)
    for layer in experts.layers:
        assert isinstance(layer, _FusedLinear)
        layer.weight = _sliced(layer.weight, 0, index)
        layer.bias = _sliced(layer.bias, 0, index)
    for norm in experts.norms:
        assert isinstance(norm, _FusedNorm)
        if norm.kind == "batch":
            dim = norm.batch.num_features // n
            gone = [e * dim + j for e in range(n) if e not in keep for j in range(dim)]
            tp.prune_batchnorm_out_channels(norm.batch, gone)
        else:
            norm.weight = _sliced(norm.weight, 0, index)
            norm.bias = _sliced(norm.bias, 0, index)
    experts.n_experts = n_keep
    for gate in model.gates.values():
        assert isinstance(gate, nn.Linear)
        gate.weight = _sliced(gate.weight, 0, index)
        gate.bias = _sliced(gate.bias, 0, index)
        gate.out_features = n_keep
    return keep
