"""Known answers and defining properties of the loss weightings."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from manyheads.architectures import create_model
from manyheads.data.preprocess import InputSpec
from manyheads.engine.backward import backward
from manyheads.errors import InvalidParameterError
from manyheads.weighting import DWA, FAMO, GLS, IMTLL, RLW, STCH, UW, GradNorm


def test_uw_learns_the_noise_levels_of_a_toy_regression() -> None:
    torch.manual_seed(0)
    n, sigmas = 4000, torch.tensor([0.5, 2.0])
    x = torch.randn(n, 3)
    w_true = torch.tensor([1.0, -2.0, 0.5])
    y = (x @ w_true).unsqueeze(1) + sigmas * torch.randn(n, 2)  # [N, 2]
    model, uw = nn.Linear(3, 2), UW(2)
    opt = torch.optim.Adam([*model.parameters(), *uw.parameters()], lr=0.05)
    for _ in range(600):
        opt.zero_grad()
        losses = ((model(x) - y) ** 2).mean(0)
        ((uw(losses) * losses).sum() + uw.extra_loss()).backward()
        opt.step()
    assert torch.allclose(uw.log_vars.exp(), sigmas**2, rtol=0.1)


def test_imtl_l_drives_every_scaled_loss_to_one() -> None:
    method = IMTLL(2)
    opt = torch.optim.SGD(method.parameters(), lr=0.1)
    losses = torch.tensor([0.5, 4.0])
    for _ in range(300):
        opt.zero_grad()
        ((method(losses) * losses).sum() + method.extra_loss()).backward()
        opt.step()
    assert torch.allclose(method(losses).detach() * losses, torch.ones(2), atol=1e-3)


def test_dwa_follows_equation_7() -> None:
    dwa = DWA(3, temperature=2.0)
    assert torch.equal(dwa(torch.ones(3)), torch.ones(3))
    dwa.end_epoch(torch.tensor([1.0, 2.0, 4.0]))
    dwa.end_epoch(torch.tensor([0.5, 2.0, 2.0]))
    ratio = torch.tensor([0.5, 1.0, 0.5])
    assert torch.allclose(dwa(torch.ones(3)), 3 * torch.softmax(ratio / 2.0, 0))


def test_dwa_rejects_a_bad_temperature_with_the_style_message() -> None:
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'temperature' option of DWA must be a float > 0\. Got -1.0 instead\.",
    ):
        DWA(2, temperature=-1.0)


def test_gls_is_the_gradient_of_the_geometric_mean() -> None:
    losses = torch.tensor([0.5, 2.0, 3.0], requires_grad=True)
    losses.prod().pow(1 / 3).backward()
    assert losses.grad is not None
    assert torch.allclose(GLS(3)(losses.detach()), losses.grad)


def test_rlw_is_seeded_and_sums_to_one() -> None:
    a, b = RLW(4, seed=3), RLW(4, seed=3)
    first = [a(torch.ones(4)) for _ in range(3)]
    assert all(torch.equal(x, b(torch.ones(4))) for x in first)
    assert not torch.equal(first[0], first[1])
    assert torch.isclose(first[0].sum(), torch.tensor(1.0))


def test_famo_weights_and_logit_update() -> None:
    famo = FAMO(2)
    losses = torch.tensor([1.0, 3.0])
    weights = famo(losses)
    z = torch.tensor([0.5, 0.5])
    assert torch.allclose(weights, z / losses / (z / losses).sum(), atol=1e-6)
    famo(torch.tensor([0.5, 3.0]))  # task 0 improved: its logit goes down
    assert famo.logits[0] < famo.logits[1]


def test_stch_tends_to_equal_weights_and_to_the_worst_task() -> None:
    losses = torch.tensor([1.0, 3.0])
    assert torch.allclose(STCH(2, mu=1e6)(losses), torch.ones(2))
    assert torch.allclose(STCH(2, mu=1e-3)(losses), torch.tensor([0.0, 2.0]))


def test_gradnorm_moves_weight_towards_the_task_with_the_smaller_gradient() -> None:
    torch.manual_seed(0)
    model = create_model("hps", InputSpec(4, (), ()), {"a": 1, "b": 1}, hidden=[8], tower=[])
    method = GradNorm(2, alpha=0.0)
    opt = torch.optim.SGD(method.parameters(), lr=0.05)
    x = torch.randn(32, 4)
    for _ in range(20):
        opt.zero_grad()
        model.zero_grad()
        out = model({"num": x})
        losses = torch.stack([out["a"].pow(2).mean(), 10 * (out["b"] - 1).pow(2).mean()])
        backward(losses, model, method)
        opt.step()
    weights = method(torch.ones(2))
    assert weights[0] > weights[1]
    assert torch.isclose(weights.sum(), torch.tensor(2.0))


def test_rlw_restarts_its_draws_on_reset() -> None:
    method = RLW(3, seed=4)
    first = [method(torch.ones(3)) for _ in range(3)]
    method.reset()
    again = [method(torch.ones(3)) for _ in range(3)]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], first[1])


def test_a_training_run_starts_by_resetting_its_method(
    toy_frame: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import manyheads as mh

    draws: list[list[float]] = []
    original = RLW.forward

    def spy(self: RLW, losses: torch.Tensor) -> torch.Tensor:
        out = original(self, losses)
        draws.append(out.tolist())
        return out

    resets: list[int] = []
    original_reset = RLW.reset

    def spy_reset(self: RLW) -> None:
        resets.append(1)
        original_reset(self)

    monkeypatch.setattr(RLW, "forward", spy)
    monkeypatch.setattr(RLW, "reset", spy_reset)
    tasks = [mh.Task("good", type="binary"), mh.Task("score", type="regression")]
    inputs = {"x": "numeric", "x2": "numeric"}
    kwargs = {"method": "rlw", "epochs": 1, "batch_size": 256, "seed": 1}
    mh.fit(toy_frame, tasks=tasks, inputs=inputs, **kwargs)  # type: ignore[arg-type]
    assert resets == [1]
    first, draws[:] = list(draws), []
    mh.fit(toy_frame, tasks=tasks, inputs=inputs, **kwargs)  # type: ignore[arg-type]
    assert draws == first  # same seed, reset at the start: the same draws
