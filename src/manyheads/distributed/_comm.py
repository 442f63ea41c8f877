"""The collectives of data-parallel training, and their no-op in one process.

Every rank calls the same collectives in the same order (the balancing method decides which,
identically on every rank), so a rank that stops answering makes the others fail at the
process group's timeout instead of hanging (:mod:`manyheads.distributed._ddp`). What each
balancing method sends is listed in ``docs/scale.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import Tensor, nn

from manyheads.errors import ManyheadsError

__all__ = ["LOCAL", "Comm", "DistributedError"]


class DistributedError(ManyheadsError):
    """A rank of a data-parallel run stopped answering, or the ranks disagree."""


@dataclass(eq=False)  # compared by identity: a default of LoopState
class Comm:
    """This process's place among ``world_size`` ranks, and the collectives it calls.

    One process (``world_size == 1``, :data:`LOCAL`) never communicates: the engine then takes
    its single-process paths unchanged. ``seconds`` and ``n_bytes`` add up the time spent in
    collectives and the bytes this rank sent (``bench/ddp.py`` reads them).

    Example:
        >>> comm = Comm(rank=1, world_size=2)
        >>> comm.shard(torch.arange(5)).tolist()  # rank 1's contiguous slice of a global batch
        [3, 4]
    """

    rank: int = 0
    world_size: int = 1
    seconds: float = 0.0
    n_bytes: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))  # NCCL: CUDA
    #: this step's rows are a stand-in that weighs nothing (see :meth:`rows`)
    idle: bool = False

    @property
    def active(self) -> bool:
        """Whether there are other ranks to talk to."""
        return self.world_size > 1

    def shard(self, rows: Tensor) -> Tensor:
        """This rank's contiguous slice of a global batch's rows (sizes differ by at most one),
        so that the ranks' rows in rank order are the global batch in its order."""
        return torch.tensor_split(rows, self.world_size)[self.rank]

    def rows(self, batch: Tensor) -> Tensor:
        """This rank's rows of a global batch (:meth:`shard`). A rank left without rows (a last
        batch of fewer rows than ranks) takes the batch's first row as a stand-in and is
        ``idle`` for the step: its losses count no labelled rows, so it adds nothing.

        Example:
            >>> comm = Comm(rank=1, world_size=2)
            >>> comm.rows(torch.tensor([7])).tolist(), comm.idle
            ([7], True)
        """
        rows = self.shard(batch)
        self.idle = self.active and rows.numel() == 0 and batch.numel() > 0
        return batch[:1] if self.idle else rows

    def sum_(self, tensor: Tensor) -> Tensor:
        """Sum ``tensor`` over the ranks, in place; return it."""
        if self.active:
            began = time.perf_counter()
            moved = tensor.to(self.device)
            self._wait(dist.all_reduce, moved)
            if moved is not tensor:
                tensor.copy_(moved)
            self.seconds += time.perf_counter() - began
            self.n_bytes += tensor.numel() * tensor.element_size()
        return tensor

    def gather_rows(self, tensor: Tensor) -> list[Tensor]:
        """Every rank's ``tensor`` (same shape but the first dimension), in rank order."""
        if not self.active:
            return [tensor]
        began = time.perf_counter()
        sizes = torch.zeros(self.world_size, dtype=torch.int64, device=self.device)
        sizes[self.rank] = tensor.shape[0]
        self._wait(dist.all_reduce, sizes)
        longest = int(sizes.max())
        padded = tensor.new_zeros((longest, *tensor.shape[1:]), device=self.device)
        padded[: tensor.shape[0]] = tensor
        parts = [torch.empty_like(padded) for _ in range(self.world_size)]
        self._wait(dist.all_gather, parts, padded)
        self.seconds += time.perf_counter() - began
        self.n_bytes += padded.numel() * padded.element_size()
        return [p[: int(n)].to(tensor.device) for p, n in zip(parts, sizes.tolist(), strict=True)]

    def _wait(self, collective: Callable[..., object], *args: object) -> None:
        """Run ``collective``; a lost or silent peer becomes a :class:`DistributedError`."""
        try:
            collective(*args)
        except (RuntimeError, dist.DistError) as exc:  # gloo: "Connection reset by peer", ...
            line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise DistributedError(
                f"rank {self.rank} of {self.world_size} lost the other ranks ({line}). A rank "
                "died or stopped answering; see its messages. A run directory keeps its last "
                "completed epoch: continue with --resume."
            ) from None

    def sum_grads(self, params: list[nn.Parameter]) -> None:
        """Sum the ``.grad`` of ``params`` over the ranks in one collective.

        A parameter keeps ``None`` only when no rank gave it a gradient (as one process with the
        global batch would leave it: the optimiser then skips it)."""
        if not self.active or not params:
            return
        like = params[0]
        flat = [
            p.grad.reshape(-1) if p.grad is not None else like.new_zeros(p.numel()) for p in params
        ]
        present = torch.tensor([float(p.grad is not None) for p in params]).to(like)
        buffer = self.sum_(torch.cat([*flat, present]))
        offset = 0
        for p, seen in zip(params, buffer[-len(params) :].tolist(), strict=True):
            n = p.numel()
            p.grad = buffer[offset : offset + n].view_as(p).clone() if seen else None
            offset += n


#: The communicator of a single process: every collective is a no-op.
LOCAL = Comm()
