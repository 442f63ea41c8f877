from __future__ import annotations

import torch
from torch import Tensor, nn

from manyheads.aggregation import Aggregator
from manyheads.architectures import create_model
from manyheads.data.preprocess import InputSpec
from manyheads.engine.backward import backward, shared_jacobian
from manyheads.weighting import EW, Static, create_weighting


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


def test_jacobian_methods_keep_one_buffer_across_steps() -> None:
    model, _ = _model_and_losses()
    method = create_weighting("graddrop", 2)
    pointers = set()
    for _ in range(3):
        model.zero_grad()
        out = model({"num": torch.randn(16, 4)})
        losses = torch.stack([out["a"].pow(2).mean(), (out["b"] - 1).pow(2).mean()])
        backward(losses, model, method)
        pointers.add(method._jacobian_buffer.data_ptr())
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
