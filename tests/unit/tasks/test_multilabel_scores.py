"""Multilabel reports one AUC per label beside its metrics (issue 17: rare labels)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from manyheads.tasks import Task
from manyheads.tasks._registry import get_task_type


def test_each_label_gets_its_auc_and_a_constant_label_gets_nan() -> None:
    task = Task("genre", type="multilabel", columns=["drama", "rare", "never"])
    kind = get_task_type("multilabel")
    frame = pd.DataFrame(
        {"drama": [1, 0, 1, 0, 1, 0], "rare": [0, 0, 0, 0, 0, 1], "never": [0] * 6}
    )
    state = kind.fit(task, frame, "t.csv")
    target, mask = kind.encode(task, state, frame, "t.csv")
    logits = torch.tensor(
        [[2.0, -1.0, 0.0], [-1.0, 0.5, 0.0], [0.3, -2.0, 0.0]] * 2, dtype=torch.float32
    )
    scores = kind.score(task, state, logits, target, mask)
    assert kind.detail_names(task, state) == ("auc:drama", "auc:rare", "auc:never")
    p = torch.sigmoid(logits).numpy()
    assert scores["auc:drama"] == pytest.approx(roc_auc_score(frame.drama, p[:, 0]))
    assert scores["auc:rare"] == pytest.approx(roc_auc_score(frame.rare, p[:, 1]))
    assert math.isnan(scores["auc:never"])
    # the mean skips the constant label: it is the mean of the two others
    assert scores["mean_auc"] == pytest.approx(np.mean([scores["auc:drama"], scores["auc:rare"]]))


def _tiny() -> tuple[Task, dict[str, object], torch.Tensor, torch.Tensor, torch.Tensor]:
    task = Task("genre", type="multilabel", columns=["a", "b"])
    frame = pd.DataFrame({"a": [0, 1, 1, 0], "b": [1, 0, 0, 0]})
    kind = get_task_type("multilabel")
    state = kind.fit(task, frame, "t.csv")
    target, mask = kind.encode(task, state, frame, "t.csv")
    # label a: positives score 0.3 and 0.35, negatives 0.1, 0.2 -> best cut 0.25
    p = torch.tensor([[0.1, 0.9], [0.3, 0.2], [0.35, 0.1], [0.2, 0.05]])
    return task, state, torch.logit(p), target, mask


def test_tune_chooses_each_labels_best_f1_threshold_and_predict_uses_it() -> None:
    task, state, logits, target, mask = _tiny()
    kind = get_task_type("multilabel")
    tuned = kind.tune(task, state, logits, target, mask)
    assert tuned["thresholds"] == pytest.approx([0.25, 0.55])
    assert "thresholds" not in state  # the state passed in is not changed
    out = kind.predict(task, tuned, logits)
    assert out["genre_a"].tolist() == [0, 1, 1, 0]  # 0.3 and 0.35 pass 0.25; 0.5 would not
    assert out["genre_b"].tolist() == [1, 0, 0, 0]
    assert kind.score(task, tuned, logits, target, mask)["micro_f1"] == pytest.approx(1.0)
    assert kind.score(task, state, logits, target, mask)["micro_f1"] == pytest.approx(
        0.5
    )  # 1 TP, 2 FN


def test_a_fixed_threshold_is_kept_and_an_auc_only_task_is_not_tuned() -> None:
    _, state, logits, target, mask = _tiny()
    kind = get_task_type("multilabel")
    fixed = Task("genre", type="multilabel", columns=["a", "b"], threshold=0.32)
    assert kind.tune(fixed, state, logits, target, mask) is state
    assert kind.predict(fixed, state, logits)["genre_a"].tolist() == [0, 0, 1, 0]
    auc_only = Task("genre", type="multilabel", columns=["a", "b"], metrics=["mean_auc"])
    assert kind.tune(auc_only, state, logits, target, mask) is state


@pytest.mark.parametrize("bad", [0, 1, 1.5, "high"])
def test_a_threshold_outside_0_1_is_refused(bad: object) -> None:
    from manyheads.errors import InvalidParameterError

    with pytest.raises(
        InvalidParameterError,
        match=re.escape("The 'threshold' of task 'g' must be a number in (0, 1), or left out"),
    ):
        Task("g", type="multilabel", columns=["a"], threshold=bad)  # type: ignore[arg-type]


def test_a_fitted_run_saves_the_tuned_thresholds(tmp_path: Path) -> None:
    import manyheads as mh

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    frame = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2]})
    frame["a"] = (x[:, 0] > 0.8).astype(int)  # rare (about a fifth)
    frame["b"] = (x[:, 1] + x[:, 2] > 0).astype(int)
    run = mh.fit(
        frame.iloc[:200],
        tasks=[Task("g", type="multilabel", columns=["a", "b"])],
        valid=frame.iloc[200:],
        epochs=3,
        output=tmp_path / "run",
    )
    thresholds = run.preprocessor.task_states_["g"]["thresholds"]
    assert len(thresholds) == 2
    assert all(0 < t < 1 for t in thresholds)
    loaded = mh.load(tmp_path / "run")
    assert loaded.preprocessor.task_states_["g"]["thresholds"] == thresholds
    proba = loaded.predict(frame.iloc[200:])
    expected = (proba["g_a_proba"].to_numpy() >= thresholds[0]).astype(int)
    assert proba["g_a"].tolist() == expected.tolist()
