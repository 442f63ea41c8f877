"""LeNet (Sener & Koltun 2018): shapes, save -> load, one step, errors; under every architecture."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from manyheads.architectures import create_model, list_architectures
from manyheads.architectures._registry import architecture_options
from manyheads.data.preprocess import InputSpec
from manyheads.encoders import LeNet, build_input
from manyheads.errors import InvalidParameterError

SPEC = InputSpec(0, (), (), (("img", (1, 28, 28)),))


def _batch(n: int = 8, seed: int = 0) -> dict[str, torch.Tensor]:
    return {"image:img": torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))}


def test_shapes_follow_the_paper() -> None:
    enc = LeNet(SPEC)
    assert enc.out_dim == 50
    assert enc.fc.in_features == 320  # 20 channels x 4 x 4 for a 28 x 28 input
    assert [tuple(m.weight.shape) for m in (enc.conv1, enc.conv2)] == [
        (10, 1, 5, 5),
        (20, 10, 5, 5),
    ]
    assert enc(_batch()).shape == (8, 50)
    assert (enc(_batch()) >= 0).all()  # ends in a ReLU


def test_other_sizes_and_channels() -> None:
    enc = LeNet(InputSpec(0, (), (), (("rgb", (3, 36, 36)),)))
    assert enc.fc.in_features == 20 * 6 * 6
    assert enc({"image:rgb": torch.zeros(2, 3, 36, 36)}).shape == (2, 50)


def test_save_load_gives_identical_outputs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    enc = LeNet(SPEC).eval()
    save_file(enc.state_dict(), tmp_path / "lenet.safetensors")
    torch.manual_seed(1)
    fresh = LeNet(SPEC).eval()
    fresh.load_state_dict(load_file(tmp_path / "lenet.safetensors"))
    torch.testing.assert_close(fresh(_batch()), enc(_batch()), rtol=0, atol=0)


def test_one_step_lowers_the_loss() -> None:
    torch.manual_seed(0)
    enc, head = LeNet(SPEC, dropout=0.0), nn.Linear(50, 3)
    x, y = _batch(32), torch.arange(32) % 3
    optimizer = torch.optim.SGD([*enc.parameters(), *head.parameters()], lr=0.05)
    before = nn.functional.cross_entropy(head(enc(x)), y)
    before.backward()  # type: ignore[no-untyped-call]
    optimizer.step()
    after = nn.functional.cross_entropy(head(enc(x)), y)
    assert after.item() < before.item()


def test_dropout_is_off_in_eval() -> None:
    enc = LeNet(SPEC, dropout=0.5).eval()
    torch.testing.assert_close(enc(_batch()), enc(_batch()), rtol=0, atol=0)


def test_build_input_ignores_tabular_widths_and_names_unknown_options() -> None:
    assert build_input(SPEC, encoder="lenet", embed_dim=3, text_dim=5).out_dim == 50
    with pytest.raises(
        InvalidParameterError,
        match=r"Unknown option\(s\) \['dropuot'\] of the 'lenet'.*Did you mean 'dropout'",
    ):
        build_input(SPEC, encoder="lenet", encoder_options={"dropuot": 0.1})


def test_tabular_encoder_on_images_points_to_image_encoders() -> None:
    with pytest.raises(
        InvalidParameterError, match=r"cannot read the image input.*lenet or resnet18"
    ):
        build_input(SPEC)


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        (InputSpec(3, (), ()), {}, "needs an image input"),
        (
            InputSpec(0, (), (), (("a", (1, 28, 28)), ("b", (1, 28, 28)))),
            {},
            r"columns a, b\. Got None instead\. Choose one with model\.encoder_options: "
            r"\{column: NAME\}",
        ),
        (
            SPEC,
            {"column": "imgg"},
            "must be one of the image columns img. Got 'imgg'.*Did you mean 'img'",
        ),
        (SPEC, {"dropout": 1.0}, "'dropout' option of the 'lenet' encoder must be a float in"),
        (InputSpec(0, (), (), (("s", (1, 10, 10)),)), {}, "at least 16 x 16"),
    ],
)
def test_bad_input_is_named(spec: InputSpec, options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        LeNet(spec, **options)  # type: ignore[arg-type]


def test_column_option_picks_one_of_several() -> None:
    spec = InputSpec(0, (), (), (("a", (1, 28, 28)), ("b", (1, 20, 20))))
    enc = LeNet(spec, column="b")
    assert enc.key == "image:b"
    assert enc({"image:b": torch.zeros(2, 1, 20, 20)}).shape == (2, 50)


@pytest.mark.parametrize("name", list_architectures())
def test_every_architecture_trains_with_lenet(name: str) -> None:
    """A tiny synthetic image problem: the class is which quadrant holds a bright square."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    n = 48
    quadrant = torch.randint(0, 4, (n,), generator=g)
    images = 0.1 * torch.randn(n, 1, 28, 28, generator=g)
    for i, q in enumerate(quadrant.tolist()):
        r, c = 14 * (q // 2), 14 * (q % 2)
        images[i, 0, r + 3 : r + 11, c + 3 : c + 11] += 2.0
    x = {"image:img": images}
    y = {"quadrant": quadrant, "top": (quadrant < 2).float()}
    options = {"encoder": "lenet", "hidden": [], "expert_hidden": [16], "tower": [16]}
    valid = architecture_options(name)
    out_dims = {"quadrant": 4, "top": 1}
    model = create_model(name, SPEC, out_dims, **{k: v for k, v in options.items() if k in valid})

    def loss() -> torch.Tensor:
        out = model(x)
        total = nn.functional.cross_entropy(out["quadrant"], y["quadrant"])
        total = total + nn.functional.binary_cross_entropy_with_logits(out["top"], y["top"])
        penalty = model.penalty()
        return total if penalty is None else total + penalty

    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    before = loss().item()
    for _ in range(8):
        optimizer.zero_grad()
        loss().backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    assert loss().item() < before
