"""Baselines (``gbdt``, ``linear``): real census rows, closed-form and synthetic tasks, the
refusals and their messages, missing labels and determinism."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from manyheads.baselines import BASELINES, fit_baselines, list_baselines
from manyheads.builtin_datasets import DatasetSplits, load_dataset
from manyheads.errors import DataError, InvalidParameterError
from manyheads.tasks import Task, fit_task


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One OpenMP thread for the trees, as torch has in tests: two workers share two cores."""
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def census() -> DatasetSplits:
    """The census-income sample shipped in the package: its own splits, tasks and inputs,
    cut to 3000 train, 500 valid and 1500 test rows."""
    ds = load_dataset("census-income", sample=True)
    assert ds.test is not None
    return dataclasses.replace(
        ds, train=ds.train.head(3000), valid=ds.valid.head(500), test=ds.test.head(1500)
    )


def _constant_auc(test: pd.DataFrame, task: Task) -> float:
    """The AUC of a constant predictor, through the same score code."""
    fitted = fit_task(task, test, "<test>")
    target, mask = fitted.encode(test, "<test>")
    return fitted.score(torch.zeros(len(test)), target, mask)["auc"]


def test_registry_lists_both_baselines() -> None:
    assert list_baselines() == ["gbdt", "linear"]
    assert "gradient" in BASELINES.describe()["gbdt"].lower()


def test_both_baselines_beat_a_constant_predictor_on_census(census: DatasetSplits) -> None:
    test = census.test
    assert test is not None
    tasks = list(census.tasks)
    results = fit_baselines(
        ["gbdt", "linear"], census.train, census.valid, test, tasks, census.inputs
    )
    for name, result in results.items():
        assert result.split == "test"
        for task in tasks:
            scores = result.tasks[task.name]
            assert scores.primary == "auc"
            assert scores.higher_is_better
            assert set(scores.valid) == {"auc", "accuracy", "f1", "logloss", "n"}
            assert scores.test is not None
            assert scores.test["n"] == len(test)
            assert scores.n_train == len(census.train)
            assert scores.train_seconds > 0
            constant = _constant_auc(test, task)
            assert constant == pytest.approx(0.5)
            margin = 0.35 if task.name == "income" else 0.45
            assert scores.test["auc"] > constant + margin, (name, task.name, scores.test)
    assert "HistGradientBoosting(max_iter=500, early_stopping=True" in results["gbdt"].description


def test_gbdt_scores_what_scikit_learn_scores_at_the_issue_setting(census: DatasetSplits) -> None:
    train, test, inputs = census.train, census.test, census.inputs
    assert test is not None
    task = census.tasks[1]
    result = fit_baselines(["gbdt"], train, census.valid, test, [task], inputs, seed=3)["gbdt"]
    categorical = [c for c, k in inputs.items() if k == "categorical"]
    x_train = train[list(inputs)].astype(dict.fromkeys(categorical, "category"))
    x_test = test[list(inputs)].copy()
    for column in categorical:  # the training categories; an unseen value is missing
        known = x_train[column].cat.categories
        values = x_test[column].astype(object)
        x_test[column] = pd.Categorical(values.where(values.isin(known)), categories=known)
    model = HistGradientBoostingClassifier(
        max_iter=500, early_stopping=True, random_state=3, categorical_features="from_dtype"
    ).fit(x_train, train[task.name])
    expected = roc_auc_score(test[task.name], model.predict_proba(x_test)[:, 1])
    scores = result.tasks[task.name]
    assert scores.test is not None
    assert scores.test["auc"] == pytest.approx(expected, abs=1e-6)
    assert scores.model == f"HistGradientBoostingClassifier, {model.n_iter_} iterations"


def _line(n: int, seed: int = 0) -> pd.DataFrame:
    x = np.random.default_rng(seed).uniform(-3, 3, size=n)
    return pd.DataFrame({"x": x, "y": 2.0 * x + 1.0})


