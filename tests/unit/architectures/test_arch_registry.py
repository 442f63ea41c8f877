"""``create_model`` builds the input encoder once and passes it in (architectures/_registry.py)."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from manyheads.architectures import HPS, MTLModel, create_model
from manyheads.architectures._registry import (
    ENCODER_OPTIONS,
    architecture_options,
    encoder_argument,
)
from manyheads.architectures.base import Features
from manyheads.data.preprocess import InputSpec
from manyheads.encoders import TabularInput, build_input
from manyheads.errors import InvalidParameterError

SPEC = InputSpec(2, (3,), (("t", 10),))


def test_encoder_options_are_build_inputs_keywords() -> None:
    assert list(ENCODER_OPTIONS) == ["encoder", "encoder_options", "embed_dim", "text_dim"]
    assert set(ENCODER_OPTIONS) <= set(architecture_options("hps"))
    assert not set(ENCODER_OPTIONS) & set(architecture_options("mtan"))


def test_the_encoder_options_reach_the_encoder() -> None:
    model = create_model("hps", SPEC, {"a": 1}, embed_dim=3, text_dim=5, hidden=[4])
    assert isinstance(model.input, TabularInput)
    assert model.input.out_dim == 2 + 3 + 5


def test_same_parameters_as_building_the_encoder_first() -> None:
    torch.manual_seed(0)
    by_name = create_model("hps", SPEC, {"a": 1, "b": 3}, embed_dim=3)
    torch.manual_seed(0)
    by_hand = HPS(build_input(SPEC, embed_dim=3), {"a": 1, "b": 3})
    assert by_name.state_dict().keys() == by_hand.state_dict().keys()
    for key, value in by_name.state_dict().items():
        assert torch.equal(value, by_hand.state_dict()[key]), key


def test_stl_builds_one_encoder_per_task() -> None:
    model = create_model("stl", SPEC, {"a": 1, "b": 3, "c": 1}, hidden=[4])
    encoders = [m for m in model.modules() if isinstance(m, TabularInput)]
    assert len({id(m) for m in encoders}) == 3


def test_unknown_option_names_the_architecture_and_the_closest() -> None:
    with pytest.raises(InvalidParameterError, match=r"Unknown option 'embed_dm'.*'embed_dim'"):
        create_model("mmoe", SPEC, {"a": 1}, embed_dm=4)
    with pytest.raises(InvalidParameterError, match=r"Unknown option 'encoder' for .*'mtan'"):
        create_model("mtan", SPEC, {"a": 1}, encoder="lenet")


class _NoInput(MTLModel):
    def __init__(self, inputs: InputSpec, out_dims: dict[str, int]) -> None:
        super().__init__(out_dims)
        del inputs

    def forward_features(self, x: dict[str, Tensor]) -> Features:
        return x["num"]

    def forward_heads(self, features: Features) -> dict[str, Tensor]:
        return {}

    def shared_parameters(self) -> list[nn.Parameter]:
        return []

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return []


def test_first_parameter_must_say_what_the_architecture_receives() -> None:
    with pytest.raises(TypeError, match=r"'encoder', 'make_encoder' or 'spec'. Got 'inputs'"):
        encoder_argument(_NoInput)
