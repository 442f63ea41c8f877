"""MMoE: gates are distributions over experts; the mixture feeds each task's tower."""

from __future__ import annotations

import pytest
import torch

from manyheads.architectures import MMoE
from manyheads.encoders import TabularInput
from manyheads.errors import InvalidParameterError
from manyheads.testing import make_toy_problem

PROBLEM = make_toy_problem(32)


def build(**options: object) -> MMoE:
    torch.manual_seed(0)
    return MMoE(TabularInput(PROBLEM.spec), PROBLEM.out_dims, **options)  # type: ignore[arg-type]


def test_gate_weights_are_distributions() -> None:
    model = build(n_experts=5)
    with torch.no_grad():
        model.gates["binary"].weight.normal_(std=3.0)  # far from uniform
        embedding, _ = model.forward_features(PROBLEM.x)
        gates = model.gate_weights(embedding)
    for weights in gates.values():
        assert weights.shape == (PROBLEM.n_rows, 5)
        assert (weights >= 0).all()
        torch.testing.assert_close(weights.sum(dim=1), torch.ones(PROBLEM.n_rows))
    assert not torch.allclose(gates["binary"], gates["regression"])


def test_features_are_embedding_and_expert_outputs() -> None:
    model = build(n_experts=3, expert_hidden=(16, 12))
    embedding, experts = model.forward_features(PROBLEM.x)
    assert embedding.shape == (PROBLEM.n_rows, model.input.out_dim)
    assert experts.shape == (PROBLEM.n_rows, 3, 12)


def test_one_expert_makes_the_gates_irrelevant() -> None:
    model = build(n_experts=1).eval()
    with torch.no_grad():
        before = model(PROBLEM.x)
        for gate in model.gates.values():
            gate.weight.normal_()
        after = model(PROBLEM.x)
    for task in PROBLEM.out_dims:
        torch.testing.assert_close(after[task], before[task])


def test_output_is_tower_of_gated_mixture() -> None:
    model = build(n_experts=4).eval()
    with torch.no_grad():
        embedding, experts = model.forward_features(PROBLEM.x)
        gate = torch.softmax(model.gates["regression"](embedding), dim=-1)
        mixed = (gate.unsqueeze(-1) * experts).sum(dim=1)  # eq. 6
        expected = model.towers.forward_task("regression", mixed)
        torch.testing.assert_close(model(PROBLEM.x)["regression"], expected)


def test_each_task_owns_its_gate() -> None:
    model = build()
    owned = {id(p) for p in model.task_parameters("binary")}
    assert {id(p) for p in model.gates["binary"].parameters()} <= owned
    assert not {id(p) for p in model.gates["multiclass"].parameters()} & owned
    assert {id(p) for p in model.experts.parameters()} <= {id(p) for p in model.shared_parameters()}


def test_n_experts_is_validated() -> None:
    with pytest.raises(InvalidParameterError, match=r"'n_experts' option of MMoE .* Got 0"):
        build(n_experts=0)
