"""The same battery over every registered balancing method (``manyheads ls methods``)."""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import manyheads as mh
from manyheads import create_method, list_methods
from manyheads.aggregation import Aggregator, ColumnwiseAggregator
from manyheads.weighting import Weighting
from manyheads.workflow._fit import train_config
from manyheads.workflow._run import as_frame as _frame
from manyheads.workflow._splits import Splits, split_frame

NAMES = list_methods()
#: methods whose result depends on a random draw per task (not permutation-equivariant for T>2).
RANDOM_PER_TASK = {"rlw", "pcgrad", "gradvac"}
STATEFUL = [
    "uw",
    "dwa",
    "rlw",
    "imtl_l",
    "famo",
    "gradnorm",
    "db_mtl",
    "pcgrad",
    "graddrop",
    "gradvac",
    "nash_mtl",
    "moco",
]


def _inputs(n_tasks: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    losses = torch.rand(n_tasks, generator=g) + 0.1
    grads = torch.randn(n_tasks, 12, generator=g)
    return losses, grads


def _apply(
    method: Weighting | Aggregator, losses: torch.Tensor, grads: torch.Tensor
) -> torch.Tensor:
    if isinstance(method, Weighting):
        return method(losses).detach()
    method.observe_losses(losses)
    return method(grads)


@pytest.mark.parametrize("name", NAMES)
def test_shape_finite_and_deterministic(name: str) -> None:
    losses, grads = _inputs(3)
    first = [_apply(create_method(name, 3), losses, grads) for _ in range(2)]
    assert first[0].shape == ((3,) if first[0].numel() == 3 else (12,))
    assert torch.isfinite(first[0]).all()
    assert torch.equal(first[0], first[1])


@pytest.mark.parametrize("name", NAMES)
def test_permuting_tasks_permutes_the_result(name: str) -> None:
    n_tasks = 2 if name in RANDOM_PER_TASK else 3
    if name == "rlw":
        pytest.skip("RLW draws its weights independently of the tasks")
    losses, grads = _inputs(n_tasks)
    perm = torch.tensor([1, 0] if n_tasks == 2 else [2, 0, 1])
    a = _apply(create_method(name, n_tasks), losses, grads)
    b = _apply(create_method(name, n_tasks), losses[perm], grads[perm])
    expected = a[perm] if isinstance(create_method(name, n_tasks), Weighting) else a
    assert torch.allclose(b, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_without_conflict_the_step_agrees_with_every_task(name: str) -> None:
    losses, grads = _inputs(3)
    grads = grads.abs()  # all pairwise inner products are positive
    method = create_method(name, 3)
    out = _apply(method, losses, grads)
    if isinstance(method, Weighting):
        assert (out >= 0).all()
    else:
        assert (grads @ out > 0).all()


@pytest.mark.parametrize("name", NAMES)
def test_a_task_without_labels_breaks_nothing(name: str) -> None:
    losses, grads = _inputs(3)
    losses[1], grads[1] = 0.0, 0.0
    method = create_method(name, 3)
    for _ in range(3):
        out = _apply(method, losses, grads)
        assert torch.isfinite(out).all()
    if isinstance(method, Aggregator):
        assert out.abs().sum() > 0


REUSES_JACOBIAN = [
    n for n in NAMES if isinstance(m := create_method(n, 2), Aggregator) and m.reuses_jacobian
]


def test_the_jacobian_methods_reuse_one_buffer() -> None:
    assert sorted(REUSES_JACOBIAN) == ["db_mtl", "moco"]


def test_graddrop_is_the_columnwise_method() -> None:
    columnwise = [n for n in NAMES if isinstance(create_method(n, 2), ColumnwiseAggregator)]
    assert columnwise == ["graddrop"]


@pytest.mark.parametrize("name", REUSES_JACOBIAN)
def test_a_reused_jacobian_buffer_changes_nothing(name: str) -> None:
    # The engine overwrites the buffer every step: a method that kept a reference to its input
    # (or returned a view of it) would see the garbage written between steps.
    fresh, reused = create_method(name, 3), create_method(name, 3)
    assert isinstance(fresh, Aggregator)
    assert isinstance(reused, Aggregator)
    buffer = torch.empty(3, 12)
    for step in range(4):
        losses, grads = _inputs(3, seed=step)
        expected = _apply(fresh, losses, grads.clone())
        got = _apply(reused, losses, buffer.copy_(grads)).clone()
        buffer.fill_(float("nan"))
        torch.testing.assert_close(got, expected, rtol=0, atol=0)
        torch.testing.assert_close(reused.state_dict(), fresh.state_dict(), rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trips(name: str) -> None:
    losses, grads = _inputs(3)
    method = create_method(name, 3)
    _apply(method, losses, grads)
    method.end_epoch(losses)
    clone = create_method(name, 3)
    clone.load_state_dict(method.state_dict())
    assert torch.equal(_apply(clone, losses, grads), _apply(method, losses, grads))


def _frame_data(n: int = 96) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"x": rng.normal(size=n), "x2": rng.normal(size=n), "c": rng.choice(["a", "b"], n)}
    )
    df["y"] = (df.x > 0).astype(int)
    df["z"] = df.x * 2.0 + df.x2
    df.loc[df.index[: n // 2], "z"] = np.nan  # many batches hold no label for z
    return df


TASKS = [mh.Task("y", type="binary"), mh.Task("z", type="regression")]


@pytest.mark.parametrize("architecture", ["hps", "mmoe"])
@pytest.mark.parametrize("name", NAMES)
def test_every_method_trains_with_finite_losses(name: str, architecture: str) -> None:
    run = mh.fit(
        _frame_data(),
        tasks=TASKS,
        method=name,
        architecture=architecture,
        model_options={"hidden": [8]} if architecture == "hps" else {},
        epochs=2,
        batch_size=16,
        clip_norm=1.0,
    )
    losses = [v for r in run.history for k, v in r.items() if k.startswith("train_loss")]
    assert losses
    assert all(math.isfinite(v) for v in losses)


@pytest.mark.parametrize("name", ["mgda", "upgrad", "graddrop", "imtl", "aligned_mtl", "db_mtl"])
@pytest.mark.parametrize("architecture", ["hps", "mmoe", "stl"])
def test_rep_grad_mode_trains(name: str, architecture: str) -> None:
    run = mh.fit(
        _frame_data(),
        tasks=TASKS,
        method=name,
        method_options={"rep_grad": True},
        architecture=architecture,
        epochs=1,
        batch_size=32,
    )
    assert all(math.isfinite(v) for v in run.history[0].values())


@pytest.mark.parametrize("name", STATEFUL)
def test_resume_reproduces_the_uninterrupted_run(name: str, tmp_path: Path) -> None:
    df = _frame_data()
    full = mh.fit(df, tasks=TASKS, method=name, epochs=2, batch_size=16, output=tmp_path / "full")
    half = mh.fit(
        df,
        tasks=TASKS,
        method=name,
        epochs=1,
        batch_size=16,
        output=tmp_path / "half",
        keep_checkpoint=True,
    )
    directory = tmp_path / "half"
    (directory / "metrics.json").unlink()  # make it look interrupted after epoch 1
    shutil.move(directory / "last_checkpoint.json", directory / "checkpoint.json")
    assert half.config is not None
    config = dataclasses.replace(
        half.config, train=dataclasses.replace(half.config.train, epochs=2)
    )
    train, valid = split_frame(_frame(df), 0.1, seed=1)
    resumed = train_config(config, splits=Splits(train, valid, None), resume=True)
    assert resumed.history == full.history
