"""ESMM runs: predict writes pCTR, pCVR and pCTCVR; group_by adds per-user metrics to the run."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import manyheads as mh
from manyheads.builtin_datasets import load_dataset
from manyheads.tasks._ranking import ranking_metrics

Cli = Callable[..., subprocess.CompletedProcess[str]]
INPUTS = {"user_segment": "categorical", "item_category": "categorical", "position": "categorical"}


@pytest.fixture(scope="module")
def esmm() -> tuple[mh.Run, pd.DataFrame]:
    ds = load_dataset("synthetic-ccp", n_impressions=4000, seed=0)
    run = mh.fit(
        ds.train,
        valid=ds.valid,
        tasks=list(ds.tasks),
        inputs=INPUTS,
        architecture="cascade",
        model_options={"funnel": True, "hidden": [16], "tower": [8]},
        epochs=1,
        batch_size=256,
    )
    assert ds.test is not None
    return run, ds.test


def test_predict_writes_the_funnel_columns(esmm: tuple[mh.Run, pd.DataFrame]) -> None:
    run, test = esmm
    pred = run.predict(test)
    assert {"pCTR", "pCVR", "pCTCVR", "click_proba", "purchase_proba"} <= set(pred.columns)
    np.testing.assert_allclose(pred["pCTR"], pred["click_proba"], rtol=1e-6)
    np.testing.assert_allclose(pred["pCTCVR"], pred["purchase_proba"], rtol=1e-6)
    np.testing.assert_allclose(pred["pCTCVR"], pred["pCTR"] * pred["pCVR"], rtol=1e-5)
    # pCVR is the CVR tower's own probability (the conditional), read back from the joint
    model = run.model.eval()
    table = run.preprocessor.transform(test, labels=False)
    with torch.no_grad():
        towers = model.tower_logits(model.forward_features(table.x))  # type: ignore[operator]
    np.testing.assert_allclose(pred["pCVR"], torch.sigmoid(towers["purchase"]).numpy(), atol=1e-5)


def test_a_three_stage_funnel_writes_conditional_columns() -> None:
    from manyheads.architectures.cascade import funnel_columns

    logits = {t: torch.tensor([0.0, 2.0]) for t in ("view", "click")}
    logits["buy"] = torch.tensor([-50.0, 1.0])
    cols = funnel_columns(logits, ["view", "click", "buy"])
    assert sorted(cols) == ["buy_cond_proba", "click_cond_proba"]
    assert np.all((cols["buy_cond_proba"] >= 0) & (cols["buy_cond_proba"] <= 1))


def _config(tmp_path: Path, **data: object) -> Path:
    data_text = ", ".join(f"{k}: {v}" for k, v in data.items())
    text = f"""
data: {{dataset: synthetic-ccp, dataset_options: {{n_impressions: 4000, seed: 1}}, {data_text}}}
inputs: {{user_segment: categorical, item_category: categorical, position: categorical}}
tasks: {{click: {{type: binary}}, purchase: {{type: binary}}}}
model: {{architecture: cascade, funnel: true, hidden: [16], tower: [8]}}
train: {{epochs: 1, batch_size: 256}}
output: {tmp_path / "run"}
"""
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return path


def test_group_by_scores_every_binary_task_per_user(cli: Cli, tmp_path: Path) -> None:
    cfg = _config(tmp_path, group_by="user_id", ranking_k=5)
    done = cli("train", str(cfg), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["group_by"] == {"column": "user_id", "k": 5}
    for task in ("click", "purchase"):
        assert {"gauc", "ndcg@5", "recall@5"} <= set(metrics["tasks"][task])
        assert {"gauc", "ndcg@5", "recall@5"} <= set(metrics["valid"][task])
    # the numbers are those of the saved model's predictions on the test split
    ds = load_dataset("synthetic-ccp", n_impressions=4000, seed=1)
    assert ds.test is not None
    pred = mh.load(tmp_path / "run").predict(ds.test)
    expected = ranking_metrics(
        ds.test["user_id"].to_numpy(), ds.test["purchase"].to_numpy(), pred["pCTCVR"], k=5
    )
    for key, value in expected.items():
        assert metrics["tasks"]["purchase"][key] == pytest.approx(value, abs=1e-6)
    # manyheads eval scores a file per user too
    ds.test.to_csv(tmp_path / "test.csv", index=False)
    out = tmp_path / "eval.json"
    done = cli(
        "eval",
        "run",
        "test.csv",
        "--group-by",
        "user_id",
        "--ranking-k",
        "5",
        "-o",
        str(out),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    scored = json.loads(out.read_text())["tasks"]["purchase"]
    for key, value in expected.items():
        assert scored[key] == pytest.approx(value, abs=1e-6)
    done = cli("eval", "run", "test.csv", "--group-by", "uid", cwd=tmp_path)
    assert done.returncode == 2
    assert "uid" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_group_column_is_refused_before_training(cli: Cli, tmp_path: Path) -> None:
    cfg = _config(tmp_path, group_by="uid")
    done = cli("train", str(cfg), "--quiet", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "column 'uid'" in done.stderr
    assert "'data.group_by' names the column 'uid', which the train rows lack" in done.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_bad_group_settings_are_config_problems(tmp_path: Path) -> None:
    from manyheads.config.load import load_config

    with pytest.raises(mh.ConfigError, match=r"'data.ranking_k' must be an int >= 1; got 0."):
        load_config(_config(tmp_path, group_by="user_id", ranking_k=0))
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "data: {group_by: u, sources: [{train: a.csv, tasks: [y]}]}\ntasks: {y: {type: binary}}\n"
    )
    with pytest.raises(mh.ConfigError, match=r"'data.group_by' is not used with 'data.sources'"):
        load_config(sources)


def test_compare_reports_the_ranking_metrics(tmp_path: Path) -> None:
    from manyheads.config.load import load_config
    from manyheads.workflow._compare import compare

    config = load_config(_config(tmp_path, group_by="user_id"))
    result = compare(
        config, architectures=["cascade"], methods=["ew"], seeds=[0], output=tmp_path / "cmp"
    )
    saved = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert result is not None
    rows = {row["name"]: row for row in saved["variants"]}
    for name in ("stl", "cascade+ew"):
        metrics = rows[name]["tasks"]["purchase"]["metrics"]
        assert {"auc", "gauc", "ndcg@10", "recall@10"} <= set(metrics)


def test_evaluate_adds_ranking_metrics_on_request(esmm: tuple[mh.Run, pd.DataFrame]) -> None:
    run, test = esmm
    plain = run.evaluate(test)
    assert "gauc" not in plain["tasks"]["click"]
    ranked = run.evaluate(test, group_by="user_id", ranking_k=3)
    pred = run.predict(test)
    expected = ranking_metrics(
        test["user_id"].to_numpy(), test["click"].to_numpy(), pred["pCTR"], k=3
    )
    for key, value in expected.items():
        assert ranked["tasks"]["click"][key] == pytest.approx(value, abs=1e-6)
    with pytest.raises(mh.DataError, match=r"group_by names the column 'uid', which the evaluated"):
        run.evaluate(test, group_by="uid")


def test_validate_reports_a_missing_group_column(tmp_path: Path) -> None:
    from manyheads.config.load import load_config
    from manyheads.config.validate import validate_data

    problems, _ = validate_data(load_config(_config(tmp_path, group_by="uid")))
    assert any("'data.group_by' names the column 'uid'" in p for p in problems)
    problems, _ = validate_data(load_config(_config(tmp_path, group_by="user_id")))
    assert problems == []
