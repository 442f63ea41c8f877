"""Cascade: chained towers, order and kinds validation, and the ESMM funnel."""

from __future__ import annotations

import pytest
import torch

from manyheads.architectures import Cascade
from manyheads.architectures.cascade import funnel_logits, log1mexp
from manyheads.data.preprocess import InputSpec
from manyheads.encoders import TabularInput
from manyheads.errors import InvalidParameterError

SPEC = InputSpec(3, (), ())
X = {"num": torch.randn(8, 3, generator=torch.Generator().manual_seed(0))}


def build(out_dims: dict[str, int], **options: object) -> Cascade:
    torch.manual_seed(0)
    return Cascade(TabularInput(SPEC), out_dims, hidden=[8], tower=[4], **options).eval()  # type: ignore[arg-type]


def test_funnel_output_is_the_joint_probability() -> None:
    model = build({"click": 1, "buy": 1, "repeat": 1}, funnel=True)
    with torch.no_grad():
        conditional = model.tower_logits(model.forward_features(X))
        out = model(X)
    p = {t: torch.sigmoid(logit) for t, logit in conditional.items()}
    torch.testing.assert_close(out["click"], conditional["click"], rtol=0, atol=0)
    torch.testing.assert_close(torch.sigmoid(out["buy"]), p["click"] * p["buy"], rtol=0, atol=1e-6)
    joint = p["click"] * p["buy"] * p["repeat"]
    torch.testing.assert_close(torch.sigmoid(out["repeat"]), joint, rtol=0, atol=1e-6)


@pytest.mark.parametrize("l1", [-50.0, 0.0, 50.0])
@pytest.mark.parametrize("l2", [-50.0, 3.0, 50.0])
def test_funnel_logits_are_finite_for_extreme_logits(l1: float, l2: float) -> None:
    a = torch.tensor([l1], requires_grad=True)
    b = torch.tensor([l2], requires_grad=True)
    joint = funnel_logits([a, b])[1]
    assert torch.isfinite(joint).all()
    expected = torch.sigmoid(torch.tensor(l1, dtype=torch.float64)) * torch.sigmoid(
        torch.tensor(l2, dtype=torch.float64)
    )
    assert torch.sigmoid(joint.double()).item() == pytest.approx(expected.item(), abs=1e-6)
    torch.nn.functional.binary_cross_entropy_with_logits(joint, torch.zeros(1)).backward()
    assert a.grad is not None
    assert b.grad is not None
    assert torch.isfinite(a.grad).all()
    assert torch.isfinite(b.grad).all()


def test_funnel_logit_matches_exact_value_in_the_tails() -> None:
    # both logits at -50: p = sigmoid(-50)^2, logit(p) ~ -100
    joint = funnel_logits([torch.tensor([-50.0]), torch.tensor([-50.0])])[1]
    assert joint.item() == pytest.approx(-100.0, abs=1e-4)
    # both at +50: 1 - p ~ 2 exp(-50), logit ~ 50 - log 2
    joint = funnel_logits([torch.tensor([50.0]), torch.tensor([50.0])])[1]
    assert joint.item() == pytest.approx(50.0 - torch.log(torch.tensor(2.0)).item(), abs=1e-3)


def test_log1mexp_matches_the_naive_formula_and_stays_finite() -> None:
    x = torch.tensor([-1e-3, -0.5, -0.7, -1.0, -5.0], dtype=torch.float64)
    torch.testing.assert_close(log1mexp(x), torch.log(1 - torch.exp(x)))
    edge = torch.tensor([0.0, -1e-30, -200.0], requires_grad=True)
    out = log1mexp(edge)
    out.sum().backward()
    assert torch.isfinite(out).all()
    assert edge.grad is not None
    assert torch.isfinite(edge.grad).all()


def test_next_tower_reads_the_previous_prediction() -> None:
    model = build({"a": 1, "b": 3, "c": 1})
    assert model.towers.towers["a"].net[0].in_features == 8
    assert model.towers.towers["b"].net[0].in_features == 8 + 1
    assert model.towers.towers["c"].net[0].in_features == 8 + 3
    with torch.no_grad():
        before = model(X)
        model.towers.outputs["b"].bias[0] += 1.0  # softmax ignores a common shift
        after = model(X)
    torch.testing.assert_close(after["a"], before["a"], rtol=0, atol=0)  # a comes first
    assert not torch.allclose(after["c"], before["c"])  # c reads b's prediction


def test_order_changes_the_chain() -> None:
    model = build({"a": 1, "b": 3}, order=["b", "a"])
    assert model.towers.towers["b"].net[0].in_features == 8
    assert model.towers.towers["a"].net[0].in_features == 8 + 3
    assert list(model(X)) == ["a", "b"]  # outputs keep the task order


def test_previous_prediction_transform_per_kind() -> None:
    model = build({"a": 1, "b": 3}, kinds={"a": "regression"})
    out = torch.tensor([2.0, -3.0])
    torch.testing.assert_close(model._as_input("a", out), out.unsqueeze(-1))
    torch.testing.assert_close(model._as_input("b", out), torch.sigmoid(out).unsqueeze(-1))
    wide = torch.randn(2, 3)
    torch.testing.assert_close(model._as_input("b", wide), torch.softmax(wide, dim=-1))
    multilabel = build({"a": 1, "b": 3}, kinds={"b": "multilabel"})
    torch.testing.assert_close(multilabel._as_input("b", wide), torch.sigmoid(wide))


@pytest.mark.parametrize("order", [["a"], ["a", "c"], ["a", "a"], "ab", ["a", "b", "b"]])
def test_order_must_be_a_permutation(order: object) -> None:
    match = (
        r"The 'order' option of Cascade must be (a permutation of the task names a, b|a list, "
        r"each item a non-empty string or None)\. Got .* instead\."
    )
    with pytest.raises(InvalidParameterError, match=match):
        build({"a": 1, "b": 1}, order=order)


def test_kinds_are_validated() -> None:
    with pytest.raises(
        InvalidParameterError, match=r"names a, b to task types\. .* 'x' is not a task\."
    ):
        build({"a": 1, "b": 1}, kinds={"x": "binary"})
    with pytest.raises(
        InvalidParameterError, match=r"Task 'a' has 'regresion'\. Did you mean 'regression'"
    ):
        build({"a": 1, "b": 1}, kinds={"a": "regresion"})


def test_funnel_needs_binary_tasks() -> None:
    with pytest.raises(InvalidParameterError, match=r"'funnel' option of Cascade must be false"):
        build({"a": 1, "b": 3}, funnel=True)
    with pytest.raises(InvalidParameterError, match=r"Task 'b' has width 1 and type 'regression'"):
        build({"a": 1, "b": 1}, funnel=True, kinds={"b": "regression"})
