"""Multilabel outputs start at their labels' train rates (issue 17).

A multilabel head's output bias starts near 0 (PyTorch's U(+-1/sqrt(fan_in))): a predicted rate
of about 0.5 for every label. On a task of many rare labels (movies: 18 genres, film-noir 1.3 %)
the head then spends its first epochs learning the rates alone, while a task beside it that
shares the trunk (the mean rating) keeps fitting its rows, and the rare labels' logits stay near
their rates (measured in ``docs/benchmarks.md``, "Issue 17: rare labels start at their rates,
and what the text bag lacks against TF-IDF"). Starting each label's bias at the log-odds of its
train rate, as one would a logistic regression's intercept, removes that phase. Only multilabel
tasks are touched: their loss is the summed BCE of many labels, so the rates are most of its
start; binary tasks (census-income's) keep PyTorch's start, bit for bit.
"""

from __future__ import annotations

import torch
from torch import Tensor

from manyheads.architectures.base import MTLModel
from manyheads.data.tensors import EncodedTable
from manyheads.tasks.task import Task

__all__ = ["RATE_FLOOR", "label_rates", "start_at_label_rates"]

#: Rates are clipped to [RATE_FLOOR, 1 - RATE_FLOOR] so that a label never (or always) seen in
#: train starts at a finite log-odds (about -6.9), from which it can still move.
RATE_FLOOR = 1e-3


def label_rates(target: Tensor, mask: Tensor) -> Tensor:
    """Each label's positive rate over the labelled rows: ``[L]`` from ``target`` ``[N, L]``
    and ``mask`` ``[N]`` (or ``[N, L]``), clipped to :data:`RATE_FLOOR`.

    Example:
        >>> y = torch.tensor([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
        >>> label_rates(y, torch.tensor([True, True, False])).tolist()
        [0.5, 0.0010000000474974513]
    """
    weight = mask.to(target.dtype)
    if weight.dim() == 1:
        weight = weight.unsqueeze(1).expand_as(target)  # [N, L]
    rates = (target * weight).sum(0) / weight.sum(0).clamp(min=1.0)
    return rates.clamp(RATE_FLOOR, 1.0 - RATE_FLOOR)


def start_at_label_rates(model: MTLModel, tasks: list[Task], train: EncodedTable) -> None:
    """Set each multilabel task's output bias to the log-odds of its labels' TRAIN rates.

    Draws no random number, so every other parameter starts as before at the same seed. A
    model without :class:`~manyheads.architectures.base.TaskTowers` heads, a task without
    labelled train rows, or a streamed train (its labels are not in memory) is left as it is.

    Args:
        model: the freshly built model (its ``towers.outputs[task]`` hold the output layers).
        tasks: the run's tasks.
        train: the encoded TRAIN split (``y[task]`` ``[N, L]`` in {0, 1}, ``mask[task]``).
    """
    outputs = getattr(getattr(model, "towers", None), "outputs", None)
    targets, masks = getattr(train, "y", None), getattr(train, "mask", None)
    if outputs is None or not isinstance(targets, dict) or not isinstance(masks, dict):
        return  # a streamed train (no labels in memory) keeps PyTorch's start
    for task in tasks:
        if task.type != "multilabel" or task.name not in outputs or task.name not in targets:
            continue
        mask = masks[task.name]
        bias = getattr(outputs[task.name], "bias", None)
        if not isinstance(bias, Tensor) or not bool(mask.any()):
            continue
        rates = label_rates(targets[task.name].float(), mask)
        with torch.no_grad():
            bias.copy_(torch.logit(rates).to(bias.dtype))  # [L], broadcast over ensemble members
