"""ResNet-18 (He et al. 2016): shapes, parameter count, save -> load, one step, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from manyheads.data.preprocess import InputSpec
from manyheads.encoders import ResNet18, build_input
from manyheads.encoders.resnet18 import BasicBlock
from manyheads.errors import InvalidParameterError

SPEC = InputSpec(0, (), (), (("img", (3, 32, 32)),))


def _batch(n: int = 4, size: int = 32) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"image:img": torch.randn(n, 3, size, size, generator=g)}


def test_width_one_has_resnet18s_parameter_count() -> None:
    """11,176,512: torchvision's resnet18 (11,689,512) without its 512 -> 1000 classifier."""
    enc = ResNet18(InputSpec(0, (), (), (("img", (3, 224, 224)),)))
    assert enc.out_dim == 512
    assert sum(p.numel() for p in enc.parameters()) == 11_689_512 - 513_000


@pytest.mark.parametrize(("small", "size"), [(True, 28), (False, 64)])
def test_shapes_and_width(small: bool, size: int) -> None:
    spec = InputSpec(0, (), (), (("img", (3, size, size)),))
    enc = ResNet18(spec, small_input=small, width=0.125)
    assert enc.out_dim == 64
    blocks = [b for b in enc.blocks if isinstance(b, BasicBlock)][::2]
    assert [b.conv1.out_channels for b in blocks] == [8, 16, 32, 64]
    assert enc(_batch(2, size)).shape == (2, 64)


def test_small_input_keeps_the_resolution_in_the_stem() -> None:
    small, large = ResNet18(SPEC, small_input=True, width=0.125), ResNet18(SPEC, width=0.125)
    x = _batch()["image:img"]
    assert small.stem(x).shape[-1] == 32  # 3x3 stride 1, no max-pool
    assert large.stem(x).shape[-1] == 8  # 7x7 stride 2, then max-pool stride 2


def test_save_load_gives_identical_outputs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    enc = ResNet18(SPEC, small_input=True, width=0.125)
    enc(_batch())  # train-mode forward: moves the BatchNorm running statistics
    enc.eval()
    save_file(enc.state_dict(), tmp_path / "resnet.safetensors")
    torch.manual_seed(1)
    fresh = ResNet18(SPEC, small_input=True, width=0.125).eval()
    fresh.load_state_dict(load_file(tmp_path / "resnet.safetensors"))
    with torch.no_grad():
        torch.testing.assert_close(fresh(_batch()), enc(_batch()), rtol=0, atol=0)


def test_one_step_lowers_the_loss() -> None:
    torch.manual_seed(0)
    enc = ResNet18(SPEC, small_input=True, width=0.125)
    head = nn.Linear(enc.out_dim, 3)
    x, y = _batch(16), torch.arange(16) % 3
    optimizer = torch.optim.SGD([*enc.parameters(), *head.parameters()], lr=0.05)
    enc.eval()  # fixed BatchNorm statistics so the two losses compare the same function
    before = nn.functional.cross_entropy(head(enc(x)), y)
    before.backward()  # type: ignore[no-untyped-call]
    optimizer.step()
    assert nn.functional.cross_entropy(head(enc(x)), y).item() < before.item()


def test_registered_with_options() -> None:
    enc = build_input(
        SPEC, encoder="resnet18", encoder_options={"small_input": True, "width": 0.25}
    )
    assert enc.out_dim == 128
    with pytest.raises(InvalidParameterError, match=r"\['widht'\].*Did you mean 'width'"):
        build_input(SPEC, encoder="resnet18", encoder_options={"widht": 0.25})


@pytest.mark.parametrize("width", [0, -1.0, "wide", True])
def test_bad_width_is_named(width: object) -> None:
    with pytest.raises(
        InvalidParameterError, match="'width' option of the 'resnet18' encoder must be a float > 0"
    ):
        ResNet18(SPEC, width=width)  # type: ignore[arg-type]


def test_needs_an_image_column() -> None:
    with pytest.raises(InvalidParameterError, match="'resnet18' needs an image input"):
        ResNet18(InputSpec(2, (), ()))
