"""The tabular encoder's text bags start small (issue 17): what training learns about a rare
word outweighs its random start."""

from __future__ import annotations

import torch

from manyheads.data.preprocess import InputSpec
from manyheads.encoders.tabular import TabularInput


def test_text_bags_start_within_one_over_their_width_with_a_zero_padding_row() -> None:
    torch.manual_seed(0)
    layer = TabularInput(InputSpec(1, (), (("title", 500),)), text_dim=32)
    weight = layer.text[0].weight.detach()
    assert float(weight.abs().max()) <= 1.0 / 32
    assert float(weight.std()) > 0.5 / (32 * 3**0.5)  # uniform, not all zero
    assert float(weight[0].abs().sum()) == 0.0
    ids = torch.tensor([[0, 0], [3, 0]])
    out = layer({"num": torch.zeros(2, 1), "text:title": ids})
    assert out.shape == (2, 33)
    assert torch.equal(out[1, 1:].detach(), weight[3])  # the mean bag skips padding
