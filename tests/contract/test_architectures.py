"""Every registered architecture passes the same battery (timm ``test_models.py`` style).

New entries of :func:`list_architectures` are covered automatically, built with their defaults.
Architectures that read only images (they refuse the tabular inputs) get the same tasks on an
image version of the toy problem.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from manyheads.architectures import MTLModel, create_model, list_architectures
from manyheads.architectures._registry import (
    ARCHITECTURES,
    ENCODER_OPTIONS,
    architecture_options,
    encoder_argument,
)
from manyheads.data.preprocess import InputSpec
from manyheads.encoders import InputEncoder, build_input
from manyheads.errors import InvalidParameterError
from manyheads.testing import ToyProblem, make_toy_problem

TYPES = ("binary", "multiclass", "regression", "multilabel")
TABULAR = make_toy_problem(64, task_types=TYPES)
NAMES = list_architectures()


def _image_problem(problem: ToyProblem, side: int = 16) -> ToyProblem:
    """The same tasks, read from ``1 x side x side`` images: numeric input ``k`` is the
    brightness of the ``k``-th 4 x 4 block, so the targets stay learnable from the pixels."""
    num = problem.x["num"]  # [N, 6]
    images = torch.zeros(problem.n_rows, 1, side, side)
    for k in range(num.shape[1]):
        r, c = 4 * (k // (side // 4)), 4 * (k % (side // 4))
        images[:, 0, r : r + 4, c : c + 4] = num[:, k, None, None]
    spec = InputSpec(0, (), (), (("img", (1, side, side)),))
    return dataclasses.replace(problem, spec=spec, x={**problem.x, "image:img": images})


def _reads_only_images(name: str) -> bool:
    try:
        create_model(name, TABULAR.spec, TABULAR.out_dims)
    except InvalidParameterError as exc:
        if "needs an image input" in str(exc):
            return True
        raise
    return False


IMAGES = _image_problem(TABULAR)
PROBLEMS = {name: IMAGES if _reads_only_images(name) else TABULAR for name in NAMES}


pytestmark = pytest.mark.usefixtures("one_thread")


def build(name: str, seed: int = 0, **options: object) -> MTLModel:
    torch.manual_seed(seed)
    return create_model(name, PROBLEMS[name].spec, PROBLEMS[name].out_dims, **options)


def objective(
    name: str, model: MTLModel, mask: dict[str, Tensor] | None = None
) -> tuple[Tensor, Tensor]:
    """(summed objective including the penalty, per-task losses [T])."""
    problem = PROBLEMS[name]
    losses = problem.loss(model(problem.x), mask)
    penalty = model.penalty()
    total = losses.sum() if penalty is None else losses.sum() + penalty
    return total, losses


@pytest.mark.parametrize("name", NAMES)
def test_output_shapes(name: str) -> None:
    out = build(name)(PROBLEMS[name].x)
    n = PROBLEMS[name].n_rows
    expected = {"binary": (n,), "multiclass": (n, 3), "regression": (n,), "multilabel": (n, 3)}
    assert {t: tuple(o.shape) for t, o in out.items()} == expected
    assert all(torch.isfinite(o).all() for o in out.values())


@pytest.mark.parametrize("name", NAMES)
def test_options_are_keyword_only_with_defaults(name: str) -> None:
    params = list(inspect.signature(ARCHITECTURES.get(name)).parameters.values())
    assert params[0].name in ("encoder", "make_encoder", "spec")  # see architectures.base
    assert params[1].name == "out_dims"
    for p in params[2:]:
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, p.name
        assert p.default is not inspect.Parameter.empty, p.name


@pytest.mark.parametrize("name", NAMES)
def test_the_encoder_is_received_not_built(name: str) -> None:
    """An architecture holds the encoder(s) it is given, built by ``build_input`` only."""
    factory = ARCHITECTURES.get(name)
    how = encoder_argument(factory)
    if how == "spec":  # reads its inputs itself, and takes no encoder option
        assert not set(ENCODER_OPTIONS) & set(architecture_options(name))
        return
    assert set(ENCODER_OPTIONS) <= set(architecture_options(name))
    problem = PROBLEMS[name]
    made: list[InputEncoder] = []

    def make_encoder() -> InputEncoder:
        made.append(build_input(problem.spec))
        return made[-1]

    model = factory(make_encoder() if how == "encoder" else make_encoder, problem.out_dims)
    held = [m for m in model.modules() if isinstance(m, InputEncoder)]
    assert len(made) == (1 if how == "encoder" else len(problem.out_dims))
    assert [id(m) for m in held] == [id(m) for m in made]


@pytest.mark.parametrize("name", NAMES)
def test_parameters_are_partitioned(name: str) -> None:
    model = build(name)
    groups = [model.shared_parameters()] + [
        model.task_parameters(t) for t in PROBLEMS[name].out_dims
    ]
    ids = [id(p) for group in groups for p in group]
    assert len(ids) == len(set(ids)), "a parameter is listed twice"
    assert sorted(ids) == sorted(id(p) for p in model.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_adam_steps_lower_the_loss(name: str) -> None:
    model = build(name)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = objective(name, model)[0].item()
    for _ in range(15):
        optimizer.zero_grad()
        objective(name, model)[0].backward()
        optimizer.step()
    assert objective(name, model)[0].item() < 0.9 * before


@pytest.mark.parametrize("name", NAMES)
def test_safetensors_round_trip(name: str, tmp_path: Path) -> None:
    model = build(name, seed=0).eval()
    save_file(model.state_dict(), tmp_path / "model.safetensors")
    fresh = build(name, seed=1).eval()
    fresh.load_state_dict(load_file(tmp_path / "model.safetensors"))
    problem = PROBLEMS[name]
    with torch.no_grad():
        expected, got = model(problem.x), fresh(problem.x)
    for task in problem.out_dims:
        torch.testing.assert_close(got[task], expected[task], rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_task_without_labels(name: str) -> None:
    model, problem = build(name), PROBLEMS[name]
    none = torch.zeros(problem.n_rows, dtype=torch.bool)
    total, losses = objective(name, model, {"multiclass": none})
    total.backward()
    assert torch.isfinite(total)
    assert losses[list(problem.out_dims).index("multiclass")].item() == 0.0
    for param in model.parameters():
        assert param.grad is None or torch.isfinite(param.grad).all()


@pytest.mark.parametrize("name", NAMES)
def test_forward_is_heads_of_features(name: str) -> None:
    model, problem = build(name).eval(), PROBLEMS[name]
    with torch.no_grad():
        direct, composed = model(problem.x), model.forward_heads(model.forward_features(problem.x))
    for task in problem.out_dims:
        torch.testing.assert_close(composed[task], direct[task], rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_under_a_seed(name: str) -> None:
    problem = PROBLEMS[name]
    first, second = build(name, seed=3)(problem.x), build(name, seed=3)(problem.x)
    for task in problem.out_dims:
        torch.testing.assert_close(second[task], first[task], rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_penalty_is_none_or_a_finite_scalar(name: str) -> None:
    penalty = build(name).penalty()
    assert penalty is None or (penalty.dim() == 0 and torch.isfinite(penalty))


@pytest.mark.parametrize("norm", ["batch", "layer"])
@pytest.mark.parametrize("name", NAMES)
def test_norm_and_dropout_train_mode(name: str, norm: str) -> None:
    options = {"norm": norm, "dropout": 0.1}
    model = build(name, **{k: v for k, v in options.items() if k in _options(name)}).train()
    total, _ = objective(name, model)
    total.backward()
    assert torch.isfinite(total)


def _options(name: str) -> set[str]:
    return set(inspect.signature(ARCHITECTURES.get(name)).parameters)
