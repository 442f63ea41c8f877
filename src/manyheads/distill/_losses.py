"""The per-task loss of a distilled student: BAM!'s annealed mix of gold label and teacher.

Clark et al. (ACL 2019), teacher annealing: the target is ``λ·y + (1 − λ)·f_teacher(x)`` and
λ rises from 0 to 1 over training (:mod:`manyheads.distill._annealing`). Each task type mixes in
its own space:

* class types (binary, multiclass, multilabel, tagging per token): the cross-entropy against the
  mixed distribution, which is linear in the target, so it is computed as
  ``λ·L_gold + (1 − λ)·T²·S``: ``L_gold`` is the task's own loss (its class weights, label
  smoothing or CRF included) and ``S`` the cross-entropy of ``softmax(student/T)`` against the
  teacher's ``softmax(teacher/T)`` (binary and multilabel: sigmoid, per label), scaled by ``T²``
  as Hinton et al. (2015, §2) do so that the soft part's gradients keep their size when ``T``
  changes. With ``T = 1`` and no class weights this is exactly BAM!'s loss.
* tagging: ``S`` per token, over the word slots both models have (padding left out), between the
  two heads' per-token tag distributions: the softmax of the emissions, or for a CRF head (the
  teacher's, the student's or both) its exact marginals ``p(y_t | x)`` by forward-backward
  (:mod:`manyheads.distill._marginals`; posterior distillation, Wang et al., ACL 2020), tempered
  as ``softmax(log p / T)``. A CRF student's ``L_gold`` is its sentence negative log-likelihood
  per labelled token (the task's own loss), so its transitions learn from the gold paths and,
  through the marginals, from the teacher.
* value types (regression, box per coordinate): the target itself is mixed,
  ``λ·gold + (1 − λ)·teacher``, and the task's own loss (mse/huber, smooth-L1/GIoU) is taken
  against it; no temperature.

A row (a token, for tagging) without a gold label learns from the teacher alone: over the rows
the teacher covers, the loss is the mean of the per-row mixes above, with ``λ`` only on labelled
rows.

The teacher's outputs travel with the training rows as the task's target: :func:`pack` joins the
gold target, its mask and the teacher's output along the last axis, and :class:`DistilledTask`
(a :class:`~manyheads.tasks.FittedTask` whose ``loss`` is the above) takes them apart again.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from manyheads.distill._annealing import Annealing
from manyheads.distill._marginals import token_logits
from manyheads.tasks._base import masked_mean
from manyheads.tasks._fitted import FittedTask
from manyheads.tasks._tagging import split_output

__all__ = ["VALUE_TYPES", "DistilledTask", "bam_loss", "fit_width", "pack", "soft_loss"]

#: Task types whose target is mixed with the teacher's value (no soft distribution).
VALUE_TYPES = ("regression", "box")


def fit_width(values: Tensor, width: int) -> Tensor:
    """``values`` ``[N, W', ...]`` cut or zero-padded (unlabelled slots) to ``width`` slots.

    Example:
        >>> fit_width(torch.ones(1, 2, 3), 4).shape, fit_width(torch.ones(1, 5), 3).shape
        (torch.Size([1, 4, 3]), torch.Size([1, 3]))
    """
    if values.shape[1] >= width:
        return values[:, :width]
    pad = (0, 0) * (values.dim() - 2) + (0, width - values.shape[1])
    return F.pad(values, pad)


def pack(gold: Tensor, mask: Tensor, teacher: Tensor, *, level: str) -> Tensor:
    """One float tensor ``[..., G + 1 + C]`` of the gold target, its mask and the teacher's output,
    where ``...`` is ``[N]`` for a row-level task and ``[N, W]`` for a tagging task.

    Example:
        >>> pack(torch.tensor([1, 0]), torch.tensor([True, False]), torch.zeros(2, 3),
        ...      level="row").tolist()
        [[1.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]]
    """
    lead = 1 if level == "row" else 2
    shape = gold.shape[:lead]
    return torch.cat(
        [
            gold.reshape(*shape, -1).float(),
            mask.reshape(*shape, 1).float(),
            teacher.reshape(*shape, -1).float(),
        ],
        dim=-1,
    )


def soft_loss(task_type: str, output: Tensor, teacher: Tensor, temperature: float) -> Tensor:
    """Cross-entropy of the student's tempered distribution against the teacher's, times ``T²``,
    per row ``[N]`` (per token ``[N, W]`` for tagging).

    Example:
        >>> s = soft_loss("multiclass", torch.zeros(1, 2), torch.zeros(1, 2), 1.0)
        >>> round(float(s), 4)  # log 2: both uniform
        0.6931
    """
    t = temperature
    if task_type in ("binary", "multilabel"):
        target = torch.sigmoid(teacher / t)
        per = F.binary_cross_entropy_with_logits(output / t, target, reduction="none")
        per = per.sum(dim=1) if task_type == "multilabel" else per  # as its gold loss
    else:  # multiclass, tagging: over the last axis
        target = torch.softmax(teacher / t, dim=-1)
        per = -(target * torch.log_softmax(output / t, dim=-1)).sum(dim=-1)
    return per * (t * t)


def bam_loss(gold_loss: Tensor, soft: Tensor, known: Tensor, covered: Tensor, lam: float) -> Tensor:
    """The mean over the ``covered`` rows of ``λ·gold + (1 − λ)·soft`` on the rows with a gold
    label (``known``) and ``soft`` on the others; ``gold_loss`` is the mean over ``known``.

    Example:
        >>> soft, known = torch.tensor([1.0, 3.0]), torch.tensor([True, False])
        >>> float(bam_loss(torch.tensor(5.0), soft, known, torch.ones(2, dtype=bool), 0.5))
        3.0
    """
    share = known.sum() / covered.sum().clamp(min=1)
    labelled = lam * gold_loss + (1.0 - lam) * masked_mean(soft, known)
    return share * labelled + (1.0 - share) * masked_mean(soft, covered & ~known)


@dataclass(frozen=True)
class DistilledTask(FittedTask):
    """A fitted task trained on :func:`pack`-ed targets: BAM!'s loss (module docstring).

    Args:
        gold_width: G, the width of the gold target per row (or token).
        gold_dtype: the gold target's dtype (class ids are int64).
        temperature: T of the soft distributions (class types).
        annealing: gives λ, the weight of the gold label at the current step.
    """

    gold_width: int
    gold_dtype: torch.dtype
    temperature: float
    annealing: Annealing

    def unpack(self, target: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The gold target, its mask and the teacher's output of a packed ``target``."""
        g = self.gold_width
        gold = target[..., :g].to(self.gold_dtype)
        teacher = target[..., g + 1 :]
        if g == 1 and self.task.type != "multilabel":
            gold = gold.squeeze(-1)
        if teacher.shape[-1] == 1 and self.task.type in ("binary", "regression"):
            teacher = teacher.squeeze(-1)
        return gold, target[..., g] > 0.5, teacher

    def loss(self, output: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        """BAM!'s loss of ``output`` against the packed ``target`` over the rows in ``mask``
        (those the teacher covers)."""
        lam = self.annealing.lam
        if self.task_type.level == "token":
            return self._token_loss(output, target, mask, lam)
        gold, labelled, teacher = self.unpack(target)
        if self.task.type in VALUE_TYPES:
            where = labelled.reshape(*labelled.shape, *([1] * (gold.dim() - 1)))
            mixed = torch.where(where, lam * gold + (1.0 - lam) * teacher, teacher)
            return super().loss(output, mixed, mask)
        known = labelled & mask
        if gold.dim() == 1:  # binary, multiclass: a class unseen in training has no gold loss
            known = known & (gold >= 0)
        soft = soft_loss(self.task.type, output.float(), teacher, self.temperature)
        return bam_loss(super().loss(output, gold, known), soft, known, mask, lam)

    def _token_loss(self, output: Tensor, target: Tensor, mask: Tensor, lam: float) -> Tensor:
        """:meth:`loss` of a tagging task, per token over the word slots of the output."""
        width = split_output(output, crf=self.task.crf)[0].shape[1]
        gold, labelled, teacher = self.unpack(fit_width(target, width))
        covered = fit_width(mask, width)
        known = labelled & covered & (gold >= 0)
        student = token_logits(output, crf=self.task.crf, mask=covered)
        soft = soft_loss("tagging", student.float(), teacher, self.temperature)
        # the task's own gold loss over the labelled tokens: it leaves out unseen tags (-1)
        # itself, and with a CRF their whole sentence (a CRF scores whole tag paths)
        gold_loss = super().loss(output, gold, labelled & covered)
        return bam_loss(gold_loss, soft, known, covered, lam)
