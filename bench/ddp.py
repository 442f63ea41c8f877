"""Data-parallel training on this CPU: 1 process vs 2 gloo processes, census-income MMoE.

    python bench/ddp.py --rows 16000 --batch 1024 --epochs 3 --methods ew,upgrad --json ddp.json

Every configuration trains the same global batch (``--batch`` rows per optimiser step, so the
updates are the same): one process with 1 and with 2 intra-op threads, and 2 processes of 1
thread each taking ``--batch / 2`` rows of every step (the path of ``manyheads train --nproc
2``: ``train_one_epoch`` with a gloo :class:`~manyheads.distributed.Comm`). Reported per
method: training samples/s (median epoch after one warm-up epoch) and, for 2 processes, the
share of rank 0's epoch spent in collectives and the bytes it sent per step. The MMoE follows
the census protocol (8 experts of [64], towers [8]) on the first ``--rows`` training rows of
census-income (``$MANYHEADS_DATA``; ``--sample``: the 24k-row sample shipped in the package).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from manyheads.builtin_datasets import load_dataset
from manyheads.config.load import build_config
from manyheads.config.train import TrainSettings
from manyheads.distributed import LOCAL, Comm
from manyheads.engine.events import Events
from manyheads.engine.loop import LoopState, train_one_epoch
from manyheads.workflow._builders import (
    build_method,
    build_model,
    fit_encoder_options,
    model_options,
)
from manyheads.workflow._encoding import encoded_splits
from manyheads.workflow._fit import _resolved
from manyheads.workflow._splits import Splits

MODEL = {"architecture": "mmoe", "n_experts": 8, "expert_hidden": [64], "tower": [8]}


def _quiet(_message: str) -> None:
    """Swallow what the workflow says while encoding."""


def measure(args: argparse.Namespace, method: str, comm: Comm, batch: int) -> dict[str, Any]:
    """Train ``args.epochs`` epochs of ``batch`` rows per rank; time each epoch."""
    data = load_dataset("census-income", sample=args.sample)
    name, _, mode = method.partition(":")  # "upgrad:rep_grad": the method in rep_grad mode
    options = {"rep_grad": True} if mode == "rep_grad" else {}
    raw = {
        "data": {"train": "<frame>"},  # the frames come as splits
        "tasks": {t.name: {"type": t.type, "column": t.column} for t in data.tasks},
        "inputs": dict(data.inputs),
        "model": MODEL,
        "train": {
            "method": name,
            "method_options": options,
            "batch_size": batch,
            "seed": 0,
            "epochs": args.epochs,
        },
    }
    splits = Splits(data.train.head(args.rows), data.valid.head(200), None)
    config = _resolved(build_config(raw), splits, _quiet)
    encoded = encoded_splits(config, splits, None, _quiet)
    torch.manual_seed(0)
    model = build_model(
        config, encoded.pre, fit_encoder_options(model_options(config), encoded.train)
    )
    balancing = build_method(config)
    params = [*model.parameters(), *balancing.parameters()]
    loop = LoopState(
        torch.optim.Adam(params, lr=1e-3),
        torch.Generator().manual_seed(0),
        torch.device("cpu"),
        comm=comm,
    )
    settings = TrainSettings(epochs=args.epochs, batch_size=batch)
    seconds, comm_seconds, sent = [], [], []
    for epoch in range(1, args.epochs + 1):
        loop.epoch, comm.seconds, comm.n_bytes = epoch, 0.0, 0
        began = time.perf_counter()
        train_one_epoch(
            model,
            encoded.train,
            tasks=encoded.pre.fitted(config.tasks),
            method=balancing,
            settings=settings,
            loop=loop,
            events=Events(),
        )
        seconds.append(time.perf_counter() - began)
        comm_seconds.append(comm.seconds)
        sent.append(comm.n_bytes)
    steps = -(-encoded.train.n_rows // (batch * comm.world_size))
    timed = range(1, len(seconds))  # the first epoch warms up
    epoch_s = statistics.median(seconds[i] for i in timed)
    return {
        "samples_per_s": encoded.train.n_rows / epoch_s,
        "epoch_s": epoch_s,
        "comm_share": statistics.median(comm_seconds[i] / seconds[i] for i in timed),
        "bytes_per_step": sent[-1] / steps,
        "steps_per_epoch": steps,
    }


def _key(method: str) -> str:
    return method.replace(":rep_grad", " rep_grad")


def _worker(rank: int, args: argparse.Namespace, folder: str) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=2
    )
    comm = Comm(rank=rank, world_size=2)
    results = {_key(m): measure(args, m, comm, args.batch // 2) for m in args.methods}
    dist.barrier()  # leave together (see manyheads.distributed._ddp.process_group)
    dist.destroy_process_group()
    Path(folder, f"rank{rank}.json").write_text(json.dumps(results))


def two_processes(args: argparse.Namespace) -> dict[str, Any]:
    """Rank 0's measurements (the slowest rank's epoch time sets the pace for both)."""
    with tempfile.TemporaryDirectory() as folder:
        mp.spawn(_worker, args=(args, folder), nprocs=2, join=True)
        ranks = [json.loads(Path(folder, f"rank{r}.json").read_text()) for r in range(2)]
    return {
        m: ranks[0][m] | {"rank1_samples_per_s": ranks[1][m]["samples_per_s"]} for m in ranks[0]
    }


def _median_of(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per configuration and method: the median of each number over the rounds, and the
    rounds' range of samples/s."""
    out: dict[str, Any] = {}
    for config, methods in rounds[0].items():
        out[config] = {}
        for method, first in methods.items():
            values = [r[config][method] for r in rounds]
            row = {k: statistics.median(v[k] for v in values) for k in first}
            speeds = [v["samples_per_s"] for v in values]
            out[config][method] = row | {"samples_per_s_range": [min(speeds), max(speeds)]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=16000)
    parser.add_argument("--batch", type=int, default=1024, help="global rows per step")
    parser.add_argument("--epochs", type=int, default=3, help="timed: all but the first")
    parser.add_argument("--methods", default="ew,upgrad")
    parser.add_argument("--sample", action="store_true", help="the 24k-row shipped sample")
    parser.add_argument("--json", default=None)
    parser.add_argument(
        "--two-only", action="store_true", help="only the 2-process runs (what each method sends)"
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="rounds over the configurations, interleaved"
    )
    args = parser.parse_args()
    args.methods = args.methods.split(",")
    rounds: list[dict[str, Any]] = []
    for _ in range(args.repeats):  # every configuration once per round: fair on a shared CPU
        results: dict[str, Any] = {}
        for threads in () if args.two_only else (1, 2):
            torch.set_num_threads(threads)
            results[f"1 process x {threads} threads"] = {
                _key(m): measure(args, m, LOCAL, args.batch) for m in args.methods
            }
        results["2 processes x 1 thread (gloo)"] = two_processes(args)
        rounds.append(results)
    results = _median_of(rounds)
    report = {
        "command": "python bench/ddp.py "
        + " ".join(
            f"--{k} {v}"
            for k, v in (
                ("rows", args.rows),
                ("batch", args.batch),
                ("epochs", args.epochs),
                ("methods", ",".join(args.methods)),
            )
        )
        + (" --sample" if args.sample else "")
        + (" --two-only" if args.two_only else "")
        + f" --repeats {args.repeats}",
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "torch": torch.__version__,
        "results": results,
        "rounds": rounds,
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)


if __name__ == "__main__":
    main()
