"""The multilabel loss sums the labels' BCE (issue 17): a task of many rare labels is not
scaled down beside a regression task sharing the trunk (bench/short_text.py measures why)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from manyheads.tasks import Task
from manyheads.tasks._registry import get_task_type


def _encoded(n_labels: int) -> tuple[Task, dict[str, object], torch.Tensor, torch.Tensor]:
    columns = [f"l{j}" for j in range(n_labels)]
    task = Task("genre", type="multilabel", columns=columns)
    frame = pd.DataFrame({c: [1, 0, 0, 1] for c in columns})
    kind = get_task_type("multilabel")
    state = kind.fit(task, frame, "t.csv")
    target, mask = kind.encode(task, state, frame, "t.csv")
    return task, state, target, mask


@pytest.mark.parametrize("n_labels", [1, 3, 18])
def test_an_uninformed_output_costs_ln2_per_label(n_labels: int) -> None:
    task, state, target, mask = _encoded(n_labels)
    loss = get_task_type("multilabel").loss(task, state, torch.zeros(4, n_labels), target, mask)
    assert float(loss) == pytest.approx(n_labels * math.log(2.0), rel=1e-6)


def test_the_loss_is_the_row_mean_of_the_label_sum_and_skips_unlabelled_rows() -> None:
    task, state, target, mask = _encoded(3)
    mask = torch.tensor([True, True, False, True])
    output = torch.tensor([[2.0, -1.0, 0.5], [0.0, 1.0, -3.0], [9.0, 9.0, 9.0], [1.0, 1.0, 1.0]])
    loss = get_task_type("multilabel").loss(task, state, output, target, mask)
    bce = F.binary_cross_entropy_with_logits(output, target, reduction="none").sum(dim=1)
    assert float(loss) == pytest.approx(float(bce[mask].mean()), rel=1e-6)
