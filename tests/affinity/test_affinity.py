"""Lookahead inter-task affinity (Fifty et al. 2021): the closed form on a linear problem, the
exact grouping, and a 3-task run recording it and ``manyheads analyze`` showing it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from tests.catalogue._harness import Outcome, call_cli

import manyheads as mh
from manyheads.engine._affinity import (
    batch_affinity,
    group_score,
    lookahead_affinity,
    partitions,
    suggest_groups,
)
from manyheads.errors import InvalidParameterError
from manyheads.workflow._affinity import load_affinity, shared_lrs

# ---------------------------------------------------------------- the lookahead, by hand


def test_scalar_lookahead_matches_the_hand_computation() -> None:
    # L0 = (w-2)^2, L1 = (w+1)^2 at w = 1: L = (1, 4), gradients (-2, 4); η = 0.25.
    # A step on task 0 gives w = 1.5: L = (0.25, 6.25); on task 1, w = 0: L = (4, 1).
    w = torch.nn.Parameter(torch.tensor([1.0]))
    z = lookahead_affinity(
        lambda: torch.stack([(w - 2) ** 2, (w + 1) ** 2]).squeeze(1), [w], [0.25]
    )
    expected = [1 - 0.25 / 1, 1 - 6.25 / 4, 1 - 4 / 1, 1 - 1 / 4]
    assert z.flatten().tolist() == pytest.approx(expected, abs=1e-12)
    assert w.item() == 1.0  # restored


def test_linear_least_squares_lookahead_matches_numpy() -> None:
    # shared weights w [3] (two parameters: w[:2] and w[2:], different rates), task t's loss
    # mean((X w - y_t)^2); the lookahead of task i is w - η ⊙ 2/n Xᵀ(X w - y_i).
    rng = np.random.default_rng(0)
    x, ys = rng.normal(size=(20, 3)), rng.normal(size=(3, 20))
    w0 = rng.normal(size=3)
    lrs = np.array([0.05, 0.05, 0.2])
    a = torch.nn.Parameter(torch.tensor(w0[:2]))
    b = torch.nn.Parameter(torch.tensor(w0[2:]))
    xt, yt = torch.tensor(x), torch.tensor(ys)

    def losses() -> torch.Tensor:
        pred = xt @ torch.cat([a, b])
        return ((pred[None, :] - yt) ** 2).mean(dim=1)

    z = lookahead_affinity(losses, [a, b], [0.05, 0.2])

    def loss(w: np.ndarray, t: int) -> float:
        return float(np.mean((x @ w - ys[t]) ** 2))

    for i in range(3):
        grad = 2 / 20 * x.T @ (x @ w0 - ys[i])
        ahead = w0 - lrs * grad
        for j in range(3):
            assert z[i, j].item() == pytest.approx(1 - loss(ahead, j) / loss(w0, j), rel=1e-9)
    assert torch.cat([a, b]).tolist() == w0.tolist()


def test_a_task_without_labels_is_undefined_not_zero() -> None:
    w = torch.nn.Parameter(torch.tensor([1.0]))
    z = lookahead_affinity(lambda: torch.stack([((w - 2) ** 2).sum(), w.sum() * 0.0]), [w], [0.1])
    assert math.isfinite(z[0, 0].item())
    assert math.isnan(z[0, 1].item())  # L_1 = 0: no ratio
    assert z[1].isnan().all()  # no gradient: no lookahead


def _frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": rng.normal(size=n), "x2": rng.normal(size=n)})
    df["up"] = 2.0 * df.x + 0.1 * rng.normal(size=n)
    df["same"] = 2.0 * df.x + 0.3 * df.x2 + 0.1 * rng.normal(size=n)
    # "down" needs another feature of x2 (and a little of x)
    df["down"] = np.sin(3.0 * df.x2) - df.x + 0.1 * rng.normal(size=n)
    return df


TASKS = [mh.Task(t, type="regression") for t in ("up", "same", "down")]


def test_batch_affinity_on_a_model_leaves_it_unchanged_and_matches_a_manual_step() -> None:
    df = _frame()
    run = mh.fit(df, tasks=TASKS, epochs=1, model_options={"hidden": [16]}, lr=0.01)
    model = run.model
    model.train()
    batch = run.preprocessor.transform(df).take(torch.arange(60))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    lrs = shared_lrs(model, run.config.train)
    assert lrs
    assert all(lr == 0.01 for lr in lrs)
    z = batch_affinity(model, batch, run.fitted_tasks, lrs)
    assert model.training  # mode restored
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    # by hand: step the shared parameters on "down" only, with plain SGD
    model.eval()
    shared = [p for p in model.shared_parameters() if p.requires_grad]
    losses = mh_losses(model, batch, run)
    grads = torch.autograd.grad(losses[2], shared)
    with torch.no_grad():
        for p, g in zip(shared, grads, strict=True):
            p.sub_(0.01 * g)
        after = mh_losses(model, batch, run)
    expected = 1 - after / losses.detach()
    assert z[2].tolist() == pytest.approx(expected.double().tolist(), rel=1e-4, abs=1e-7)


def mh_losses(model: torch.nn.Module, batch: object, run: mh.Run) -> torch.Tensor:
    from manyheads.engine.loop import task_losses

    return task_losses(model(batch.x), batch, run.fitted_tasks)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the grouping


@pytest.mark.parametrize(("n", "k", "count"), [(4, 2, 7), (5, 3, 25), (6, 1, 1), (6, 6, 1)])
def test_partitions_are_each_one_once_stirling_numbers(n: int, k: int, count: int) -> None:
    got = [tuple(tuple(g) for g in p) for p in partitions(n, k)]
    assert len(got) == count == len(set(got))
    for p in got:
        assert sorted(t for g in p for t in g) == list(range(n))
        assert all(p)


def test_group_score_is_the_mean_onto_each_member_summed() -> None:
    a = [[0.0, 0.2, 0.1], [0.4, 0.0, 0.3], [-0.6, 0.5, 0.0]]
    # onto 0: (0.4 - 0.6)/2, onto 1: (0.2 + 0.5)/2, onto 2: (0.1 + 0.3)/2
    assert group_score(a, [0, 1, 2]) == pytest.approx(-0.1 + 0.35 + 0.2)
    assert group_score(a, [2]) == 0.0
    assert group_score(a, [0, 2]) == pytest.approx(-0.6 + 0.1)


def test_the_grouping_of_a_hand_made_matrix() -> None:
    # tasks 0, 1 help each other, 2 and 3 help each other, 4 hurts everyone and is hurt.
    a = torch.tensor(
        [
            [0.0, 0.5, -0.1, 0.0, -0.3],
            [0.4, 0.0, 0.0, -0.1, -0.3],
            [-0.1, 0.0, 0.0, 0.6, -0.2],
            [0.0, -0.2, 0.3, 0.0, -0.2],
            [-0.4, -0.4, -0.4, -0.4, 0.0],
        ],
        dtype=torch.float64,
    )
    groups, score = suggest_groups(a, 3)
    assert groups == [[0, 1], [2, 3], [4]]
    assert score == pytest.approx(0.9 + 0.9)
    two, score2 = suggest_groups(a, 2)
    assert two == [[0, 1], [2, 3, 4]] or two == [[0, 1, 4], [2, 3]]
    brute = max(sum(group_score(a, g) for g in p) for p in partitions(5, 2))
    assert score2 == pytest.approx(brute)
    assert suggest_groups(a, 1)[0] == [[0, 1, 2, 3, 4]]
    assert suggest_groups(a, 5) == ([[0], [1], [2], [3], [4]], 0.0)


def test_asymmetric_affinity_counts_the_direction_onto_each_task() -> None:
    # 0 helps 1 a lot, 1 hurts 0 a little: together they still gain (0.8 - 0.1) > 0
    a = torch.tensor([[0, 0.8, -0.5], [-0.1, 0, -0.5], [-0.5, -0.5, 0]], dtype=torch.float64)
    assert suggest_groups(a, 2)[0] == [[0, 1], [2]]


def test_grouping_refuses_a_bad_number_of_groups_or_too_many_tasks() -> None:
    a = torch.zeros(3, 3, dtype=torch.float64)
    with pytest.raises(InvalidParameterError, match=r"must be an int in 1\.\.3 .*Got 0"):
        suggest_groups(a, 0)
    with pytest.raises(InvalidParameterError, match="at most 10 tasks; this run has 11"):
        suggest_groups(torch.zeros(11, 11, dtype=torch.float64), 2)


# ---------------------------------------------------------------- recorded in a run, analyze

CONFIG = """data: {train: toy.csv, valid_fraction: 0.2, test_fraction: 0.0}
tasks: {up: {type: regression}, same: {type: regression}, down: {type: regression}}
model: {architecture: hps, hidden: [16]}
train: {epochs: 2, batch_size: 40, lr: 0.01, seed: 0}
output: run
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _frame(300).to_csv(tmp_path / "toy.csv", index=False)
    (tmp_path / "cfg.yaml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _call(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    outcome = call_cli(argv, capsys)
    assert "Traceback" not in outcome.stderr, outcome.stderr
    return outcome


def test_a_run_records_affinity_without_changing_its_training(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _call(capsys, "train", "cfg.yaml", "--quiet", "output=plain").code == 0
    out = _call(capsys, "train", "cfg.yaml", "--quiet", "train.affinity_every=2")
    assert out.code == 0, out.stderr
    # same weights and history with and without the recording
    assert (folder / "run" / "model.safetensors").read_bytes() == (
        folder / "plain" / "model.safetensors"
    ).read_bytes()
    assert (folder / "run" / "history.csv").read_text() == (
        folder / "plain" / "history.csv"
    ).read_text()
    assert not (folder / "plain" / "affinity.json").exists()
    saved = json.loads((folder / "run" / "affinity.json").read_text())  # strict JSON
    assert saved["tasks"] == ["up", "same", "down"]
    # 240 training rows / 40 = 6 steps per epoch, every 2nd step: 3 records per epoch
    assert [e["epoch"] for e in saved["epochs"]] == [1, 2]
    assert saved["n_records"] == [[6] * 3] * 3
    result = load_affinity(folder / "run")
    assert result is not None
    z = result.matrix()
    # up and same (one feature) help each other more than down (another feature) helps them
    assert z[1, 0] > z[2, 0] > 0
    assert z[0, 1] > z[2, 1] > 0
    # the mean over training is the records-weighted mean of the epochs
    e1, e2 = (torch.tensor(e["affinity"]) for e in saved["epochs"])
    assert z.float().allclose((e1 + e2) / 2, atol=1e-7)


def test_analyze_shows_the_affinity_and_the_grouping(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _call(capsys, "train", "cfg.yaml", "--quiet", "train.affinity_every=3").code == 0
    out = _call(capsys, "analyze", "run", "--groups", "2")
    assert out.code == 0, out.stderr
    assert "cosine (conflict rate)" in out.stdout  # the gradient matrix is still there
    assert "lookahead affinity, row onto column" in out.stdout
    assert "suggested grouping into 2 groups" in out.stdout
    assert out.stdout.rstrip().endswith("up, same | down")
    default = _call(capsys, "analyze", "run")
    assert "suggested grouping into 2 groups" in default.stdout


def test_analyze_refuses_groups_without_a_recording_or_out_of_range(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _call(capsys, "train", "cfg.yaml", "--quiet").code == 0
    plain = _call(capsys, "analyze", "run")
    assert plain.code == 0
    assert "no affinity.json: train with train.affinity_every=N" in plain.stdout
    out = _call(capsys, "analyze", "run", "--groups", "2")
    assert out.code == 2
    assert "has no affinity.json. Train with train.affinity_every=N" in out.stderr
    out = _call(capsys, "analyze", "run", "--groups", "4")
    assert out.code == 2
    assert "--groups must be an int in 1..3 (the run's number of tasks). Got 4" in out.stderr


def test_a_bad_affinity_every_is_a_config_error(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _call(capsys, "train", "cfg.yaml", "--quiet", "train.affinity_every=0")
    assert out.code == 2
    assert "affinity_every" in out.stderr
    assert "must be an int >= 1 (or null: never). Got 0." in out.stderr
    assert not (folder / "run" / "affinity.json").exists()
