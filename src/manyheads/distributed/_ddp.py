"""The process group of a data-parallel run: joined from torchrun's environment, with timeouts.

``torchrun`` (or ``manyheads train --nproc N``, :mod:`._launch`) sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous address of every process. The backend is
NCCL when the run trains on CUDA (each rank on GPU ``LOCAL_RANK``) and gloo on the CPU. Every
collective waits at most ``MANYHEADS_DDP_TIMEOUT`` seconds (default 300): a rank that dies or
hangs makes the others fail with a message instead of waiting forever (torchrun also stops the
other workers as soon as one exits with an error).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from manyheads.distributed._comm import LOCAL, Comm, DistributedError
from manyheads.errors import InvalidParameterError

__all__ = [
    "DistributedError",  # re-exported from _comm
    "agree_before_writing",
    "barrier",
    "current_comm",
    "is_writer",
    "launched_world_size",
    "process_group",
    "same_on_every_rank",
]

#: Seconds a collective waits for the other ranks, unless ``MANYHEADS_DDP_TIMEOUT`` says.
DEFAULT_TIMEOUT = 300.0


def launched_world_size() -> int:
    """``WORLD_SIZE`` of the environment torchrun gives its workers (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def _timeout() -> timedelta:
    raw = os.environ.get("MANYHEADS_DDP_TIMEOUT", str(DEFAULT_TIMEOUT))
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise InvalidParameterError(
            "The environment variable MANYHEADS_DDP_TIMEOUT must be a number of seconds > 0. "
            f"Got {raw!r} instead. Unset it (default {DEFAULT_TIMEOUT:g}) or set e.g. 600."
        )
    return timedelta(seconds=seconds)


@contextmanager
def process_group(device: str) -> Iterator[Comm]:
    """Join the process group of torchrun's environment for the length of the block.

    ``device`` is the run's ``train.device``: a CUDA device selects NCCL and pins this rank to
    GPU ``LOCAL_RANK``. Outside torchrun (``WORLD_SIZE`` unset or 1) nothing is joined and the
    block gets :data:`~manyheads.distributed.LOCAL`. A collective that times out or loses a
    peer inside the block becomes a :class:`DistributedError` (no traceback on the CLI).
    """
    if launched_world_size() <= 1:
        yield LOCAL
        return
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if cuda else "gloo", timeout=_timeout())
    comm = current_comm()
    try:
        yield comm  # a collective that loses a peer raises DistributedError (Comm)
        # Leave together: a rank that tears its group down while a peer still works (rank 0
        # writing the run) can abort in gloo's threads at exit ("terminate called without an
        # active exception"). On an error path a peer may be gone, so no barrier there.
        barrier()
    finally:
        dist.destroy_process_group()


def current_comm() -> Comm:
    """The :class:`Comm` of the joined process group, or :data:`LOCAL` without one."""
    if not (dist.is_available() and dist.is_initialized()):
        return LOCAL
    device = torch.device("cpu")
    if dist.get_backend() == "nccl":
        device = torch.device("cuda", torch.cuda.current_device())
    return Comm(rank=dist.get_rank(), world_size=dist.get_world_size(), device=device)


def is_writer() -> bool:
    """Whether this process writes the run: rank 0, or the only process."""
    return current_comm().rank == 0


def barrier() -> None:
    """Wait for every rank (nothing without a process group)."""
    comm = current_comm()
    if comm.active:
        comm.sum_(torch.zeros(1))


def same_on_every_rank(text: str) -> bool:
    """Whether every rank holds the same ``text`` (every rank's digest, gathered by a sum)."""
    comm = current_comm()
    if not comm.active:
        return True
    digest = int.from_bytes(hashlib.sha256(text.encode()).digest()[:6], "big")
    values = torch.zeros(comm.world_size, dtype=torch.float64)
    values[comm.rank] = float(digest)  # exact: 48 bits fit a float64's mantissa
    return bool((comm.sum_(values) == float(digest)).all())


def agree_before_writing(fingerprint: Callable[[], dict[str, Any]]) -> None:
    """Check that every rank fitted the same preprocessing and encoded the same rows (the run's
    fingerprint), then wait for all: rank 0 writes into the run directory only once every rank
    has checked it and read its checkpoint. Nothing without a process group.

    Raises:
        DistributedError: the ranks' fingerprints differ (different data or config files on
            different machines).
    """
    if not current_comm().active:
        return
    text = json.dumps(fingerprint(), sort_keys=True, default=str)
    if not same_on_every_rank(text):
        raise DistributedError(
            "the ranks of this data-parallel run read different data or fitted different "
            "preprocessing (their run fingerprints differ). Give every machine the same "
            "config and data files."
        )
    barrier()
