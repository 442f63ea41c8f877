"""Every registered architecture passes the same battery (timm ``test_models.py`` style).

New entries of :func:`list_architectures` are covered automatically, built with their defaults.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from manyheads.architectures import MTLModel, create_model, list_architectures
from manyheads.architectures._registry import ARCHITECTURES
from manyheads.testing import make_toy_problem

TYPES = ("binary", "multiclass", "regression", "multilabel")
PROBLEM = make_toy_problem(64, task_types=TYPES)
NAMES = list_architectures()


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # Intra-op threads only add overhead on models this small, and two xdist workers on two
    # cores with two threads each slow every step down tenfold.
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


def build(name: str, seed: int = 0, **options: object) -> MTLModel:
    torch.manual_seed(seed)
    return create_model(name, PROBLEM.spec, PROBLEM.heads, **options)


def objective(model: MTLModel, mask: dict[str, Tensor] | None = None) -> tuple[Tensor, Tensor]:
    """(summed objective including the penalty, per-task losses [T])."""
    losses = PROBLEM.loss(model(PROBLEM.x), mask)
    penalty = model.penalty()
    total = losses.sum() if penalty is None else losses.sum() + penalty
    return total, losses


@pytest.mark.parametrize("name", NAMES)
def test_output_shapes(name: str) -> None:
    out = build(name)(PROBLEM.x)
    n = PROBLEM.n_rows
    expected = {"binary": (n,), "multiclass": (n, 3), "regression": (n,), "multilabel": (n, 3)}
    assert {t: tuple(o.shape) for t, o in out.items()} == expected
    assert all(torch.isfinite(o).all() for o in out.values())


@pytest.mark.parametrize("name", NAMES)
def test_options_are_keyword_only_with_defaults(name: str) -> None:
    params = list(inspect.signature(ARCHITECTURES.get(name)).parameters.values())
    assert [p.name for p in params[:2]] == ["spec", "heads"]
    for p in params[2:]:
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, p.name
        assert p.default is not inspect.Parameter.empty, p.name


@pytest.mark.parametrize("name", NAMES)
def test_parameters_are_partitioned(name: str) -> None:
    model = build(name)
    groups = [model.shared_parameters()] + [model.task_parameters(t) for t in PROBLEM.heads]
    ids = [id(p) for group in groups for p in group]
    assert len(ids) == len(set(ids)), "a parameter is listed twice"
    assert sorted(ids) == sorted(id(p) for p in model.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_adam_steps_lower_the_loss(name: str) -> None:
    model = build(name)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = objective(model)[0].item()
    for _ in range(15):
        optimizer.zero_grad()
        objective(model)[0].backward()
        optimizer.step()
    assert objective(model)[0].item() < 0.9 * before


@pytest.mark.parametrize("name", NAMES)
def test_safetensors_round_trip(name: str, tmp_path: Path) -> None:
    model = build(name, seed=0).eval()
    save_file(model.state_dict(), tmp_path / "model.safetensors")
    fresh = build(name, seed=1).eval()
    fresh.load_state_dict(load_file(tmp_path / "model.safetensors"))
    with torch.no_grad():
        expected, got = model(PROBLEM.x), fresh(PROBLEM.x)
    for task in PROBLEM.heads:
        torch.testing.assert_close(got[task], expected[task], rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_task_without_labels(name: str) -> None:
    model = build(name)
    none = torch.zeros(PROBLEM.n_rows, dtype=torch.bool)
    total, losses = objective(model, {"multiclass": none})
    total.backward()
    assert torch.isfinite(total)
    assert losses[list(PROBLEM.heads).index("multiclass")].item() == 0.0
    for param in model.parameters():
        assert param.grad is None or torch.isfinite(param.grad).all()


@pytest.mark.parametrize("name", NAMES)
def test_forward_is_heads_of_features(name: str) -> None:
    model = build(name).eval()
    with torch.no_grad():
        direct, composed = model(PROBLEM.x), model.forward_heads(model.forward_features(PROBLEM.x))
    for task in PROBLEM.heads:
        torch.testing.assert_close(composed[task], direct[task], rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_under_a_seed(name: str) -> None:
    first, second = build(name, seed=3)(PROBLEM.x), build(name, seed=3)(PROBLEM.x)
    for task in PROBLEM.heads:
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
    total, _ = objective(model)
    total.backward()
    assert torch.isfinite(total)


def _options(name: str) -> set[str]:
    return set(inspect.signature(ARCHITECTURES.get(name)).parameters)
