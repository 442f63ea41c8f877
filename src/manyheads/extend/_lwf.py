"""Learning without Forgetting (Li & Hoiem, "Learning without Forgetting", ECCV 2016 / TPAMI
2018): the old tasks' outputs of the ORIGINAL model on the new data are recorded once, and a
distillation loss keeps the trained model's old outputs close to them while the new task learns.

The loss is ``L_new + lambda_o * sum_old L_old`` (their eq. 1's objective with lambda_o = 1).
``L_old`` is the knowledge-distillation loss at temperature ``T`` (their eq. 2, T = 2):
``T^2 * KL(softmax(z_teacher / T) || softmax(z / T))`` over the classes of a class task (each
label of a binary or multilabel task a two-class softmax over ``[0, z]``); the mean squared
difference for a value task (regression, box), which has no temperature.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from manyheads.architectures.base import MTLModel
from manyheads.data.tensors import EncodedTable
from manyheads.engine.loop import predict_outputs
from manyheads.tasks._fitted import FittedTask

__all__ = ["SIGMOID_TYPES", "SOFTMAX_TYPES", "distill_loss", "distillation", "teacher_outputs"]

#: Task types whose output is one logit per label (two-class softmax over ``[0, z]``).
SIGMOID_TYPES = ("binary", "multilabel")
#: Task types whose output is logits over classes on the last axis.
SOFTMAX_TYPES = ("multiclass", "tagging")


def teacher_outputs(model: MTLModel, table: EncodedTable) -> dict[str, Tensor]:
    """The original model's outputs on every row of ``table``: recorded once, before training."""
    device = next(model.parameters()).device
    return predict_outputs(model, table, batch_size=8192, device=device)


def distill_loss(task_type: str, student: Tensor, teacher: Tensor, temperature: float) -> Tensor:
    """The distillation loss of one old task (see the module docstring).

    Example:
        >>> z = torch.tensor([[2.0, -1.0, 0.5]])
        >>> float(distill_loss("multiclass", z, z, 2.0))
        0.0
        >>> float(distill_loss("regression", torch.tensor([1.0]), torch.tensor([3.0]), 2.0))
        4.0
    """
    if task_type in SIGMOID_TYPES:  # one logit z per label: the two classes have logits 0, z
        student = torch.stack([torch.zeros_like(student), student], dim=-1)
        teacher = torch.stack([torch.zeros_like(teacher), teacher], dim=-1)
    elif task_type not in SOFTMAX_TYPES:
        return F.mse_loss(student, teacher)
    t = temperature
    log_p = F.log_softmax(student.flatten(0, -2) / t, dim=-1)
    log_q = F.log_softmax(teacher.flatten(0, -2) / t, dim=-1)
    return F.kl_div(log_p, log_q, log_target=True, reduction="batchmean") * t * t


def distillation(
    outputs: dict[str, Tensor],
    teacher: dict[str, Tensor],
    tasks: Sequence[FittedTask],
    temperature: float,
) -> Tensor:
    """The sum over the old ``tasks`` of :func:`distill_loss` on one batch."""
    losses = [
        distill_loss(t.task.type, outputs[t.name], teacher[t.name], temperature) for t in tasks
    ]
    return torch.stack(losses).sum()
