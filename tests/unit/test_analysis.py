"""Task relationships: gradient cosine and conflict rate, the Python function and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import manyheads as mh
from manyheads.cli.main import main
from manyheads.engine.loop import task_losses
from manyheads.errors import InvalidParameterError
from manyheads.workflow._analysis import plot_relations, task_relations


def _frame(n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=n), "x2": rng.normal(size=n)})
    df["up"] = 2.0 * df.x + 0.1 * rng.normal(size=n)
    df["same"] = 2.0 * df.x + 0.1 * rng.normal(size=n)
    df["down"] = -2.0 * df.x + 0.1 * rng.normal(size=n)
    return df


TASKS = [mh.Task(t, type="regression") for t in ("up", "same", "down")]


def test_cosines_match_per_task_gradients_computed_one_by_one() -> None:
    df = _frame()
    run = mh.fit(df, tasks=TASKS, epochs=1, model_options={"hidden": [16]})
    rel = task_relations(run, df, batch_size=60, max_batches=1, seed=3)
    batch = next(
        run.preprocessor.transform(df).batches(60, generator=torch.Generator().manual_seed(3))
    )
    losses = task_losses(run.model(batch.x), batch, run.fitted_tasks)
    shared = run.model.shared_parameters()
    grads = [
        torch.cat([g.flatten() for g in torch.autograd.grad(loss, shared, retain_graph=True)])
        for loss in losses
    ]
    for i in range(3):
        for j in range(3):
            expected = torch.nn.functional.cosine_similarity(grads[i], grads[j], dim=0)
            assert rel.cosine[i][j] == pytest.approx(float(expected), abs=1e-5)
            assert rel.conflict_rate[i][j] == float(expected < 0)
    assert rel.n_batches == 1
    assert rel.n_pairs[0][2] == 1


def test_relations_are_symmetric_over_many_batches() -> None:
    df = _frame()
    run = mh.fit(df, tasks=TASKS, epochs=1)
    rel = task_relations(run, df, batch_size=60)
    assert rel.tasks == ["up", "same", "down"]
    assert rel.n_batches == 4
    for i in range(3):
        assert rel.cosine[i][i] == pytest.approx(1.0)
        assert rel.conflict_rate[i][i] == 0.0
        for j in range(3):
            assert rel.cosine[i][j] == pytest.approx(rel.cosine[j][i])
            assert 0.0 <= rel.conflict_rate[i][j] <= 1.0


def test_architectures_without_shared_parameters_are_refused() -> None:
    df = _frame(80)
    run = mh.fit(df, tasks=TASKS, architecture="stl", epochs=1)
    with pytest.raises(InvalidParameterError, match="'stl' has no shared parameters"):
        task_relations(run, df)


def test_cli_writes_json_and_heatmap(tmp_path: Path) -> None:
    df = _frame(120)
    data = tmp_path / "train.csv"
    df.to_csv(data, index=False)
    mh.fit(df, tasks=TASKS, epochs=1, output=tmp_path / "run")
    assert main(["analyze", str(tmp_path / "run"), "--data", str(data), "--batch-size", "40"]) == 0
    saved = json.loads((tmp_path / "run" / "task_relations.json").read_text())
    assert saved["tasks"] == ["up", "same", "down"]
    assert saved["n_batches"] == 3
    assert (tmp_path / "run" / "task_relations.png").stat().st_size > 1000


def test_cli_asks_for_data_when_the_run_was_trained_from_a_dataframe(tmp_path: Path) -> None:
    mh.fit(_frame(80), tasks=TASKS, epochs=1, output=tmp_path / "run")
    assert main(["analyze", str(tmp_path / "run")]) == 2


def test_plot_relations_writes_a_png(tmp_path: Path) -> None:
    run = mh.fit(_frame(80), tasks=TASKS, epochs=1)
    out = plot_relations(task_relations(run, _frame(80)), tmp_path / "h.png")
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_relations_recorded_during_training_do_not_change_the_run(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=300), "z": rng.normal(size=300)})
    df["a"], df["b"] = df.x * 2.0, df.z - df.x
    tasks = [mh.Task("a", type="regression"), mh.Task("b", type="regression")]
    options = {"dropout": 0.2, "norm": "batch"}
    plain = mh.fit(df, tasks=tasks, epochs=3, batch_size=32, model_options=options)
    watched = mh.fit(
        df,
        tasks=tasks,
        epochs=3,
        batch_size=32,
        model_options=options,
        relations_every=1,
        output=tmp_path / "run",
    )
    assert plain.metrics is not None
    assert watched.metrics is not None
    assert watched.metrics["tasks"] == plain.metrics["tasks"]
    history = json.loads((tmp_path / "run" / "task_relations_history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["tasks"] == ["a", "b"]
    assert history[-1]["cosine"][0][0] == pytest.approx(1.0)
