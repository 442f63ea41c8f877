"""MTAN (Liu et al. 2019): structure, masks, parameter partition, training, methods, bundles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import Tensor, nn

import manyheads as mh
from manyheads import create_method, list_methods
from manyheads.aggregation.base import Aggregator
from manyheads.architectures import Features, create_model
from manyheads.architectures.mtan import MTAN
from manyheads.builtin_datasets._fashion_loc import place_items
from manyheads.data.preprocess import InputSpec
from manyheads.engine.backward import backward, shared_jacobian
from manyheads.errors import InvalidParameterError

SPEC = InputSpec(0, (), (), (("img", (1, 28, 28)),))
HEADS = {"a": 3, "b": 4}


def build(seed: int = 0, **options: object) -> MTAN:
    torch.manual_seed(seed)
    return MTAN(SPEC, HEADS, **options)  # type: ignore[arg-type]


def _batch(n: int = 6, size: int = 28, seed: int = 0) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"image:img": torch.randn(n, 1, size, size, generator=g)}


def _losses(model: MTAN, x: dict[str, Tensor], features: Features | None = None) -> Tensor:
    out = model.forward_heads(features) if features is not None else model(x)
    target = torch.arange(len(x["image:img"])) % 3
    return torch.stack([nn.functional.cross_entropy(out["a"], target), out["b"].pow(2).mean()])


def test_shapes_of_features_and_masks_follow_the_stages() -> None:
    model = build(channels=[4, 8, 16])
    features, masks = model.forward_attention(_batch())
    assert [tuple(f.shape) for f in features] == [(6, 16), (6, 16)]
    for task in HEADS:
        assert [tuple(m.shape) for m in masks[task]] == [
            (6, 4, 28, 28),
            (6, 8, 14, 14),
            (6, 16, 7, 7),
        ]
    assert {t: tuple(o.shape) for t, o in model(_batch()).items()} == {"a": (6, 3), "b": (6, 4)}
    assert isinstance(model.forward_features(_batch()), tuple)


def test_a_pooling_grid_averages_cells_of_the_last_map() -> None:
    """Grid 1 is global average pooling; a 2 x 2 grid keeps the four quadrants apart."""
    coarse, fine = build(channels=[4, 8]).eval(), build(channels=[4, 8], grid=2).eval()
    with torch.no_grad():
        (pooled, _), _ = coarse.forward_attention(_batch())
        (cells, _), _ = fine.forward_attention(_batch())
    assert cells.shape == (6, 8 * 4)
    quadrants = cells.view(6, 8, 2, 2)  # the last map is 14 x 14: four 7 x 7 quadrants
    torch.testing.assert_close(quadrants.mean(dim=(2, 3)), pooled)
    assert not torch.allclose(quadrants[..., 0, 0], quadrants[..., 1, 1])


def test_attention_inputs_follow_the_paper() -> None:
    model = build(channels=[4, 8, 16])
    first: list[nn.Conv2d] = [m.g[0] for m in model._attention("a")]  # type: ignore[index,misc]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in first] == [
        (4, 4, (1, 1)),  # u_1 only
        (16, 8, (1, 1)),  # [u_2 ; f_1(â_1)]
        (32, 16, (1, 1)),
    ]
    bridges: list[nn.Conv2d] = [b[0] for b in model.bridges]  # type: ignore[index]
    assert [(b.in_channels, b.out_channels) for b in bridges] == [(4, 8), (8, 16)]


def test_masks_lie_strictly_between_zero_and_one() -> None:
    model = build(channels=[4, 8]).train()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(std=0.5)
        _, masks = model.forward_attention(_batch(n=8))
    for per_task in masks.values():
        for mask in per_task:
            assert ((mask > 0) & (mask < 1)).all()
            assert mask.std() > 0.01  # not a constant


def test_saturated_masks_give_every_task_the_shared_features() -> None:
    model = build(channels=[4, 8]).eval()
    with torch.no_grad():
        for task in HEADS:
            for module in model._attention(task):
                module.h[1].bias.fill_(30.0)  # type: ignore[index,union-attr]  # sigmoid(≈30) == 1: attention lets everything in
        features, _ = model.forward_attention(_batch())
        x, shared = _batch()["image:img"], None
        for j, (first, second) in enumerate(zip(model.first, model.second, strict=True)):
            shared = second(first(x if j == 0 else model.pool(shared)))
        assert shared is not None
    for f in features:
        torch.testing.assert_close(f, shared.mean(dim=(2, 3)))


def test_parameters_are_partitioned_into_backbone_and_task_attention() -> None:
    model = build()
    shared = {id(p) for p in model.shared_parameters()}
    backbone = [*model.first.parameters(), *model.second.parameters(), *model.bridges.parameters()]
    assert shared == {id(p) for p in backbone}
    owned = {t: {id(p) for p in model.task_parameters(t)} for t in HEADS}
    assert {id(p) for p in model.attention["a"].parameters()} <= owned["a"]
    assert not owned["a"] & owned["b"]
    assert not (owned["a"] | owned["b"]) & shared
    groups = [model.shared_parameters(), *(model.task_parameters(t) for t in HEADS)]
    everything = [id(p) for group in groups for p in group]
    assert sorted(everything) == sorted(id(p) for p in model.parameters())  # each exactly once


def test_a_task_gradient_stays_out_of_the_other_tasks_parameters() -> None:
    model = build(channels=[4, 8])
    _losses(model, _batch())[1].backward()  # type: ignore[no-untyped-call]
    assert all(p.grad is None or not p.grad.any() for p in model.task_parameters("a"))
    assert any(p.grad is not None and p.grad.any() for p in model.task_parameters("b"))
    assert any(p.grad is not None and p.grad.any() for p in model.shared_parameters())


def test_one_step_lowers_the_loss() -> None:
    model = build(channels=[4, 8])
    x = _batch(n=16)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    before = _losses(model, x).sum()
    before.backward()  # type: ignore[no-untyped-call]
    optimizer.step()
    assert _losses(model, x).sum().item() < before.item()


def test_shared_jacobian_rows_are_the_task_gradients() -> None:
    model = build(channels=[4, 8])
    losses = _losses(model, _batch())
    shared = model.shared_parameters()
    jac = shared_jacobian(losses, shared)
    for t in range(2):
        grads = torch.autograd.grad(losses[t], shared, retain_graph=True)
        torch.testing.assert_close(jac[t], torch.cat([g.flatten() for g in grads]))


def _method_cases() -> list[tuple[str, bool]]:
    cases = [(name, False) for name in list_methods()]
    for name in list_methods():
        method = create_method(name, 2)
        if isinstance(method, Aggregator) and method.supports_rep_grad:
            cases.append((name, True))
    return cases


@pytest.mark.parametrize(("name", "rep_grad"), _method_cases())
def test_every_weighting_method_trains_mtan(name: str, rep_grad: bool) -> None:
    model = build(channels=[4, 8])
    method = create_method(name, 2, **({"rep_grad": True} if rep_grad else {}))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02)
    x = _batch(n=12, size=16)
    for _ in range(2):
        optimizer.zero_grad()
        features = model.forward_features(x)
        losses = _losses(model, x, features)
        backward(losses, model, method, features=features, penalty=model.penalty())
        for param in model.parameters():
            assert param.grad is not None
            assert torch.isfinite(param.grad).all()
        optimizer.step()


def test_rep_grad_on_disjoint_task_features_does_not_double_count() -> None:
    """UPGrad of orthogonal rows is their mean, so the step is the mean task gradient."""
    model = build(channels=[4, 8])
    x = _batch()
    features = model.forward_features(x)
    losses = _losses(model, x, features)
    shared = model.shared_parameters()
    expected = [g / 2 for g in torch.autograd.grad(losses.sum(), shared, retain_graph=True)]
    backward(losses, model, create_method("upgrad", 2, rep_grad=True), features=features)
    for param, grad in zip(shared, expected, strict=True):
        assert param.grad is not None
        torch.testing.assert_close(param.grad, grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        (
            SPEC,
            {"channels": []},
            r"'channels' option of MTAN must be a non-empty list, each item an int >= 1",
        ),
        (SPEC, {"channels": [8, 0]}, r"Got \[8, 0\] instead"),
        (SPEC, {"channels": "16"}, r"'channels' option of MTAN"),
        (
            SPEC,
            {"channels": [2] * 6},
            r"must be at most 5 entries for 28 x 28 images\. .* need at least 32 x 32 pixels",
        ),
        (SPEC, {"grid": 0}, r"'grid' option of MTAN must be an int in \[1, 8\]\. Got 0"),
        (InputSpec(3, (), ()), {}, r"'mtan' needs an image input"),
        (SPEC, {"column": "im"}, r"image columns img\. Got 'im'.*Did you mean 'img'"),
    ],
)
def test_bad_options_are_named(spec: InputSpec, options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        create_model("mtan", spec, HEADS, **options)


def _box_table(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    items = np.zeros((n, 28, 28), dtype=np.uint8)
    shapes = rng.integers(0, 2, n)  # a wide or a tall bar
    items[shapes == 0, 10:18, 2:26] = 200
    items[shapes == 1, 2:26, 10:18] = 200
    canvases, boxes = place_items(items, seed=0, n_clutter=1)
    frame = pd.DataFrame({"image": list(canvases), "shape": np.where(shapes == 0, "wide", "tall")})
    for j, col in enumerate(["x1", "y1", "x2", "y2"]):
        frame[col] = boxes[:, j] / 64
    return frame


def test_fit_save_load_gives_identical_predictions(tmp_path: Path) -> None:
    frame = _box_table(60)
    tasks = [
        mh.Task("shape", type="multiclass"),
        mh.Task("box", type="box", columns=("x1", "y1", "x2", "y2"), image_size=(64, 64)),
    ]
    run = mh.fit(
        frame,
        tasks=tasks,
        inputs={"image": "image"},
        architecture="mtan",
        model_options={"channels": [4, 8], "tower": [8]},
        epochs=2,
        batch_size=20,
        output=tmp_path / "run",
    )
    loaded = mh.load(tmp_path / "run")
    assert isinstance(loaded.model, MTAN)
    expected, got = run.predict(frame.head(10)), loaded.predict(frame.head(10))
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert "box_x1_px" in got.columns
