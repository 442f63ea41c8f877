"""``gate_weights``: every gate's softmax from one transposed product, the same function as
``softmax(gate(x), dim=-1)`` per gate, and MMoE / PLE built on it."""

from __future__ import annotations

import torch
from torch import nn

from manyheads.architectures._experts import gate_weights
from manyheads.architectures.mmoe import MMoE
from manyheads.encoders import TabularInput
from manyheads.testing import make_toy_problem


def _gates(*widths: int, in_dim: int = 6) -> list[nn.Linear]:
    torch.manual_seed(0)
    gates = [nn.Linear(in_dim, w) for w in widths]
    with torch.no_grad():
        for g in gates:
            g.weight.mul_(5.0)  # far from uniform, so a wrong axis shows
    return gates


def test_equal_widths_match_each_gates_own_softmax() -> None:
    gates, x = _gates(8, 8, 8), torch.randn(37, 6)
    for got, gate in zip(gate_weights(x, gates), gates, strict=True):
        torch.testing.assert_close(got, torch.softmax(gate(x), dim=-1), rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(got.sum(dim=-1), torch.ones(37))


def test_different_widths_and_per_token_input() -> None:
    gates, x = _gates(3, 5), torch.randn(4, 7, 6)  # [B, L, D]
    out = gate_weights(x, gates)
    assert [tuple(w.shape) for w in out] == [(4, 7, 3), (4, 7, 5)]
    for got, gate in zip(out, gates, strict=True):
        torch.testing.assert_close(got, torch.softmax(gate(x), dim=-1), rtol=1e-6, atol=1e-7)


def test_gradients_match_each_gates_own_softmax() -> None:
    gates, x = _gates(4, 4), torch.randn(9, 6)
    target = torch.randn(9, 4)
    sum(((w - target) ** 2).sum() for w in gate_weights(x, gates)).backward()
    fused = [p.grad.clone() for g in gates for p in g.parameters()]
    for g in gates:
        g.zero_grad()
    sum(((torch.softmax(g(x), dim=-1) - target) ** 2).sum() for g in gates).backward()
    for got, want in zip(fused, [p.grad for g in gates for p in g.parameters()], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_mmoe_gates_of_a_subset_are_the_full_models_bit_for_bit() -> None:
    problem = make_toy_problem(64, task_types=("binary", "regression", "multiclass"))
    torch.manual_seed(0)
    model = MMoE(TabularInput(problem.spec), problem.out_dims, n_experts=4, expert_hidden=[8])
    with torch.no_grad():
        embedding, _ = model.forward_features(problem.x)
        full = model.gate_weights(embedding)
        one = model.gate_weights(embedding, tasks=["regression"])
    assert list(one) == ["regression"]
    assert torch.equal(one["regression"], full["regression"])
