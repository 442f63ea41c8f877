"""Multilabel reports one AUC per label beside its metrics (issue 17: rare labels)."""

from __future__ import annotations

import math

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
