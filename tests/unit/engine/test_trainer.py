from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import manyheads as mh
from manyheads.config.train import TrainSettings
from manyheads.engine._schedule import lr_factor
from manyheads.errors import DataWarning, InvalidParameterError

TASKS = [
    mh.Task("good", type="binary"),
    mh.Task("score", type="regression"),
    mh.Task("shade", type="multiclass"),
]
INPUTS = {"x": "numeric", "x2": "numeric", "colour": "categorical", "review": "text"}


def _fit(frame: pd.DataFrame, **kw: object) -> mh.Run:
    settings: dict[str, object] = {"epochs": 3, "batch_size": 64, **kw}
    return mh.fit(frame, tasks=TASKS, inputs=INPUTS, **settings)  # type: ignore[arg-type]


def test_same_seed_same_metrics(toy_frame: pd.DataFrame) -> None:
    a = _fit(toy_frame, seed=3, model_options={"dropout": 0.2})
    b = _fit(toy_frame, seed=3, model_options={"dropout": 0.2})
    c = _fit(toy_frame, seed=4, model_options={"dropout": 0.2})
    assert a.metrics is not None
    assert b.metrics is not None
    assert c.metrics is not None
    assert a.metrics["tasks"] == b.metrics["tasks"]
    assert a.metrics["tasks"] != c.metrics["tasks"]


def test_training_learns_the_toy_tasks(toy_frame: pd.DataFrame) -> None:
    run = mh.fit(toy_frame, tasks=TASKS, inputs=INPUTS, epochs=30, batch_size=64, lr=0.01)
    assert run.metrics is not None
    tasks = run.metrics["tasks"]
    assert tasks["good"]["auc"] > 0.98
    assert tasks["shade"]["accuracy"] > 0.95
    assert tasks["score"]["r2"] > 0.9


def test_bf16_training_learns_the_toy_tasks_with_float32_weights(
    toy_frame: pd.DataFrame,
) -> None:
    run = mh.fit(
        toy_frame, tasks=TASKS, inputs=INPUTS, epochs=30, batch_size=64, lr=0.01, precision="bf16"
    )
    assert run.metrics is not None
    tasks = run.metrics["tasks"]
    assert tasks["good"]["auc"] > 0.98
    assert tasks["shade"]["accuracy"] > 0.95
    assert tasks["score"]["r2"] > 0.9
    assert all(p.dtype == torch.float32 for p in run.model.parameters())


def test_precision_must_be_fp32_or_bf16() -> None:
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'precision' setting must be one of \('fp32', 'bf16'\)\. Got 'fp16'",
    ):
        TrainSettings(precision="fp16")


