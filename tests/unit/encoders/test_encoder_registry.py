"""The encoder registry: one builder, one metadata entry per encoder (encoders/_registry.py)."""

from __future__ import annotations

import pytest

from manyheads.data.preprocess import InputSpec
from manyheads.encoders import EncoderInfo, TabularInput, TextCNN, build_input, encoder_info
from manyheads.encoders._registry import encoder_option_names, text_options
from manyheads.errors import InvalidParameterError


def test_metadata_is_the_class_attribute() -> None:
    assert encoder_info("cnn") is TextCNN.info
    assert encoder_info("tabular") == EncoderInfo(reads=("numeric", "categorical", "text"))
    assert not encoder_info("resnet18").token_ids
    with pytest.raises(InvalidParameterError, match=r"Unknown encoder 'cnm'.*'cnn'"):
        encoder_info("cnm")


def test_option_names_add_the_tokenizer_options_to_the_network_options() -> None:
    # embed_dim, text_dim are the model's
    assert encoder_option_names("tabular") == [
        "numeric_scaling",
        "scaling_values",
        "ensemble",
        "init_std",
    ]
    cnn = encoder_option_names("cnn")
    assert cnn[-6:] == list(TextCNN.info.tokenizer_options)
    assert "embed_dim" not in cnn
    assert "column" in cnn
    assert encoder_option_names("pretrained")[-1] == "max_length"


def test_unknown_option_of_the_tabular_encoder_is_an_invalid_parameter() -> None:
    with pytest.raises(
        InvalidParameterError, match=r"Unknown option\(s\) \['dropout'\].*'tabular'"
    ):
        build_input(InputSpec(3, (), ()), encoder_options={"dropout": 0.1})


def test_the_model_widths_go_only_to_encoders_that_take_them() -> None:
    enc = build_input(InputSpec(1, (4,), (("t", 9),)), embed_dim=2, text_dim=3)
    assert isinstance(enc, TabularInput)
    assert enc.out_dim == 1 + 2 + 3
    image = InputSpec(0, (), (), (("img", (1, 16, 16)),))
    assert build_input(image, encoder="lenet", embed_dim=2, text_dim=3).out_dim == 50


def test_text_options_of_an_unknown_encoder_are_bags() -> None:
    assert text_options("no_such_encoder", {"x": 1}) == {"mode": "bag"}  # build_input names it
    assert text_options("lenet", {"dropout": 0.1}) == {"mode": "bag"}
