"""Every registered architecture either takes a new task with the old tasks' outputs unchanged
bit for bit, or is refused with its reason (a contract over the registry)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from manyheads.architectures import MTLModel, create_model, list_architectures
from manyheads.data.preprocess import InputSpec
from manyheads.errors import InvalidParameterError
from manyheads.extend import REASONS, grow_model
from manyheads.extend._grow import changed_outputs, grown_options, new_state_keys
from manyheads.testing import ToyProblem, make_toy_problem

TABULAR = make_toy_problem(32, task_types=("binary", "multiclass", "regression", "multilabel"))
#: The architectures a new task cannot join without changing the old tasks' computation.
REFUSED = {"cross_stitch", "ple"}  # ple's default n_levels 2: a shared gate below the top


def _images(problem: ToyProblem) -> ToyProblem:
    """The same rows as 1 x 8 x 8 images (for architectures that read only images)."""
    images = problem.x["num"][:, :4].repeat(1, 16).reshape(-1, 1, 8, 8)
    spec = InputSpec(0, (), (), (("img", (1, 8, 8)),))
    return dataclasses.replace(problem, spec=spec, x={"image:img": images})


def _problem(name: str) -> ToyProblem:
    try:
        create_model(name, TABULAR.spec, TABULAR.out_dims)
    except InvalidParameterError as exc:
        if "needs an image input" in str(exc):
            return _images(TABULAR)
        raise
    return TABULAR


def _old_and_new(name: str, **options: object) -> tuple[MTLModel, MTLModel, ToyProblem]:
    problem = _problem(name)
    old_dims = dict(list(problem.out_dims.items())[:3])
    new_task = list(problem.out_dims)[3]
    torch.manual_seed(0)
    old = create_model(name, problem.spec, old_dims, **options)
    grown = grown_options(dict(options), new_task, "multilabel")
    torch.manual_seed(1)
    new = create_model(name, problem.spec, problem.out_dims, **grown)
    return old, new, problem


@pytest.mark.parametrize("name", list_architectures())
def test_each_architecture_adds_a_task_or_is_refused(name: str) -> None:
    old, new, problem = _old_and_new(name)
    task = list(problem.out_dims)[3]
    if name in REFUSED:
        with pytest.raises(InvalidParameterError, match=f"Cannot add task '{task}' to a '{name}'"):
            grow_model(old, new, task, architecture=name)
        assert name in REASONS
        return
    grown = grow_model(old, new, task, architecture=name)
    assert changed_outputs(old, grown, problem.x) == []
    # the new keys are exactly the new task's own
    added = set(grown.state_dict()) - set(old.state_dict())
    assert added
    assert added == new_state_keys(grown, task)


def test_cgc_takes_a_task_where_ple_with_two_levels_does_not() -> None:
    old, new, problem = _old_and_new("ple", n_levels=1)
    task = list(problem.out_dims)[3]
    assert changed_outputs(old, grow_model(old, new, task, architecture="ple"), problem.x) == []
    old, new, _ = _old_and_new("ple", n_levels=2)
    with pytest.raises(InvalidParameterError, match=r"'levels\.0\.shared_gate\.weight' \[8, "):
        grow_model(old, new, task, architecture="ple")