def test_linear_recovers_an_exact_line() -> None:
    frame = _line(300)
    task = Task("y", type="regression")
    results = fit_baselines(
        ["linear", "gbdt"], frame[:200], frame[200:250], frame[250:], [task], {"x": "numeric"}
    )
    linear = results["linear"].tasks["y"]
    assert linear.primary == "rmse"
    assert linear.test is not None
    assert linear.test["r2"] == pytest.approx(1.0, abs=1e-4)
    assert linear.test["rmse"] < 0.05
    assert linear.model == "Ridge"
    gbdt = results["gbdt"].tasks["y"].test
    assert gbdt is not None
    assert gbdt["r2"] > 0.9


def _classes(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    frame = pd.DataFrame({"x": x, "colour": colour, "noise": rng.normal(size=n)})
    frame["band"] = np.where(x < -0.5, "low", np.where(x < 0.5, "mid", "high"))
    frame["warm"] = (colour == "red").astype(int)
    frame["big"] = (x > 0).astype(int)
    frame["never"] = 0  # one value in training: a constant model
    frame["note"] = np.where(colour == "red", "a red one", "some other thing")
    return frame


def test_multiclass_on_synthetic_classes() -> None:
    frame = _classes(600)
    task = Task("band", type="multiclass")
    inputs = {"x": "numeric", "colour": "categorical", "noise": "numeric"}
    results = fit_baselines(
        ["gbdt", "linear"], frame[:400], frame[400:500], frame[500:], [task], inputs
    )
    for name, result in results.items():
        test = result.tasks["band"].test
        assert test is not None
        assert set(test) == {"accuracy", "macro_f1", "n"}
        assert test["accuracy"] > 0.9, name


def test_multilabel_one_model_per_label_and_a_constant_label() -> None:
    frame = _classes(600, seed=1)
    task = Task("tags", type="multilabel", columns=["warm", "big", "never"])
    inputs = {"x": "numeric", "colour": "categorical", "note": "text"}
    results = fit_baselines(
        ["gbdt", "linear"], frame[:400], frame[400:500], frame[500:], [task], inputs
    )
    for name, result in results.items():
        scores = result.tasks["tags"]
        assert scores.primary == "micro_f1"
        assert scores.test is not None
        assert scores.test["mean_auc"] > 0.95, name  # over the labels with both values in test
        assert scores.test["micro_f1"] > 0.9, name
        assert scores.model.startswith("3 labels: ")
        assert scores.model.endswith("; constant")  # 'never' has one value in training
    assert "text columns dropped: note" in results["gbdt"].description
    assert "1 TF-IDF" in results["linear"].description


def test_text_only_inputs_refused_by_gbdt() -> None:
    frame = _classes(100)
    with pytest.raises(InvalidParameterError, match=r"The gbdt baseline drops text columns"):
        fit_baselines(["gbdt"], frame, frame, None, [Task("warm", type="binary")], {"note": "text"})


def test_unknown_baseline_lists_the_names_and_the_closest() -> None:
    frame = _classes(50)
    with pytest.raises(
        InvalidParameterError,
        match=r"^Unknown baseline 'gdbt'\. Valid names: gbdt, linear\. Did you mean 'gbdt'\?$",
    ):
        fit_baselines(
            ["linear", "gdbt"], frame, frame, None, [Task("big", type="binary")], {"x": "numeric"}
        )


def test_repeated_or_no_baseline_refused() -> None:
    frame = _classes(50)
    tasks, inputs = [Task("big", type="binary")], {"x": "numeric"}
    with pytest.raises(InvalidParameterError, match=r"each baseline once\. .* gbdt repeated\."):
        fit_baselines(["gbdt", "gbdt"], frame, frame, None, tasks, inputs)
    with pytest.raises(InvalidParameterError, match=r"at least one baseline \(gbdt, linear\)"):
        fit_baselines([], frame, frame, None, tasks, inputs)


@pytest.mark.parametrize(
    ("task", "kind"),
    [
        (Task("ner", type="tagging", scheme="bio"), "tagging"),
        (Task("spot", type="box", columns=("x1", "y1", "x2", "y2")), "box"),
    ],
)
def test_token_and_box_tasks_refused_with_the_message(task: Task, kind: str) -> None:
    frame = _classes(50)
    expected = (
        f"The linear baseline cannot learn task '{task.name}' of type {kind}: baselines learn "
        "row-level tasks of type binary, multiclass, multilabel or regression. Leave the linear "
        "baseline out of the comparison, or the task out of the tasks."
    )
    with pytest.raises(InvalidParameterError) as info:
        fit_baselines(["linear"], frame, frame, None, [task], {"x": "numeric"})
    assert str(info.value) == expected


@pytest.mark.parametrize("kind", ["tokens", "image"])
def test_tokens_and_image_inputs_refused(kind: str) -> None:
    frame = _classes(50)
    with pytest.raises(
        InvalidParameterError,
        match=rf"The gbdt baseline reads tables only \(numeric, categorical, text columns\), "
        rf"and column 'words' is a {kind} input\.",
    ):
        fit_baselines(["gbdt"], frame, frame, None, [Task("big", type="binary")], {"words": kind})


def test_rows_without_a_label_are_left_out_of_fit_and_score() -> None:
    frame = _classes(400, seed=2)
    frame["big"] = frame["big"].astype(object)
    frame.loc[frame.index % 4 == 0, "big"] = None  # a quarter of the rows unlabelled
    tasks = [Task("big", type="binary"), Task("warm", type="binary")]
    train, valid, test = frame[:300], frame[300:350], frame[350:]
    result = fit_baselines(
        ["linear"], train, valid, test, tasks, {"x": "numeric", "colour": "categorical"}
    )["linear"]
    big, warm = result.tasks["big"], result.tasks["warm"]
    assert big.n_train == int(train["big"].notna().sum()) == 225
    assert warm.n_train == 300
    assert big.test is not None
    assert warm.test is not None
    assert big.test["n"] == int(test["big"].notna().sum())
    assert warm.test["n"] == len(test)
    assert big.valid["n"] == int(valid["big"].notna().sum())


def test_unseen_and_frequent_categories() -> None:
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 300, size=1200)  # 300 values: gbdt keeps the 255 most frequent
    frame = pd.DataFrame({"code": [f"c{c}" for c in codes], "x": rng.normal(size=1200)})
    frame["odd"] = (codes % 2).astype(int)
    test = frame[1000:].assign(code=["never-seen"] * 100 + list(frame["code"][1100:]))
    result = fit_baselines(
        ["gbdt", "linear"],
        frame[:900],
        frame[900:1000],
        test,
        [Task("odd", type="binary")],
        {"code": "categorical", "x": "numeric"},
    )
    for name, res in result.items():
        scores = res.tasks["odd"].test
        assert scores is not None
        assert scores["n"] == 200
        assert np.isfinite(scores["auc"]), name


def test_same_seed_same_scores() -> None:
    frame = _classes(300, seed=3)
    tasks = [Task("band", type="multiclass"), Task("big", type="binary")]
    inputs = {"x": "numeric", "colour": "categorical", "noise": "numeric"}

    def run(seed: int) -> dict[str, object]:
        results = fit_baselines(
            ["gbdt", "linear"], frame[:200], frame[200:250], frame[250:], tasks, inputs, seed=seed
        )
        return {
            n: (r.metrics(), {t: s.valid for t, s in r.tasks.items()}) for n, r in results.items()
        }

    assert run(7) == run(7)


def test_a_class_too_rare_for_the_gbdt_hold_out_is_refused() -> None:
    frame = _classes(60)
    frame["rare"] = 0
    frame.loc[frame.index[0], "rare"] = 1  # one positive row: no stratified hold-out
    with pytest.raises(DataError, match=r"the gbdt baseline cannot learn task 'rare'"):
        fit_baselines(["gbdt"], frame, frame, None, [Task("rare", type="binary")], {"x": "numeric"})
