"""``model(x, tasks=[...])`` computes only the asked heads, over every registered architecture.

For every non-empty subset of three tasks: the subset's outputs equal the full model's outputs
for those tasks bit for bit (eval mode), and no module owned by a skipped task runs (forward
hooks count the calls), except where the architecture's coupling makes it run (its docstring
says so, :func:`coupled` asserts exactly that). New architectures are covered automatically.
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import torch
from tests.contract.test_encoders import ARCH_SMALL, ENCODER_ARCHS, sequence_case
from torch import nn

from manyheads.architectures import MTLModel, create_model, list_architectures
from manyheads.architectures._registry import architecture_options, build_model
from manyheads.architectures.cascade import Cascade
from manyheads.data.preprocess import InputSpec
from manyheads.errors import InvalidParameterError
from manyheads.testing import ToyProblem, make_toy_problem

TABULAR = make_toy_problem(32, task_types=("binary", "multiclass", "regression"))
TASKS = list(TABULAR.out_dims)
SUBSETS = [list(s) for n in (1, 2, 3) for s in itertools.combinations(TASKS, n)]


def _image_problem(problem: ToyProblem, side: int = 16) -> ToyProblem:
    """The same tasks on ``1 x side x side`` images, for architectures that read only images."""
    images = torch.rand(problem.n_rows, 1, side, side, generator=torch.Generator().manual_seed(0))
    spec = InputSpec(0, (), (), (("img", (1, side, side)),))
    return dataclasses.replace(problem, spec=spec, x={**problem.x, "image:img": images})


IMAGES = _image_problem(TABULAR)
#: (architecture, options): every registered one with its defaults, and the forms whose coupling
#: differs (a PLE of three levels, a cascade out of task order, a funnel, an ensemble).
CASES: list[tuple[str, dict[str, object]]] = [
    *[(name, {}) for name in list_architectures()],
    ("ple", {"n_levels": 3}),
    ("ple", {"n_levels": 1}),
    ("cascade", {"order": ["regression", "binary", "multiclass"]}),
    ("mmoe", {"encoder_options": {"ensemble": 2}}),
]


pytestmark = pytest.mark.usefixtures("one_thread")


def _problem(name: str) -> ToyProblem:
    return IMAGES if name == "mtan" else TABULAR


def build(name: str, options: dict[str, object]) -> MTLModel:
    torch.manual_seed(0)
    problem = _problem(name)
    if "encoder_options" in options:
        model = build_model(name, problem.spec, problem.fitted_tasks, dict(options))
    else:
        model = create_model(name, problem.spec, problem.out_dims, **options)
    return model.eval()


def owned_modules(model: MTLModel) -> dict[str, str]:
    """Module name -> the task that owns every parameter the module holds itself."""
    owner = {id(p): t for t in model.task_names for p in model.task_parameters(t)}
    out = {}
    for name, module in model.named_modules():
        direct = list(module.parameters(recurse=False))
        tasks = {owner.get(id(p)) for p in direct}
        if direct and len(tasks) == 1 and None not in tasks:
            out[name] = str(tasks.pop())
    return out


def coupled(model: MTLModel, module: str, task: str, asked: list[str]) -> bool:
    """Whether ``task``'s ``module`` runs although only ``asked`` are, as documented."""
    if type(model).__name__ == "CrossStitch":  # the units read every column
        return module.startswith("columns.")
    if isinstance(model, Cascade):  # a tower reads the towers before it in ``order``
        return task in model.needed_tasks(asked)
    if type(model).__name__ == "PLE":  # a shared gate reads every task's experts
        n_levels = len(model.levels)
        parts = module.split(".")
        if parts[0] == "levels":
            level, kind = int(parts[1]), parts[2]
            return (kind == "specific" and level < n_levels - 1) or (
                kind == "gates" and level < n_levels - 2
            )
    return False


def _count_calls(model: MTLModel) -> tuple[dict[str, int], list[torch.utils.hooks.RemovableHandle]]:
    calls: dict[str, int] = {}
    handles = []
    for name, module in model.named_modules():

        def hook(_m: nn.Module, _i: object, _o: object, name: str = name) -> None:
            calls[name] = calls.get(name, 0) + 1

        handles.append(module.register_forward_hook(hook))
    return calls, handles


