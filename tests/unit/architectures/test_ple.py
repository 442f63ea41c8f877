"""PLE: task experts stay private within a level; shared gates couple tasks across levels."""

from __future__ import annotations

import pytest
import torch

from manyheads.architectures import PLE
from manyheads.encoders import TabularInput
from manyheads.errors import InvalidParameterError
from manyheads.testing import make_toy_problem

PROBLEM = make_toy_problem(32)


def build(**options: object) -> PLE:
    torch.manual_seed(0)
    return PLE(TabularInput(PROBLEM.spec), PROBLEM.out_dims, **options).eval()  # type: ignore[arg-type]


def perturb_task(model: PLE, task: str) -> None:
    """Change every parameter that ``task`` owns except its tower."""
    tower = {id(p) for p in model.towers.task_parameters(task)}
    with torch.no_grad():
        for param in model.task_parameters(task):
            if id(param) not in tower:
                param.add_(torch.randn_like(param))


def outputs_after_perturbing(model: PLE, task: str) -> tuple[dict[str, torch.Tensor], ...]:
    with torch.no_grad():
        before = model(PROBLEM.x)
        perturb_task(model, task)
        return before, model(PROBLEM.x)


def test_one_level_keeps_other_tasks_independent() -> None:
    before, after = outputs_after_perturbing(build(n_levels=1), "multiclass")
    torch.testing.assert_close(after["binary"], before["binary"], rtol=0, atol=0)
    torch.testing.assert_close(after["regression"], before["regression"], rtol=0, atol=0)
    assert not torch.allclose(after["multiclass"], before["multiclass"])


def test_two_levels_couple_tasks_through_the_shared_gate() -> None:
    before, after = outputs_after_perturbing(build(n_levels=2), "multiclass")
    assert not torch.allclose(after["binary"], before["binary"])


def test_shared_gates_below_the_last_level_only() -> None:
    model = build(n_levels=3, shared_experts=2, specific_experts=3)
    levels = list(model.levels)
    assert [level.shared_gate is not None for level in levels] == [True, True, False]
    gate = levels[0].shared_gate
    assert gate is not None
    assert gate.out_features == 3 * 3 + 2
    assert levels[0].gates["binary"].out_features == 3 + 2


def test_partition_of_levels() -> None:
    model = build()
    shared = {id(p) for p in model.shared_parameters()}
    for level in model.levels:
        assert {id(p) for p in level.shared.parameters()} <= shared
        assert {id(p) for p in level.specific["binary"].parameters()} <= {
            id(p) for p in model.task_parameters("binary")
        }


@pytest.mark.parametrize("name", ["n_levels", "shared_experts", "specific_experts"])
def test_counts_are_validated(name: str) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{name}' option of PLE .* Got 0 instead"):
        build(**{name: 0})
