"""The wide TF-IDF path (encoders/_wide.py, issue 17) under every architecture on a text bag.

Every architecture that takes an input encoder gets the path with ``wide: true`` on the toy
table (numeric, categorical and one text column): its weights are each task's own parameters,
it starts at zero (the outputs equal those of the model without it, at the same seed), Adam
lowers the loss and moves it, a task subset computes the same outputs, and the optimiser puts
it in its own group with its weight decay.
"""

from __future__ import annotations

import copy

import pytest
import torch
from tests.contract.test_architectures import TABULAR, objective

from manyheads.architectures import MTLModel, create_model, list_architectures
from manyheads.architectures._registry import architecture_options
from manyheads.config.train import TrainSettings
from manyheads.encoders._wide import WidePath
from manyheads.engine._optim import param_groups
from manyheads.errors import InvalidParameterError
from manyheads.weighting import EW

WIDE = [a for a in list_architectures() if "wide" in architecture_options(a)]

pytestmark = pytest.mark.usefixtures("one_thread")


def build(name: str, **options: object) -> MTLModel:
    torch.manual_seed(0)
    model = create_model(name, TABULAR.spec, TABULAR.out_dims, **options)
    wide = getattr(model.towers, "wide", None)
    if isinstance(wide, WidePath):
        wide.fit(TABULAR.x)
    return model


def test_every_encoder_architecture_takes_the_wide_options() -> None:
    assert set(WIDE) == set(list_architectures()) - {"mtan"}  # mtan reads images only


@pytest.mark.parametrize("name", WIDE)
def test_the_path_starts_at_zero_and_changes_nothing_else(name: str) -> None:
    plain, wide = build(name), build(name, wide=True, wide_decay=0.1)
    assert isinstance(wide.towers.wide, WidePath)
    assert getattr(plain.towers, "wide", None) is None
    plain.eval(), wide.eval()
    with torch.no_grad():
        a, b = plain(TABULAR.x), wide(TABULAR.x)
    for task in a:
        assert torch.equal(a[task], b[task]), task  # zero start, no random draw taken


@pytest.mark.parametrize("name", WIDE)
def test_the_path_is_each_tasks_own_and_in_its_own_optimiser_group(name: str) -> None:
    model = build(name, wide=True, wide_decay=0.25, wide_lr=0.03)
    wide = model.towers.wide
    groups = [model.shared_parameters()] + [model.task_parameters(t) for t in model.task_names]
    ids = [id(p) for g in groups for p in g]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(id(p) for p in model.parameters())
    for task in model.task_names:
        assert {id(p) for p in wide.task_parameters(task)} <= {
            id(p) for p in model.task_parameters(task)
        }
    settings = TrainSettings(weight_decay=0.0, lr=1e-3)
    opt_groups = param_groups(model, EW(len(model.task_names)), settings)
    in_groups = [id(p) for g in opt_groups for p in g["params"]]
    assert sorted(in_groups) == sorted(id(p) for p in model.parameters())
    last = opt_groups[-1]
    assert {id(p) for p in last["params"]} == {id(p) for p in wide.parameters()}
    assert (last["weight_decay"], last["lr"]) == (0.25, 0.03)
    assert all("weight_decay" not in g for g in opt_groups[:-1])  # the optimiser's own


@pytest.mark.parametrize("name", WIDE)
def test_adam_trains_the_path_and_lowers_the_loss(name: str) -> None:
    model = build(name, wide=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = objective(name, model)[0].item()
    for _ in range(10):
        optimizer.zero_grad()
        objective(name, model)[0].backward()
        optimizer.step()
    assert objective(name, model)[0].item() < before
    moved = [float(p.detach().abs().sum()) for p in model.towers.wide.parameters()]
    assert all(m > 0 for m in moved)


@pytest.mark.parametrize("name", WIDE)
def test_a_task_subset_gets_the_same_wide_logits(name: str) -> None:
    model = build(name, wide=True)
    with torch.no_grad():
        for p in model.towers.wide.parameters():
            p.normal_()
    model.eval()
    with torch.no_grad():
        every = model(TABULAR.x)
        last = model.task_names[-1]
        alone = model(TABULAR.x, tasks=[last])
    torch.testing.assert_close(alone[last], every[last], rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["hps", "stl"])
def test_a_deep_copy_reads_its_own_batches(name: str) -> None:
    model = build(name, wide=True)
    with torch.no_grad():
        for p in model.towers.wide.parameters():
            p.normal_()
    twin = copy.deepcopy(model).eval()
    model.eval()
    with torch.no_grad():
        expected = model(TABULAR.x)
        model({k: v[:3] for k, v in TABULAR.x.items()})  # the original reads another batch
        got = twin(TABULAR.x)
    for task, value in expected.items():
        torch.testing.assert_close(got[task], value, rtol=0, atol=0)


def test_a_list_gives_the_path_to_those_tasks_only() -> None:
    first, *rest = TABULAR.out_dims
    model = build("hps", wide=[first])
    wide = model.towers.wide
    assert list(wide.weight) == [first]
    for task in rest:
        assert wide.task_parameters(task) == []
    with torch.no_grad():
        wide.weight[first].normal_()
    plain = build("hps")
    model.eval(), plain.eval()
    with torch.no_grad():
        a, b = model(TABULAR.x), plain(TABULAR.x)
    assert not torch.equal(a[first], b[first])
    assert all(torch.equal(a[t], b[t]) for t in rest)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"wide": "yes"}, r"The 'wide' option of architecture 'HPS' must be true or false"),
        ({"wide": True, "wide_decay": -1.0}, r"'wide_decay' option .* >= 0.* Got -1.0"),
        ({"wide": True, "wide_lr": 0.0}, r"'wide_lr' option .* > 0.* Got 0.0"),
        ({"wide": ["binery"]}, r"unknown task\(s\) \['binery'\]. Did you mean 'binary'"),
    ],
)
def test_bad_wide_options_are_refused(options: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        create_model("hps", TABULAR.spec, TABULAR.out_dims, **options)
