"""Data-parallel training: PyTorch distributed process groups under ``torchrun``.

Each rank trains on its slice of every global batch and every balancing method computes what
one process computes for the global batch (what each sends: :mod:`._backward`). The process
group and its timeouts are :mod:`._ddp`; ``manyheads train --nproc N`` is :mod:`._launch`.
Documented in ``docs/scale.md``.
"""

from manyheads.distributed._comm import LOCAL, Comm
from manyheads.distributed._losses import GlobalLosses, global_losses

__all__ = ["LOCAL", "Comm", "GlobalLosses", "global_losses"]
