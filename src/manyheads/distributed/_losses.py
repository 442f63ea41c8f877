"""The per-task losses of the global batch, from each rank's losses over its own rows.

A task's loss is the mean over the labelled rows of the batch. With ``R`` ranks the global
batch's loss is ``L_t = Σ_r n_rt ℓ_rt / N_t`` (``ℓ_rt`` the rank's mean over its ``n_rt``
labelled elements, ``N_t = Σ_r n_rt``), one all-reduce of ``3T + 1`` numbers. Each rank's part
of it is ``s_rt = (n_rt / N_t) ℓ_rt``: its gradient is the rank's share of the global gradient,
so summing the ranks' gradients of ``s_r`` gives the gradient of ``L`` exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from manyheads.data.tensors import Batch
from manyheads.distributed._comm import Comm
from manyheads.tasks._fitted import FittedTask

__all__ = ["GlobalLosses", "global_losses"]


class GlobalLosses(NamedTuple):
    """The global batch's losses and label counts, seen from one rank.

    Attributes:
        losses: ``[T]`` whose values are the global losses ``L`` and whose gradient is this
            rank's part ``s_r`` (``s_r + (L - s_r).detach()``): a weighting reads ``L``, and the
            ranks' gradients add up to the gradient of ``L``.
        shares: ``[T]`` the share of the global batch's rows that carry each task's label.
        labelled: ``[T]`` 1.0 where some row of the global batch carries the task's label.
    """

    losses: Tensor
    shares: Tensor
    labelled: Tensor


def global_losses(
    comm: Comm, losses: Tensor, batch: Batch, tasks: Sequence[FittedTask]
) -> GlobalLosses:
    """This rank's view of the global batch's losses (one all-reduce; see the module)."""
    masks = [batch.mask[t.name] & (not comm.idle) for t in tasks]  # a stand-in row: no label
    counts = torch.stack([m.sum() for m in masks]).to("cpu", torch.float64)  # [T] elements
    rows = torch.stack([m.reshape(m.shape[0], -1).any(1).sum() for m in masks]).to(counts)
    n_rows = torch.tensor([0.0 if comm.idle or not masks else float(masks[0].shape[0])])
    n_rows = n_rows.to(torch.float64)
    local = losses.detach().to("cpu", torch.float64)
    stats = comm.sum_(torch.cat([counts, counts * local, rows, n_rows]))
    n_tasks = len(tasks)
    total, summed = stats[:n_tasks], stats[n_tasks : 2 * n_tasks]
    global_rows, global_n = stats[2 * n_tasks : 3 * n_tasks], stats[-1]
    divisor = total.clamp(min=1.0)
    part = losses * (counts / divisor).to(losses)  # s_r: this rank's share of L
    value = (summed / divisor).to(losses)
    view = part + (value - part).detach()
    shares = (global_rows / global_n.clamp(min=1.0)).to(torch.float32)
    return GlobalLosses(view, shares.to(losses.device), (total > 0).to(torch.float64))
