"""FusedExperts computes exactly what E separate MLPs compute."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from manyheads.architectures._experts import FusedExperts, mix
from manyheads.encoders.mlp import MLP
from manyheads.errors import InvalidParameterError


def separate_copies(fused: FusedExperts, in_dim: int, hidden: list[int], norm: str) -> list[MLP]:
    """E ordinary MLPs holding the weights of ``fused``."""
    mlps = [MLP(in_dim, hidden, norm=norm) for _ in range(fused.n_experts)]
    for e, mlp in enumerate(mlps):
        linears = [m for m in mlp.net if isinstance(m, nn.Linear)]
        norms = [m for m in mlp.net if isinstance(m, nn.LayerNorm | nn.BatchNorm1d)]
        with torch.no_grad():
            for layer, linear in zip(fused.layers, linears, strict=True):
                linear.weight.copy_(layer.weight[e].T)
                linear.bias.copy_(layer.bias[e])
            for fused_norm, norm_layer in zip(fused.norms, norms, strict=True):
                if isinstance(norm_layer, nn.LayerNorm):
                    norm_layer.weight.copy_(fused_norm.weight[e, 0])
                    norm_layer.bias.copy_(fused_norm.bias[e, 0])
    return mlps


@pytest.mark.parametrize("norm", ["none", "layer", "batch"])
def test_equals_separate_mlps(norm: str) -> None:
    torch.manual_seed(0)
    in_dim, hidden = 5, [7, 4]
    fused = FusedExperts(in_dim, 3, hidden, norm=norm)
    if norm == "layer":  # make the affine parameters non-trivial
        with torch.no_grad():
            for fused_norm in fused.norms:
                fused_norm.weight.normal_()
                fused_norm.bias.normal_()
    mlps = separate_copies(fused, in_dim, hidden, norm)
    x = torch.randn(6, in_dim)
    expected = torch.stack([mlp(x) for mlp in mlps], dim=1)  # [B, E, H]
    torch.testing.assert_close(fused(x), expected, rtol=1e-5, atol=1e-6)


def test_gradients_match_separate_mlps() -> None:
    torch.manual_seed(0)
    fused = FusedExperts(4, 2, [3])
    mlps = separate_copies(fused, 4, [3], "none")
    x = torch.randn(5, 4)
    fused(x).pow(2).sum().backward()
    torch.stack([mlp(x).pow(2).sum() for mlp in mlps]).sum().backward()
    first = mlps[1].net[0]
    assert isinstance(first, nn.Linear)
    assert fused.layers[0].weight.grad is not None
    assert first.weight.grad is not None
    torch.testing.assert_close(fused.layers[0].weight.grad[1], first.weight.grad.T)


def test_shapes_and_parameter_layout() -> None:
    fused = FusedExperts(5, 3, [16, 8])
    assert fused(torch.zeros(4, 5)).shape == (4, 3, 8)
    assert [tuple(layer.weight.shape) for layer in fused.layers] == [(3, 5, 16), (3, 16, 8)]
    assert fused.out_dim == 8


def test_empty_hidden_is_identity_experts() -> None:
    x = torch.randn(4, 5)
    out = FusedExperts(5, 3, [])(x)
    assert out.shape == (4, 3, 5)
    torch.testing.assert_close(out[:, 2], x)


def test_experts_differ_at_initialisation() -> None:
    torch.manual_seed(0)
    out = FusedExperts(5, 2, [8])(torch.randn(4, 5))
    assert not torch.allclose(out[:, 0], out[:, 1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_experts": 0}, r"'n_experts' option of FusedExperts must be an int >= 1\. Got 0"),
        ({"norm": "group"}, r"'norm' option of FusedExperts must be one of none, batch, layer"),
        ({"dropout": 1.0}, r"'dropout' option of FusedExperts must be a float in \[0, 1\)"),
    ],
)
def test_invalid_parameters(kwargs: dict[str, object], match: str) -> None:
    options: dict[str, object] = {"n_experts": 2, **kwargs}
    with pytest.raises(InvalidParameterError, match=match):
        FusedExperts(3, hidden=[4], **options)


def test_n_experts_rejects_bools_and_floats() -> None:
    for bad in (True, 2.0, -1):
        with pytest.raises(InvalidParameterError, match="must be an int >= 1"):
            FusedExperts(3, bad, [4])  # type: ignore[arg-type]


def test_mix_is_a_convex_combination() -> None:
    experts = torch.randn(3, 4, 2)
    weights = torch.softmax(torch.randn(3, 4), dim=-1)
    expected = (weights.unsqueeze(-1) * experts).sum(dim=1)
    torch.testing.assert_close(mix(weights, experts), expected)


@pytest.mark.parametrize("norm", ["none", "layer", "batch"])
def test_per_token_input_is_flattened(norm: str) -> None:
    torch.manual_seed(0)
    fused = FusedExperts(5, 3, [7, 4], norm=norm)
    x = torch.randn(2, 6, 5)  # [B, L, in]
    out = fused(x)
    assert out.shape == (2, 6, 3, 4)
    torch.testing.assert_close(out, fused(x.reshape(12, 5)).reshape(2, 6, 3, 4))
    identity = FusedExperts(5, 3, [])
    assert identity(x).shape == (2, 6, 3, 5)
    weights = torch.softmax(torch.randn(2, 6, 3), dim=-1)
    torch.testing.assert_close(mix(weights, out), (weights.unsqueeze(-1) * out).sum(dim=2))
