"""The torch autograd internals the engine reads: present on this torch, and never lost silently.

When a torch upgrade renames a grad_fn or a saved attribute, these tests fail (the fast path is
no longer taken) and the engine warns once instead of silently getting slower.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import pytest
import torch
from torch import Tensor, nn

import manyheads.engine._autograd_internals as internals
from manyheads.engine._task_gradients import shared_gramian, task_deltas
from manyheads.engine.backward import shared_jacobian

NAMES = [
    "ADDMM",
    "TRANSPOSE",
    "CAST",
    "LEAF",
    "LEAF_VARIABLE",
    "SAVED_INPUT",
    "SAVED_ALPHA",
    "SAVED_BETA",
]


@pytest.fixture(autouse=True)
def _fresh_check() -> Iterator[None]:
    internals._check_once.cache_clear()
    yield
    internals._check_once.cache_clear()


def _shared_linear_problem() -> tuple[list[nn.Parameter], Tensor]:
    """A trunk ``nn.Linear`` shared by two linear heads; the losses [2] of one batch."""
    generator = torch.Generator().manual_seed(0)
    trunk, head_a, head_b = nn.Linear(4, 6), nn.Linear(6, 1), nn.Linear(6, 1)
    for layer in (trunk, head_a, head_b):
        for p in layer.parameters():
            p.data = torch.randn(p.shape, generator=generator)
    h = torch.relu(trunk(torch.randn(8, 4, generator=generator)))
    losses = torch.stack([head_a(h).pow(2).mean(), (head_b(h) - 1).abs().mean()])
    return list(trunk.parameters()), losses


def _autograd_rows(losses: Tensor, params: list[nn.Parameter]) -> Tensor:
    rows = []
    for t in range(losses.shape[0]):
        grads = torch.autograd.grad(losses[t], params, retain_graph=True)
        rows.append(torch.cat([g.flatten() for g in grads]))
    return torch.stack(rows)


def test_the_grad_fns_of_this_torch_have_every_internal_the_engine_reads() -> None:
    weight = torch.zeros(3, 2, requires_grad=True)
    bias = torch.zeros(3, requires_grad=True)
    x = torch.ones(5, 2)
    node = nn.functional.linear(x, weight, bias).grad_fn
    assert type(node).__name__ == internals.ADDMM == "AddmmBackward0"
    assert torch.equal(getattr(node, internals.SAVED_INPUT), x)  # _saved_mat1
    assert getattr(node, internals.SAVED_ALPHA) == 1 == getattr(node, internals.SAVED_BETA)
    bias_node, input_node, transpose = (edge[0] for edge in node.next_functions)
    assert input_node is None
    assert type(transpose).__name__ == internals.TRANSPOSE == "TBackward0"
    assert type(bias_node).__name__ == internals.LEAF == "AccumulateGrad"
    assert getattr(bias_node, internals.LEAF_VARIABLE) is bias
    assert transpose.next_functions[0][0].variable is weight
    cast = weight.to(torch.bfloat16).grad_fn
    assert type(cast).__name__ == internals.CAST == "ToCopyBackward0"
    assert cast.next_functions[0][0].variable is weight
    assert internals.missing_internal() is None


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_a_shared_linear_takes_the_fast_path_and_equals_plain_autograd(dtype: torch.dtype) -> None:
    shared, losses = _shared_linear_problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the internals check passes: no warning
        if dtype == torch.bfloat16:
            shared, _ = _shared_linear_problem()
            generator = torch.Generator().manual_seed(1)
            with torch.autocast("cpu", dtype=dtype):
                out = nn.functional.linear(torch.randn(8, 4, generator=generator), *shared)
            losses = torch.stack([out.float().pow(2).mean(), out.float().sum()])
        linear, deltas, rest = task_deltas(losses, shared)
    found = [(id(s.weight), id(s.bias)) for s in linear]
    assert found == [(id(shared[0]), id(shared[1]))]  # the fast path
    assert deltas[0] is not None
    assert rest == []
    expected = _autograd_rows(losses, shared)
    tolerance = {"rtol": 1e-2, "atol": 1e-2} if dtype == torch.bfloat16 else {}
    torch.testing.assert_close(shared_jacobian(losses, shared), expected, **tolerance)
    gramian = shared_gramian(losses, shared)
    torch.testing.assert_close(gramian, expected @ expected.T, **tolerance)


@pytest.mark.parametrize("name", NAMES)
def test_the_probe_reports_each_internal_that_changes(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(internals, name, "RenamedInTorchNext")
    problem = internals.missing_internal()
    assert problem is not None
    assert "RenamedInTorchNext" in problem


@pytest.mark.parametrize("name", ["ADDMM", "SAVED_INPUT"])
def test_a_changed_internal_warns_once_and_the_generic_path_gives_the_same_rows(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared, losses = _shared_linear_problem()
    expected = shared_jacobian(losses, shared)
    internals._check_once.cache_clear()
    monkeypatch.setattr(internals, name, "RenamedInTorchNext")
    version = re.escape(torch.__version__)
    message = rf"torch {version} .*RenamedInTorchNext.*generic per-task backward"
    with pytest.warns(RuntimeWarning, match=message):
        linear, _, rest = task_deltas(losses, shared)
    assert linear == []  # the slow path, now visible
    assert [id(p) for p, _ in rest] == [id(p) for p in shared]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process: no second warning
        got = shared_jacobian(losses, shared)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(got, _autograd_rows(losses, shared))
