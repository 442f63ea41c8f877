"""The worker of ``test_equivalence.py``: every case on two gloo ranks, then (rank 0) one
process with the global batch; writes the largest parameter difference of each case."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
import torch.distributed as dist

from manyheads._methods import create_method
from manyheads.architectures import create_model
from manyheads.config.train import TrainSettings
from manyheads.data.tensors import EncodedTable
from manyheads.distributed import LOCAL, Comm
from manyheads.engine.events import Events
from manyheads.engine.loop import LoopState, train_one_epoch
from manyheads.testing import make_toy_problem

#: (method, options, architecture, train settings): the methods of issue 19 on an MMoE, and every
#: one of them that takes ``rep_grad`` in that mode too, with DB-MTL and GradDrop (their feature
#: updates are not read from a Gramian: the ranks gather the feature Jacobian); then a penalty
#: on task columns (soft sharing) with ``task_loss: share`` and clipping, an aggregator with no
#: shared parameter, and cross-stitch units (shared, but not upstream of the features).
Case = tuple[str, dict[str, object], str, dict[str, object]]
MMOE: dict[str, object] = {"n_experts": 2, "expert_hidden": [8]}
CASES: tuple[Case, ...] = (
    *((m, {}, "mmoe", {}) for m in ("ew", "uw", "dwa", "gradnorm", "famo")),
    *((m, {}, "mmoe", {}) for m in ("mgda", "pcgrad", "cagrad", "nash_mtl", "upgrad")),
    *(
        (m, {"rep_grad": True}, "mmoe", {})
        for m in ("mgda", "upgrad", "aligned_mtl", "db_mtl", "graddrop")
    ),
    ("ew", {}, "soft_sharing", {"task_loss": "share", "clip_norm": 0.5}),
    ("upgrad", {}, "soft_sharing", {}),
    ("upgrad", {"rep_grad": True}, "cross_stitch", {}),
)
OPTIONS: dict[str, dict[str, object]] = {
    "mmoe": MMOE,
    "soft_sharing": {"hidden": [8], "penalty_weight": 0.5},
    "cross_stitch": {"hidden": [8, 8]},
}
BATCH = 8  # rows per rank; one process trains on 2 x 8
ROWS = 33  # the last global batch has 1 row: rank 1 stands idle (a stand-in row that weighs 0)
EPOCHS = 3  # DWA weighs by the last two epochs: its weights move in the third


def train(case: Case, comm: Comm, batch_size: int, epochs: int = EPOCHS) -> torch.Tensor:
    """The flattened parameters (model and method) after ``epochs`` epochs."""
    name, options, architecture, extra = case
    problem = make_toy_problem(ROWS, task_types=("binary", "multiclass", "regression"))
    table = EncodedTable(dict(problem.x), dict(problem.y), dict(problem.mask), problem.n_rows)
    torch.manual_seed(0)
    model = create_model(architecture, problem.spec, problem.out_dims, **OPTIONS[architecture])
    method = create_method(name, len(problem.tasks), **options)
    params = [*model.parameters(), *method.parameters()]
    loop = LoopState(
        torch.optim.SGD(params, lr=0.1),
        torch.Generator().manual_seed(0),
        torch.device("cpu"),
        comm=comm,
    )
    settings = TrainSettings(epochs=EPOCHS, batch_size=batch_size, **extra)  # type: ignore[arg-type]
    for epoch in range(1, epochs + 1):
        loop.epoch = epoch
        losses = train_one_epoch(
            model,
            table,
            tasks=problem.fitted_tasks,
            method=method,
            settings=settings,
            loop=loop,
            events=Events(),
        )
        method.end_epoch(losses.to(torch.float32))
    return torch.cat([p.detach().reshape(-1) for p in params])


def worker(rank: int, world_size: int, folder: str) -> None:
    """Run every case on this rank; rank 0 compares with one process and writes ``diffs.json``."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=world_size
    )
    comm = Comm(rank=rank, world_size=world_size)
    diffs: dict[str, float] = {}
    for case in CASES:
        name, options, architecture, _ = case
        key = f"{architecture} {name}" + (" rep_grad" if options.get("rep_grad") else "")
        ranks = train(case, comm, BATCH)
        if rank == 0:
            single = train(case, LOCAL, BATCH * world_size)
            diffs[key] = float((ranks - single).abs().max())
            diffs[key + " moved"] = float((single - train(case, LOCAL, 1, epochs=0)).abs().max())
    dist.barrier()  # leave together: rank 1 would otherwise tear down while rank 0 still works
    dist.destroy_process_group()
    if rank == 0:
        Path(folder, "diffs.json").write_text(json.dumps(diffs, indent=1))
