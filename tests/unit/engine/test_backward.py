from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

import manyheads.engine._jacobian_blocks as blocks_module
from manyheads import create_method
from manyheads.aggregation import Aggregator, ColumnwiseAggregator
from manyheads.architectures import create_model
from manyheads.data.preprocess import InputSpec
from manyheads.engine.backward import backward, columnwise_update, shared_jacobian, write_jacobian
from manyheads.weighting import EW, Static


class _Mean(Aggregator):
    def forward(self, grads: Tensor) -> Tensor:
        return grads.mean(dim=0)


def _model_and_losses() -> tuple[nn.Module, Tensor]:
    torch.manual_seed(0)
    model = create_model("hps", InputSpec(4, (), ()), {"a": 1, "b": 1}, hidden=[8], tower=[4])
    out = model({"num": torch.randn(16, 4)})
    losses = torch.stack([out["a"].pow(2).mean(), (out["b"] - 1).pow(2).mean()])
    return model, losses


def test_jacobian_rows_equal_per_task_gradients() -> None:
    model, losses = _model_and_losses()
    shared = model.shared_parameters()
    jac = shared_jacobian(losses, shared)
    for t in range(2):
        grads = torch.autograd.grad(losses[t], shared, retain_graph=True)
        assert torch.allclose(jac[t], torch.cat([g.flatten() for g in grads]), atol=1e-6)


def test_jacobian_into_a_dirty_buffer_equals_a_fresh_one() -> None:
    model, losses = _model_and_losses()
    unused = nn.Parameter(torch.ones(3))  # declared shared, no gradient this step: zero rows
    shared = [*model.shared_parameters(), unused]
    expected = shared_jacobian(losses, shared)
    buffer = torch.full_like(expected, float("nan"))
    got = shared_jacobian(losses, shared, out=buffer)
    assert got.data_ptr() == buffer.data_ptr()
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    assert (got[:, -3:] == 0).all()


def _steps(model: nn.Module, n: int) -> list[Tensor]:
    generator = torch.Generator().manual_seed(1)
    batches = []
    for _ in range(n):
        x = torch.randn(16, 4, generator=generator)
        batches.append(x)
    return batches


def _losses(model: nn.Module, x: Tensor) -> Tensor:
    out = model({"num": x})
    return torch.stack([out["a"].pow(2).mean(), (out["b"] - 1).pow(2).mean()])


@pytest.mark.parametrize("name", ["moco", "db_mtl", "graddrop"])
@pytest.mark.parametrize("block", [1 << 20, 5])
def test_fused_jacobian_methods_equal_their_reference_on_the_materialised_jacobian(
    name: str, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The engine writes MoCo's / DB-MTL's running matrix inside the GEMMs that compute J and
    # streams GradDrop's columns; over several steps (stateful EMAs, fresh draws) and with
    # blocks of a few columns (monkeypatched) both must equal forward() on the full J.
    monkeypatch.setattr(blocks_module, "BLOCK_ELEMENTS", block)
    model, _ = _model_and_losses()
    unused = nn.Parameter(torch.ones(3))  # declared shared, no gradient: zero columns
    shared = [*model.shared_parameters(), unused]
    fused, reference = create_method(name, 2), create_method(name, 2)
    assert isinstance(fused, Aggregator)
    assert isinstance(reference, Aggregator)
    for x in _steps(model, 4):
        losses = _losses(model, x)
        expected = reference_update(losses, shared, reference)
        if isinstance(fused, ColumnwiseAggregator):
            got = columnwise_update(losses, shared, fused)
        else:
            target = fused.jacobian_target(expected.numel(), losses)
            assert target is not None
            write_jacobian(losses, shared, target)
            got = fused.aggregate_target(target)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(fused.state_dict(), reference.state_dict())


def reference_update(losses: Tensor, params: list[nn.Parameter], method: Aggregator) -> Tensor:
    rows = []
    for t in range(losses.shape[0]):
        grads = torch.autograd.grad(losses[t], params, retain_graph=True, allow_unused=True)
        pairs = zip(grads, params, strict=True)
        rows.append(
            torch.cat([(torch.zeros_like(p) if g is None else g).flatten() for g, p in pairs])
        )
    return method(torch.stack(rows))


def test_moco_tracks_its_jacobian_in_one_buffer_and_graddrop_holds_none() -> None:
    model, _ = _model_and_losses()
    moco, graddrop = create_method("moco", 2), create_method("graddrop", 2)
    pointers = set()
    for x in _steps(model, 3):
        for method in (moco, graddrop):
            model.zero_grad()
            backward(_losses(model, x), model, method)
        pointers.add(moco.y.data_ptr())
    assert len(pointers) == 1
    assert not hasattr(graddrop, "_jacobian_buffer")


class _ReusingMean(_Mean):
    reuses_jacobian = True


def test_an_aggregator_that_reuses_the_jacobian_gets_one_buffer_and_the_same_update() -> None:
    model, _ = _model_and_losses()
    reusing, fresh = _ReusingMean(2), _Mean(2)
    pointers = set()
    for x in _steps(model, 3):
        model.zero_grad()
        backward(_losses(model, x), model, fresh)
        expected = [p.grad.clone() for p in model.shared_parameters()]
        model.zero_grad()
        backward(_losses(model, x), model, reusing)
        pointers.add(reusing._jacobian_buffer.data_ptr())
        for p, g in zip(model.shared_parameters(), expected, strict=True):
            torch.testing.assert_close(p.grad, g, rtol=0, atol=0)
    assert len(pointers) == 1


def test_mean_aggregator_equals_half_the_summed_gradient_on_shared_params() -> None:
    model, losses = _model_and_losses()
    backward(losses, model, _Mean(2))
    got = [p.grad.clone() for p in model.shared_parameters()]
    heads = [p.grad.clone() for p in model.task_parameters("a")]
    model.zero_grad()
    _, losses = _model_and_losses()
    model2, losses2 = _model_and_losses()
    losses2.sum().backward()
    for g, p in zip(got, model2.shared_parameters(), strict=True):
        assert torch.allclose(g, p.grad / 2, atol=1e-6)
    for g, p in zip(heads, model2.task_parameters("a"), strict=True):
        assert torch.allclose(g, p.grad, atol=1e-6)


def test_static_weighting_scales_each_task_gradient() -> None:
    model, losses = _model_and_losses()
    weights = backward(losses, model, Static(2, weights=[2.0, 0.0]))
    assert weights.tolist() == [2.0, 0.0]
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.task_parameters("b"))
    model2, losses2 = _model_and_losses()
    backward(losses2, model2, EW(2))
    a_grad = model.task_parameters("a")[-1].grad
    a_ref = model2.task_parameters("a")[-1].grad
    assert a_grad is not None
    assert a_ref is not None
    assert torch.allclose(a_grad, 2 * a_ref)
