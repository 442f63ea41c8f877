"""``manyheads train CONFIG --nproc N``: the same run under ``torchrun`` on this machine.

It is ``torchrun --standalone --nproc_per_node N -m manyheads train CONFIG ...`` (a rendezvous
on a free local port), with this Python. The config and the output folder are checked here
first, so that bad input ends with exit code 2 before any worker starts; a worker that fails
makes torchrun stop the others, and this says so in one line.
"""

from __future__ import annotations

import subprocess
import sys
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
    """Run the training on ``nproc`` processes and return its exit code (1 when one failed)."""
    try:
        code = subprocess.run(torchrun_command(nproc, arguments), check=False).returncode
    except KeyboardInterrupt:
        return 130
    if code != 0:
        print(
            f"manyheads train: error: the data-parallel run on {nproc} processes failed "
            f"(torchrun exit code {code}): a rank exited with an error or was killed, and "
            "torchrun stopped the others; its messages are above. The run directory keeps "
            "the last completed epoch: continue with --resume.",
            file=sys.stderr,
        )
        return 1
    return 0
