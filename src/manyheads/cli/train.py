"""``manyheads train CONFIG [key=value ...]``: train one model into a run directory."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from manyheads.cli._args import add_config, add_flag
from manyheads.cli._common import say

__all__ = ["DESCRIPTION", "HELP", "add_arguments", "run"]


#: What ``manyheads --help`` says of the verb.
HELP = "train one multi-task model from a config"
#: What ``manyheads train --help`` says before the arguments.
DESCRIPTION = (
    "Train one model. Writes .manyheads-run (first), config.yaml, "
    "model.safetensors, model.json, metrics.json, history.csv and TensorBoard events "
    "into the config's 'output'."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads train``, in the order ``--help`` lists them."""
    add_config(p)
    add_flag(p, "--resume", "continue an interrupted run from its last completed epoch")
    add_flag(
        p,
        "--overwrite",
        "replace the run in 'output': removes only the files a run writes, and only in a "
        "folder marked .manyheads-run (never '.', a folder holding your config or data, or "
        "a folder manyheads did not write)",
    )
    add_flag(
        p,
        "--keep-checkpoint",
        "keep the last checkpoint (with the optimiser state) when the run finishes; "
        "by default it is deleted",
    )
    add_flag(p, "--quiet", "no progress output")
    p.add_argument(
        "--nproc",
        type=int,
        default=1,
        metavar="N",
        help="data-parallel training on N processes of this machine (torchrun, gloo on the "
        "CPU, NCCL on GPUs): each trains on train.batch_size rows of every global batch of "
        "N x batch_size, and the update equals one process's with that global batch "
        "(docs/scale.md)",
    )


def run(args: argparse.Namespace) -> int:
    """Train and print the run's test (or validation) metrics as JSON."""
    from manyheads._files import check_output_dir, data_paths
    from manyheads.config.load import load_config
    from manyheads.distributed._ddp import process_group
    from manyheads.distributed._launch import check_nproc, launch
    from manyheads.workflow._fit import train_config

    check_nproc(args.nproc)
    config = load_config(args.config, args.overrides)
    if config.output is None:  # `output:` or `output=`: the run would be trained and thrown away
        check_output_dir("")
    # the config, and its data files also as read relative to the config's folder
    protect = [args.config, *(Path(args.config).parent / p for p in data_paths(config))]
    if args.nproc > 1:  # the output folder checked here, before any worker starts
        from manyheads.workflow._output import check_run_output

        check_run_output(config, resume=args.resume, overwrite=args.overwrite, protect=protect)
        return launch(args.nproc, _worker_arguments(args))
    with process_group(config.train.device) as comm:  # one process outside torchrun
        quiet = args.quiet or comm.rank != 0
        result = train_config(
            config,
            quiet=quiet,
            resume=args.resume,
            overwrite=args.overwrite,
            log=None if quiet else say,
            protect=protect,
            keep_checkpoint=args.keep_checkpoint,
        )
    if comm.rank != 0:  # rank 0 reports
        return 0
    from manyheads.workflow._fit import json_safe

    summary = {"output": config.output, **(result.metrics or {})}
    print(json.dumps(json_safe(summary), indent=2, allow_nan=False))
    return 0


def _worker_arguments(args: argparse.Namespace) -> list[str]:
    """The arguments of ``manyheads train`` that each torchrun worker gets (no --nproc)."""
    flags = ("resume", "overwrite", "keep_checkpoint", "quiet")
    chosen = [f"--{f.replace('_', '-')}" for f in flags if getattr(args, f)]
    return [args.config, *args.overrides, *chosen]
