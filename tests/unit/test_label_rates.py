"""Multilabel outputs start at their labels' train rates (workflow/_label_rates.py, issue 17)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import torch

from manyheads.architectures import create_model
from manyheads.config.load import build_config
from manyheads.data.preprocess import InputSpec
from manyheads.data.tensors import EncodedTable
from manyheads.tasks.task import Task
from manyheads.workflow._fit import train_config
from manyheads.workflow._label_rates import RATE_FLOOR, label_rates, start_at_label_rates

TASKS = [Task("tags", type="multilabel", columns=["a", "b", "c"]), Task("y", type="binary")]


def _train() -> EncodedTable:
    tags = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    y = {"tags": tags, "y": torch.tensor([1.0, 0.0, 1.0, 1.0])}
    mask = {"tags": torch.tensor([True, True, True, False]), "y": torch.ones(4, dtype=torch.bool)}
    return EncodedTable(x={"num": torch.zeros(4, 2)}, y=y, mask=mask, n_rows=4)


@pytest.mark.parametrize("architecture", ["hps", "mmoe", "stl"])
def test_multilabel_bias_is_the_log_odds_of_the_masked_train_rates(architecture: str) -> None:
    torch.manual_seed(0)
    model = create_model(architecture, InputSpec(2, (), ()), {"tags": 3, "y": 1})
    before = {k: v.clone() for k, v in model.state_dict().items()}
    start_at_label_rates(model, TASKS, _train())
    # rows 0-2 label the task: rates 2/3, 1/3 and 0 (clipped to the floor); row 3 is masked out
    expected = torch.logit(torch.tensor([2 / 3, 1 / 3, RATE_FLOOR]))
    bias = model.towers.outputs["tags"].bias
    torch.testing.assert_close(bias.detach(), expected, rtol=0, atol=1e-6)
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed == ["towers.outputs.tags.bias"]  # the binary head and the rest: as built


def test_rates_use_a_per_label_mask_and_stay_finite() -> None:
    y = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    mask = torch.tensor([[True, False], [True, True]])
    rates = label_rates(y, mask)
    assert rates.tolist() == pytest.approx([0.5, 1.0 - RATE_FLOOR])
    assert math.isfinite(float(torch.logit(rates).abs().max()))


def test_a_trained_run_starts_its_rare_labels_at_their_rates(
    tmp_path: Path,
) -> None:
    """1 epoch of 1 step at a tiny learning rate: the rare label's bias is still near its
    log-odds (PyTorch's start would leave it near 0)."""
    rows = 40
    frame = pd.DataFrame(
        {
            "x": [float(i % 7) for i in range(rows)],
            "rare": [int(i == 0) for i in range(rows)],
            "common": [int(i % 2 == 0) for i in range(rows)],
            "split": ["train"] * 30 + ["valid"] * 10,
        }
    )
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    config = build_config(
        {
            "data": {"train": str(path), "split_column": "split"},
            "inputs": {"x": "numeric"},
            "tasks": {"tags": {"type": "multilabel", "columns": ["rare", "common"]}},
            "train": {"epochs": 1, "lr": 1e-6, "batch_size": 64},
            "output": str(tmp_path / "run"),
        }
    )
    run = train_config(config)
    bias = run.model.towers.outputs["tags"].bias.detach()
    torch.testing.assert_close(
        bias, torch.logit(torch.tensor([1 / 30, 15 / 30])), atol=1e-3, rtol=0
    )
