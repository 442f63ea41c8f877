"""SoftSharing: the penalty is the weighted pairwise distance of the tied parameters."""

from __future__ import annotations

from functools import partial

import pytest
import torch

from manyheads.architectures import SoftSharing
from manyheads.data.preprocess import InputSpec
from manyheads.encoders import TabularInput
from manyheads.errors import InvalidParameterError
from manyheads.testing import make_toy_problem

SPEC = InputSpec(2, (), ())  # numeric inputs only: the input layers have no parameters


def tiny(**options: object) -> SoftSharing:
    torch.manual_seed(0)
    out_dims = {"a": 1, "b": 1, "c": 2}
    return SoftSharing(partial(TabularInput, SPEC), out_dims, hidden=[3], tower=[2], **options)  # type: ignore[arg-type]


def by_hand(model: SoftSharing, power: int) -> float:
    """sum over pairs of tasks and over weight and bias of the bottom's one Linear layer."""
    layers = {t: model.bottoms[t].net[0] for t in ("a", "b", "c")}
    total = 0.0
    for t, s in (("a", "b"), ("a", "c"), ("b", "c")):
        for name in ("weight", "bias"):
            diff = getattr(layers[t], name).detach() - getattr(layers[s], name).detach()
            total += float(diff.abs().pow(power).sum())
    return total


@pytest.mark.parametrize(("penalty", "power"), [("l2", 2), ("l1", 1)])
def test_penalty_equals_hand_computed_value(penalty: str, power: int) -> None:
    model = tiny(penalty=penalty, penalty_weight=0.5)
    expected = 0.5 * by_hand(model, power)
    assert expected > 0
    assert model.penalty().item() == pytest.approx(expected, rel=1e-6)


def test_penalty_is_zero_for_equal_columns() -> None:
    model = tiny()
    for task in ("b", "c"):
        model.bottoms[task].load_state_dict(model.bottoms["a"].state_dict())
    assert model.penalty().item() == 0.0


def test_penalty_gradient_pulls_columns_together() -> None:
    model = tiny(penalty_weight=1.0)
    model.penalty().backward()
    layers = {t: model.bottoms[t].net[0] for t in ("a", "b", "c")}
    w = {t: layers[t].weight.detach() for t in layers}
    expected = 2 * ((w["a"] - w["b"]) + (w["a"] - w["c"]))  # d/dW_a of sum_{t<s} ||W_t - W_s||^2
    torch.testing.assert_close(layers["a"].weight.grad, expected)


def test_input_embeddings_are_tied_too() -> None:
    problem = make_toy_problem(16)
    torch.manual_seed(0)
    model = SoftSharing(partial(TabularInput, problem.spec), problem.out_dims, hidden=[4])
    for task in problem.out_dims:
        model.bottoms[task].load_state_dict(model.bottoms["binary"].state_dict())
    assert model.penalty().item() > 0  # the input layers still differ
    for task in problem.out_dims:
        model.inputs[task].load_state_dict(model.inputs["binary"].state_dict())
    assert model.penalty().item() == 0.0


def test_nothing_is_shared_and_features_are_per_task() -> None:
    model = tiny()
    assert model.shared_parameters() == []
    features = model.forward_features({"num": torch.zeros(4, 2)})
    assert isinstance(features, tuple)
    assert [tuple(f.shape) for f in features] == [(4, 3)] * 3


def test_single_task_penalty_is_zero() -> None:
    model = SoftSharing(partial(TabularInput, SPEC), {"a": 1}, hidden=[3])
    assert model.penalty().item() == 0.0


@pytest.mark.parametrize(
    ("options", "match"),
    [
        (
            {"penalty": "l3"},
            r"The 'penalty' option of SoftSharing must be one of l2, l1\. Got 'l3' instead\.",
        ),
        ({"penalty": "L2"}, r"Got 'L2' instead\."),
        (
            {"penalty_weight": -1.0},
            r"The 'penalty_weight' option of SoftSharing must be a float >= 0\. "
            r"Got -1\.0 instead\.",
        ),
        ({"penalty_weight": float("nan")}, r"'penalty_weight' .* Got nan instead"),
        ({"penalty_weight": "0.1"}, r"'penalty_weight' .* Got '0\.1' instead"),
    ],
)
def test_options_are_validated(options: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        tiny(**options)
