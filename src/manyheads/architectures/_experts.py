"""A group of expert MLPs computed together with batched matmuls (used by MMoE and PLE).

Mixture-of-experts models in other libraries keep a list of expert modules and loop over it: one
small matmul per expert and layer. :class:`FusedExperts` stores layer ``l`` of all E experts as one
``[E, in, out]`` parameter, so a layer is one ``einsum`` (first layer) or ``baddbmm`` (later ones).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from manyheads._validation import COUNT, RATE, Constraints, ValidatesParams
from manyheads.encoders.mlp import NORM

__all__ = ["FusedExperts", "gate_weights", "mix"]


def gate_weights(x: Tensor, gates: Sequence[nn.Linear]) -> list[Tensor]:
    """``softmax(W_k x + b_k)`` over the experts of each gate ``k`` (Ma et al., KDD 2018, eq. 7;
    Tang et al., RecSys 2020, eq. 3): ``x`` [..., D] -> one [..., E_k] per gate.

    Computed transposed, the same function of the same weights: one GEMM for every gate gives
    the logits as [sum E_k, N] (N = the rows of ``x``), and each softmax then runs over the
    leading dimension of a contiguous [E_k, N] block. On a CPU the softmax kernel vectorises
    over its contiguous dimension: over a last dimension of 8 experts a [1024, 8] softmax with
    its backward took 235 µs against 80 µs this way, and the gates' thin GEMMs (N = E_k
    columns each) run as one. The results agree with ``torch.softmax(gate(x), dim=-1)`` to
    float32 rounding (not bit for bit).

    Example:
        >>> torch.manual_seed(0)
        <torch._C.Generator object at ...>
        >>> gates = [nn.Linear(3, 2), nn.Linear(3, 4)]
        >>> x = torch.randn(5, 3)
        >>> [tuple(w.shape) for w in gate_weights(x, gates)]
        [(5, 2), (5, 4)]
        >>> torch.allclose(gate_weights(x, gates)[1], torch.softmax(gates[1](x), dim=-1))
        True
    """
    if not gates:
        return []
    flat = x.reshape(-1, x.shape[-1])  # [N, D]
    widths = [g.out_features for g in gates]
    weight = torch.cat([g.weight for g in gates]) if len(gates) > 1 else gates[0].weight
    bias = torch.cat([g.bias for g in gates]) if len(gates) > 1 else gates[0].bias
    logits = torch.addmm(bias.unsqueeze(1), weight, flat.t())  # [sum E_k, N]
    if all(w == widths[0] for w in widths):  # one softmax over [K, E, N]
        blocks = torch.softmax(logits.view(len(gates), widths[0], -1), dim=1).unbind(0)
    else:
        blocks = tuple(torch.softmax(b, dim=0) for b in torch.split(logits, widths))
    return [b.t().reshape(*x.shape[:-1], b.shape[0]) for b in blocks]  # [..., E_k] each


def mix(weights: Tensor, experts: Tensor) -> Tensor:
    """Gate-weighted sum of expert outputs: weights [..., E], experts [..., E, H] -> [..., H].

    The leading dimensions are ``[B]``, or ``[B, L]`` for per-token features.

    Example:
        >>> mix(torch.tensor([[0.25, 0.75]]), torch.tensor([[[4.0], [8.0]]]))
        tensor([[7.]])
    """
    # An elementwise product and a sum: B tiny [1, E] x [E, H] bmm calls are slower on CPU.
    return (weights.unsqueeze(-1) * experts).sum(dim=-2)


class _FusedLinear(nn.Module):
    """E independent ``nn.Linear(in_dim, out_dim)`` layers stored as one [E, in, out] weight."""

    def __init__(self, n_experts: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_experts, in_dim, out_dim))
        self.bias = nn.Parameter(torch.empty(n_experts, out_dim))
        # The default initialisation of nn.Linear: U(-1/sqrt(in), 1/sqrt(in)) for both.
        bound = 1.0 / math.sqrt(in_dim) if in_dim > 0 else 0.0
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, h: Tensor) -> Tensor:
        """[B, in] (shared by all experts) or [E, B, in] -> [E, B, out]."""
        if h.dim() == 2:
            # One plain GEMM for all experts: [B, in] x [in, E * out] -> [B, E, out], returned as
            # an [E, B, out] view. (einsum lowers this to a broadcast bmm, ~3x slower on CPU.)
            n_experts, in_dim, out_dim = self.weight.shape
            flat = self.weight.permute(1, 0, 2).reshape(in_dim, n_experts * out_dim)
            out = torch.addmm(self.bias.reshape(-1), h, flat)  # [B, E * out]
            return out.view(h.shape[0], n_experts, out_dim).transpose(0, 1)
        return torch.baddbmm(self.bias.unsqueeze(1), h, self.weight)


class _FusedNorm(nn.Module):
    """Per-expert batch or layer normalisation of [E, B, D] activations."""

    def __init__(self, kind: str, n_experts: int, dim: int) -> None:
        super().__init__()
        self.kind = kind
        if kind == "batch":
            # BatchNorm statistics are per feature, so one BatchNorm over E * D features is
            # exactly E separate BatchNorms.
            self.batch = nn.BatchNorm1d(n_experts * dim)
        else:
            self.weight = nn.Parameter(torch.ones(n_experts, 1, dim))
            self.bias = nn.Parameter(torch.zeros(n_experts, 1, dim))

    def forward(self, h: Tensor) -> Tensor:
        n_experts, batch, dim = h.shape
        if self.kind == "batch":
            flat = h.transpose(0, 1).reshape(batch, n_experts * dim)  # [B, E * D]
            out: Tensor = self.batch(flat)
            return out.reshape(batch, n_experts, dim).transpose(0, 1)
        return F.layer_norm(h, (dim,)) * self.weight + self.bias


class FusedExperts(ValidatesParams, nn.Module):
    """E expert MLPs (``Linear -> [norm] -> ReLU -> [dropout]`` per layer) evaluated in one pass.

    Expert ``e`` computes exactly what an :class:`~manyheads.encoders.MLP` with the weights
    ``weight[e].T`` and ``bias[e]`` of each layer computes (the experts ``f_i`` of Ma et al.,
    KDD 2018, eq. 6, and ``E_k``, ``E_s`` of Tang et al., RecSys 2020, eq. 3).

    Args:
        in_dim: input width, shared by all experts.
        n_experts: number of experts E.
        hidden: widths of each expert's layers; empty means identity experts.
        dropout: dropout probability after each activation.
        norm: ``none``, ``batch`` or ``layer`` (per expert).

    Raises:
        InvalidParameterError: ``n_experts`` < 1, or an invalid ``dropout`` or ``norm``.

    Per-token input ``[B, L, in]`` is flattened to ``[B * L, in]`` for the fused layers (so
    batch normalisation sees one sample per token) and gives ``[B, L, E, out_dim]``.

    Example:
        >>> experts = FusedExperts(5, 3, [16, 8])
        >>> experts(torch.zeros(4, 5)).shape
        torch.Size([4, 3, 8])
        >>> experts(torch.zeros(4, 7, 5)).shape
        torch.Size([4, 7, 3, 8])
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "n_experts": [COUNT],
        "dropout": [RATE],
        "norm": [NORM],
    }

    def __init__(
        self,
        in_dim: int,
        n_experts: int,
        hidden: Sequence[int],
        *,
        dropout: float = 0.0,
        norm: str = "none",
    ) -> None:
        super().__init__()
        self.n_experts = n_experts
        widths = [in_dim, *hidden]
        self.layers = nn.ModuleList(_FusedLinear(n_experts, a, b) for a, b in pairwise(widths))
        self.norms = nn.ModuleList(
            _FusedNorm(norm, n_experts, b) for b in widths[1:] if norm != "none"
        )
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.out_dim: int = widths[-1]

    def forward(self, x: Tensor) -> Tensor:
        """Expert outputs for a batch ``x`` [B, in]: [B, E, out_dim] (``[B, L, ...]`` per token)."""
        if x.dim() > 2:
            out = self._experts(x.reshape(-1, x.shape[-1]))  # [B * L, E, out]
            return out.reshape(*x.shape[:-1], *out.shape[1:])
        return self._experts(x)

    def _experts(self, x: Tensor) -> Tensor:
        """[B, in] -> [B, E, out_dim]."""
        if not self.layers:
            return x.unsqueeze(1).expand(-1, self.n_experts, -1)
        h = x
        for i, layer in enumerate(self.layers):
            h = layer(h)  # [E, B, D]
            if self.norms:
                h = self.norms[i](h)
            h = self.dropout(torch.relu(h))
        return h.transpose(0, 1)
