"""Distillation: single-task teachers into one multi-task student (BAM! teacher annealing).

:func:`distill` is the API (``manyheads distill`` its CLI); the method is described in
:mod:`manyheads.distill._losses` (the loss) and :mod:`manyheads.distill._annealing` (λ).
"""

from manyheads.distill._annealing import Annealing, linear_lambda
from manyheads.distill._distill import DISTILL_FILE, Distiller, distill
from manyheads.distill._losses import DistilledTask, bam_loss, soft_loss

__all__ = [
    "DISTILL_FILE",
    "Annealing",
    "DistilledTask",
    "Distiller",
    "bam_loss",
    "distill",
    "linear_lambda",
    "soft_loss",
]
