"""The engine's Gramian path (no Jacobian) gives the same step as aggregating the Jacobian."""

from __future__ import annotations

import copy

import pytest
import torch

from manyheads.aggregation.base import GramianAggregator
from manyheads.architectures import create_model
from manyheads.data.preprocess import InputSpec
from manyheads.engine.backward import backward, shared_gramian, shared_jacobian
from manyheads.weighting import create_weighting

GRAMIAN = [
    "mgda",
    "pcgrad",
    "gradvac",
    "imtl",
    "cagrad",
    "nash_mtl",
    "aligned_mtl",
    "fairgrad",
    "upgrad",
]


def _step(architecture: str, seed: int = 0) -> tuple[torch.nn.Module, torch.Tensor]:
    torch.manual_seed(seed)
    spec = InputSpec(5, (4, 3), ())
    heads = {"a": 1, "b": 3, "c": 1}
    model = create_model(architecture, spec, heads)
    x = {"num": torch.randn(24, 5), "cat": torch.randint(0, 3, (24, 2))}
    out = model(x)
    losses = torch.stack(
        [out["a"].pow(2).mean(), out["b"].logsumexp(1).mean(), (out["c"] - 1).abs().mean()]
    )
    return model, losses


@pytest.mark.parametrize("architecture", ["hps", "mmoe", "cross_stitch"])
def test_gramian_without_jacobian_equals_j_jt(architecture: str) -> None:
    model, losses = _step(architecture)
    shared = model.shared_parameters()
    jac = shared_jacobian(losses, shared)
    assert torch.allclose(shared_gramian(losses, shared), jac @ jac.T, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("architecture", ["hps", "mmoe"])
@pytest.mark.parametrize("name", GRAMIAN)
def test_gramian_path_gives_the_jacobian_path_update(name: str, architecture: str) -> None:
    method = create_weighting(name, 3)
    assert isinstance(method, GramianAggregator)
    reference = copy.deepcopy(method)
    model, losses = _step(architecture)
    shared = model.shared_parameters()
    expected = reference(shared_jacobian(losses, shared))
    backward(losses, model, method)
    got = torch.cat([p.grad.flatten() for p in shared])
    assert torch.allclose(got, expected, rtol=1e-3, atol=1e-5)
    for t in model.task_names:  # task parameters keep their own task's gradient
        assert all(p.grad is not None for p in model.task_parameters(t))


def test_hps_linear_layers_take_the_jacobian_free_path() -> None:
    from manyheads.engine.backward import _linear_nodes

    model, losses = _step("hps")
    assert losses.grad_fn is not None
    found = _linear_nodes(losses.grad_fn, model.shared_parameters())
    assert len(found) == 2  # the two layers of the default shared bottom (128, 64)
