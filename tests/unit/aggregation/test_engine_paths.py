"""The engine's Gramian path (no Jacobian) gives the same step as aggregating the Jacobian."""

from __future__ import annotations

import copy

import pytest
import torch

from manyheads import create_method
from manyheads.aggregation.base import GramianAggregator
from manyheads.architectures import create_model
from manyheads.data.preprocess import InputSpec
from manyheads.engine.backward import backward, shared_gramian, shared_jacobian

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
    out_dims = {"a": 1, "b": 3, "c": 1}
    model = create_model(architecture, spec, out_dims)
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
    method = create_method(name, 3)
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


def _autocast_step(seed: int = 0) -> tuple[torch.nn.Module, torch.Tensor, dict[str, torch.Tensor]]:
    torch.manual_seed(seed)
    model = create_model("hps", InputSpec(5, (4, 3), ()), {"a": 1, "b": 3, "c": 1})
    x = {"num": torch.randn(24, 5), "cat": torch.randint(0, 3, (24, 2))}
    return model, torch.zeros(0), x


def _losses(out: dict[str, torch.Tensor]) -> torch.Tensor:
    out = {k: v.float() for k, v in out.items()}
    return torch.stack(
        [out["a"].pow(2).mean(), out["b"].logsumexp(1).mean(), (out["c"] - 1).abs().mean()]
    )


def test_linear_layers_take_the_jacobian_free_path_under_bf16_autocast() -> None:
    from manyheads.engine.backward import _linear_nodes

    model, _, x = _autocast_step()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    losses = _losses(out)
    assert losses.grad_fn is not None
    assert len(_linear_nodes(losses.grad_fn, model.shared_parameters())) == 2


BF16_CASES = [
    *(("ew", "uw", "gradnorm", *GRAMIAN, "graddrop", "moco", "db_mtl")),
    "mgda+rep",
    "upgrad+rep",
]


@pytest.mark.parametrize("case", BF16_CASES)
def test_bf16_autocast_step_is_float32_and_close_to_the_float32_step(case: str) -> None:
    # under autocast the shared layers compute in bfloat16; the engine aggregates in float32
    name, _, rep = case.partition("+")
    grads = []
    for precision in (torch.float32, torch.bfloat16):
        model, _, x = _autocast_step()
        method = create_method(name, 3, **({"rep_grad": True} if rep else {}))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == torch.bfloat16):
            features = model.forward_features(x)
            out = model.task_outputs(features)
        backward(_losses(out), model, method, features=features)
        shared = model.shared_parameters()
        assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in shared)
        grads.append(torch.cat([p.grad.flatten() for p in shared]))
    assert bool(torch.isfinite(grads[1]).all())
    cosine = torch.nn.functional.cosine_similarity(grads[0], grads[1], dim=0)
    assert cosine > 0.98, float(cosine)


def test_graddrop_rep_grad_step_backpropagates_its_per_feature_rule() -> None:
    from manyheads.engine.backward import feature_jacobian

    model, _, x = _autocast_step()
    method = create_method("graddrop", 3, rep_grad=True, seed=2)
    reference = copy.deepcopy(method)
    features = model.forward_features(x)
    losses = _losses(model.task_outputs(features))
    feats = [features] if isinstance(features, torch.Tensor) else list(features)
    update = reference.aggregate_features(feature_jacobian(losses, feats), feats)
    shared = model.shared_parameters()
    pieces, offset = [], 0
    for f in feats:
        pieces.append(update[offset : offset + f.numel()].view_as(f))
        offset += f.numel()
    expected = torch.autograd.grad(feats, shared, pieces, retain_graph=True, allow_unused=True)
    backward(losses, model, method, features=features)
    for p, e in zip(shared, expected, strict=True):
        assert p.grad is not None
        assert torch.allclose(p.grad, torch.zeros_like(p) if e is None else e, atol=1e-6)
