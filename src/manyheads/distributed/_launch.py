"""``manyheads train CONFIG --nproc N``: the same run under torchrun's agent on this machine.

It runs what ``torchrun --standalone --nproc_per_node N -m manyheads train CONFIG ...`` runs (a
rendezvous on a free local port; :func:`torchrun_command` is that command), with this Python,
in this process. The config and the output folder are checked here first, so that bad input
ends with exit code 2 before any worker starts; a worker that fails makes the agent stop the
others, and this says which rank failed in one line (exit code 1), or exits with 2 when the
ranks stopped on bad input (their message is printed by rank 0 and the others).
"""

from __future__ import annotations

import signal
import sys
import uuid
from collections.abc import Sequence

from manyheads._validation import option_message
from manyheads.errors import InvalidParameterError

__all__ = ["check_nproc", "launch", "torchrun_command"]


def check_nproc(nproc: int) -> None:
    """Refuse a process count below 1 or a nested launch.

    Raises:
        InvalidParameterError: naming ``--nproc``, what it must be and the fix.
    """
    if nproc < 1:
        raise InvalidParameterError(
            option_message("manyheads train", "--nproc", "an int >= 1", nproc, "Pass e.g. 2.")
        )
    from manyheads.distributed._ddp import launched_world_size

    if launched_world_size() > 1 and nproc > 1:
        raise InvalidParameterError(
            "--nproc starts torchrun, and this process already runs under torchrun "
            "(WORLD_SIZE is set). Remove --nproc, or run manyheads without torchrun."
        )


def torchrun_command(nproc: int, arguments: Sequence[str]) -> list[str]:
    """The command that runs ``manyheads train ARGUMENTS`` on ``nproc`` local processes.

    Example:
        >>> " ".join(torchrun_command(2, ["cfg.yaml", "--resume"])[3:])
        '--standalone --nproc_per_node 2 -m manyheads train cfg.yaml --resume'
    """
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        str(nproc),
        "-m",
        "manyheads",
        "train",
        *arguments,
    ]


def launch(nproc: int, arguments: Sequence[str]) -> int:
    """Run the training on ``nproc`` local processes under torch's elastic agent (what
    ``torchrun --standalone`` runs) and return the exit code: 0, 2 when every failed rank
    stopped on bad input (its message is above), else 1 with one line naming the failed ranks."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        run_id=str(uuid.uuid4()),
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",  # a free port, as torchrun --standalone
        max_restarts=0,
        monitor_interval=0.1,
    )
    try:
        elastic_launch(config, sys.executable)("-u", "-m", "manyheads", "train", *arguments)
    except ChildFailedError as exc:
        codes = {rank: failure.exitcode for rank, failure in exc.failures.items()}
        if 2 in codes.values() and set(codes.values()) <= {2, -signal.SIGTERM}:
            return 2  # bad input, said by the ranks that found it; the agent stopped the others
        print(
            f"manyheads train: error: the data-parallel run on {nproc} processes failed: "
            f"{_failures(codes)}, and the other ranks were stopped; the ranks' messages are "
            "above. A run directory keeps its last completed epoch: continue with --resume.",
            file=sys.stderr,
        )
        return 1
    return 0


def _failures(codes: dict[int, int]) -> str:
    """``rank 1 was killed by SIGKILL`` / ``rank 0 exited with code 1``, joined.

    Example:
        >>> _failures({1: -9, 0: 1})
        'rank 0 exited with code 1; rank 1 was killed by SIGKILL'
    """
    parts = []
    for rank, code in sorted(codes.items()):
        if code < 0:
            parts.append(f"rank {rank} was killed by {signal.Signals(-code).name}")
        else:
            parts.append(f"rank {rank} exited with code {code}")
    return "; ".join(parts)