@pytest.mark.parametrize(
    ("architecture", "grouped"), [("hps", False), ("stl", False), ("hps", True)]
)
def test_resume_after_interruption_matches_an_uninterrupted_run(
    toy_frame: pd.DataFrame, tmp_path: Path, architecture: str, grouped: bool | str
) -> None:
    toy_frame.to_csv(tmp_path / "toy.csv", index=False)
    raw = {
        "data": {"train": str(tmp_path / "toy.csv")},
        "inputs": INPUTS,
        "tasks": {
            "good": {"type": "binary"},
            "score": {"type": "regression"},
            "shade": {"type": "multiclass"},
        },
        "model": {
            "architecture": architecture,
            "dropout": 0.1,
            **({"encoder": "bilstm", "encoder_options": {"hidden": 8}} if grouped else {}),
        },
        "train": {
            "epochs": 4,
            "batch_size": 64,
            "schedule": "cosine",
            "group_by_length": grouped is True,
            "batch_by": "tokens" if grouped == "tokens" else "rows",
        },
    }
    from manyheads.config.load import build_config

    full = mh.train_config(build_config({**raw, "output": str(tmp_path / "full")}))
    # Simulate a kill during epoch 3, then resume from the last completed epoch.
    from manyheads.engine import trainer

    original = trainer.train_one_epoch
    calls = {"n": 0}

    def dying(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(*args, **kwargs)  # type: ignore[arg-type]

    cut = build_config({**raw, "output": str(tmp_path / "cut")})
    trainer.train_one_epoch = dying  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            mh.train_config(cut)
    finally:
        trainer.train_one_epoch = original
    assert not (tmp_path / "cut" / "metrics.json").exists()
    assert not (tmp_path / "cut" / "model.json").exists()
    with pytest.raises(InvalidParameterError, match=r"holds an unfinished run\. Pass --resume"):
        mh.train_config(cut)
    resumed = mh.train_config(mh.load_config(tmp_path / "cut" / "config.yaml"), resume=True)
    assert resumed.metrics is not None
    assert full.metrics is not None
    assert resumed.metrics["tasks"] == full.metrics["tasks"]
    assert resumed.metrics.get("task_best_epochs") == full.metrics.get("task_best_epochs")
    history = pd.read_csv(tmp_path / "cut" / "history.csv")
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    saved = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    assert saved["tasks"] == full.metrics["tasks"]


def test_architecture_given_as_a_class(toy_frame: pd.DataFrame) -> None:
    from manyheads.architectures import MMoE

    run = mh.fit(
        toy_frame,
        tasks=TASKS,
        inputs=INPUTS,
        architecture=MMoE,
        epochs=1,
        model_options={"n_experts": 2},
    )
    assert run.architecture == "mmoe"

    class Unregistered(MMoE):
        pass

    with pytest.raises(InvalidParameterError, match="Unregistered is not registered"):
        mh.fit(toy_frame, tasks=TASKS, architecture=Unregistered, epochs=1)


def test_lr_schedules() -> None:
    s = TrainSettings(epochs=10, schedule="step", step_size=2, gamma=0.5, warmup_epochs=1)
    assert lr_factor(0, steps_per_epoch=4, s=s) == pytest.approx(0.25)
    assert lr_factor(4, steps_per_epoch=4, s=s) == pytest.approx(1.0)
    assert lr_factor(8, steps_per_epoch=4, s=s) == pytest.approx(0.5)
    linear = TrainSettings(epochs=3, schedule="linear", warmup_epochs=1)  # 4 warm-up, 8 decay
    assert lr_factor(3, steps_per_epoch=4, s=linear) == pytest.approx(1.0)
    assert lr_factor(4, steps_per_epoch=4, s=linear) == pytest.approx(1.0)
    assert lr_factor(8, steps_per_epoch=4, s=linear) == pytest.approx(0.5)
    assert lr_factor(11, steps_per_epoch=4, s=linear) == pytest.approx(0.125)


def test_bad_setting_is_refused_with_its_name() -> None:
    with pytest.raises(InvalidParameterError, match=r"The 'optimizer' setting must be one of"):
        TrainSettings(optimizer="adamax")


def test_unknown_fit_setting_suggests_the_closest(toy_frame: pd.DataFrame) -> None:
    with pytest.raises(InvalidParameterError, match="Did you mean 'epochs'"):
        mh.fit(toy_frame, tasks=TASKS, epoch=3)


def test_separate_learning_rates_for_shared_and_task_parameters(toy_frame: pd.DataFrame) -> None:
    frozen = mh.fit(
        toy_frame, tasks=TASKS, inputs=INPUTS, epochs=1, batch_size=64, lr_shared=1e-12, seed=0
    )
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    fresh = mh.create_model("hps", frozen.preprocessor.spec, {"good": 1, "score": 1, "shade": 3})
    for a, b in zip(frozen.model.shared_parameters(), fresh.shared_parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("architecture", ["stl", "hps"])
def test_lr_encoder_sets_the_encoders_rate_shared_or_not(architecture: str) -> None:
    # stl has no shared set: lr_task alone would move each task's pretrained encoder too
    torch = pytest.importorskip("torch")
    from manyheads import create_method
    from manyheads.encoders.base import InputEncoder
    from manyheads.engine._optim import param_groups
    from manyheads.testing import make_toy_problem

    problem = make_toy_problem(16)
    model = mh.create_model(architecture, problem.spec, {"a": 1, "b": 3})
    settings = TrainSettings(lr=1e-3, lr_task=2e-3, lr_encoder=5e-5)
    method = create_method("uw", 2)
    groups = param_groups(model, method, settings)
    encoders = [m for m in model.modules() if isinstance(m, InputEncoder)]
    assert len(encoders) == (2 if architecture == "stl" else 1)
    rate = {id(p): g["lr"] for g in groups for p in g["params"]}
    assert all(rate[id(p)] == 5e-5 for m in encoders for p in m.parameters())
    heads = [p for t in ("a", "b") for p in model.towers.task_parameters(t)]  # type: ignore[operator]
    assert heads
    assert all(rate[id(p)] == 2e-3 for p in heads)
    everything = [*model.parameters(), *method.parameters()]  # each in exactly one group
    assert sorted(id(p) for g in groups for p in g["params"]) == sorted(map(id, everything))
    assert isinstance(groups[0]["params"][0], torch.nn.Parameter)


def test_group_by_length_needs_a_text_input(toy_frame: pd.DataFrame) -> None:
    with pytest.raises(InvalidParameterError, match=r"must be true or false\. Got 'yes'"):
        TrainSettings(group_by_length="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match=r"The 'batch_by' setting must be one of"):
        TrainSettings(batch_by="words")
    with pytest.raises(InvalidParameterError, match=r"The 'batch_by' setting needs token seq"):
        _fit(toy_frame, batch_by="tokens")
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'group_by_length' setting needs token sequences \(a text or tokens input read "
        r"by a sequence encoder: .*\); this run's encoded inputs are \['cat', 'num', "
        r"'text:review'\]\. Remove train.group_by_length or set model.encoder\.",
    ):
        _fit(toy_frame, group_by_length=True)


@pytest.mark.parametrize("key", ["lr_encoder", "lr_task", "lr_shared"])
def test_learning_rates_must_be_positive(key: str) -> None:
    with pytest.raises(
        InvalidParameterError,
        match=rf"The '{key}' setting must be a finite number > 0 \(or null: the value of lr\)",
    ):
        TrainSettings(**{key: 0.0})  # type: ignore[arg-type]


def test_rows_without_some_labels_still_train_the_other_tasks(
    toy_frame: pd.DataFrame, tmp_path: Path
) -> None:
    frame = toy_frame.copy()
    frame.loc[frame.index[:300], "score"] = float("nan")  # 3/4 of rows lack the regression label
    valid = frame.iloc[:80].copy()  # no regression label at all in validation
    with pytest.warns(DataWarning, match="task 'score' has no labelled row in the validation"):
        run = mh.fit(
            frame.iloc[80:],
            valid=valid,
            tasks=TASKS,
            inputs=INPUTS,
            epochs=8,
            batch_size=32,
            lr=0.01,
            output=tmp_path / "run",
        )
    assert run.metrics is not None
    assert run.metrics["split"] == "valid"
    assert run.metrics["tasks"]["good"]["auc"] > 0.95  # the labelled tasks trained
    assert run.metrics["tasks"]["score"]["n"] == 0
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["tasks"]["score"]["rmse"] is None  # strict JSON: no NaN
    assert all(pd.notna(h["train_loss/score"]) for h in run.history)


def test_stl_takes_each_task_from_its_own_best_validation_epoch(toy_frame: pd.DataFrame) -> None:
    import torch

    from manyheads.engine.loop import evaluate_losses, predict_outputs

    frame = toy_frame.copy()
    frame["score"] = frame["score"] + np.random.default_rng(1).normal(0, 3.0, len(frame))
    valid = frame.iloc[:100]
    run = mh.fit(
        frame.iloc[100:],
        valid=valid,
        tasks=TASKS,
        inputs=INPUTS,
        architecture="stl",
        epochs=8,
        batch_size=16,
        lr=0.03,
        seed=0,
    )
    assert run.metrics is not None
    best = run.metrics["task_best_epochs"]
    history = pd.DataFrame(run.history)
    for task in ("good", "score", "shade"):
        column = history[f"valid_loss/{task}"]
        assert best[task] == int(history["epoch"][column.idxmin()])
    assert len(set(best.values())) > 1  # the tasks peaked at different epochs
    table = run.preprocessor.transform(valid)
    outputs = predict_outputs(run.model, table, batch_size=512, device=torch.device("cpu"))
    losses = evaluate_losses(outputs, table, run.fitted_tasks)
    for task in ("good", "score", "shade"):
        assert losses[task] == pytest.approx(history[f"valid_loss/{task}"].min(), rel=1e-5)