@pytest.mark.parametrize(("name", "options"), CASES, ids=lambda v: str(v))
def test_a_subset_of_tasks_gives_the_same_outputs_and_runs_only_its_heads(
    name: str, options: dict[str, object]
) -> None:
    model = build(name, options)
    x = _problem(name).x
    owned = owned_modules(model)
    assert set(owned.values()) == set(TASKS), owned  # every task owns modules
    with torch.no_grad():
        full = model(x)
        assert all(torch.equal(full[t], o) for t, o in model(x, tasks=None).items())
        for asked in SUBSETS:
            calls, handles = _count_calls(model)
            try:
                out = model(x, tasks=list(reversed(asked)))  # any order: the model's comes back
            finally:
                for handle in handles:
                    handle.remove()
            assert list(out) == asked
            for t in asked:
                assert torch.equal(out[t], full[t]), (asked, t)
            ran = {m for m, t in owned.items() if calls.get(m, 0) > 0}
            assert {owned[m] for m in ran} >= set(asked)
            for module in ran:
                task = owned[module]
                if task not in asked:
                    assert coupled(model, module, task, asked), (asked, module)


def test_the_coupled_parts_are_what_the_docstrings_say() -> None:
    """The exceptions above are real: each of them does run (a stale allowance would pass)."""
    x = TABULAR.x
    for name, options, asked, module in [
        ("cross_stitch", {}, ["binary"], "columns.regression.0"),
        ("ple", {}, ["binary"], "levels.0.specific.regression"),
        ("cascade", {}, ["regression"], "towers.outputs.binary"),
    ]:
        model = build(name, options)
        calls, handles = _count_calls(model)
        with torch.no_grad():
            model(x, tasks=asked)
        for handle in handles:
            handle.remove()
        assert calls.get(module, 0) > 0, (name, module)
        if name == "ple":  # but not the last level's experts nor the first level's gate
            assert calls.get("levels.1.specific.regression", 0) == 0
            assert calls.get("levels.0.gates.regression", 0) == 0


def test_a_funnel_computes_the_joint_of_the_stages_before_the_asked_one() -> None:
    problem = make_toy_problem(32, task_types=("binary", "binary", "binary"))
    torch.manual_seed(0)
    model = create_model("cascade", problem.spec, problem.out_dims, funnel=True).eval()
    with torch.no_grad():
        full = model(problem.x)
        for asked in (["binary_2"], ["binary", "binary_3"]):
            out = model(problem.x, tasks=asked)
            assert list(out) == asked
            assert all(torch.equal(out[t], full[t]) for t in asked)


@pytest.mark.parametrize(
    ("tasks", "match"),
    [
        (["binery"], r"'tasks' argument of HPS must name .*'binery'.*Did you mean 'binary'"),
        ([], r"'tasks' argument of HPS must be a non-empty list"),
        ("binary", r"'tasks' argument of HPS must be a non-empty list"),
    ],
)
def test_unknown_or_empty_tasks_are_refused_with_the_valid_names(
    tasks: list[str] | str, match: str
) -> None:
    model = build("hps", {})
    with pytest.raises(InvalidParameterError, match=match):
        model(TABULAR.x, tasks=tasks)


@pytest.mark.parametrize("name", ENCODER_ARCHS)
def test_token_level_outputs_of_a_subset_equal_the_full_models(name: str) -> None:
    """A tagging task (per-token outputs, with CRF scores) beside two row tasks on a ``cnn``."""
    case = sequence_case("cnn", words=True)
    options = {k: v for k, v in ARCH_SMALL.items() if k in architecture_options(name)}
    torch.manual_seed(0)
    out_dims = {"label": 3, "tag": 4, "score": 1}
    model = create_model(name, case.spec, out_dims, encoder="cnn", **options)
    model.token_level, model.token_tasks = True, frozenset({"tag"})
    model.towers.add_crf("tag")  # type: ignore[operator]
    model.eval()
    with torch.no_grad():
        full = model(case.x)
        for n in (1, 2):
            for asked in itertools.combinations(out_dims, n):
                out = model(case.x, tasks=list(asked))
                assert [t for t in out_dims if t in asked] == list(out)
                for t in asked:
                    assert torch.equal(out[t], full[t]), (asked, t)
