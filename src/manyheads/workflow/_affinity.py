"""Lookahead inter-task affinity recorded while a run trains (``train.affinity_every``).

Every ``affinity_every`` optimiser steps, :class:`AffinityRecorder` draws one training batch
(its own generator: the run's batches, dropout and weights are unchanged) and measures, for
every pair of tasks, how a plain SGD step of the shared parameters on task i alone changes
task j's loss (Fifty et al., NeurIPS 2021, Eq. 3: :func:`~manyheads.engine._affinity.
lookahead_affinity`). The per-epoch means and the mean over training go to ``affinity.json`` in
the run directory (rewritten atomically after each epoch); ``manyheads analyze RUN`` prints the
matrix and, for three tasks or more, the grouping it suggests (docs/text.md).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from manyheads._files import atomic_write_text
from manyheads.architectures.base import MTLModel
from manyheads.config.train import TrainSettings
from manyheads.data.tensors import Batch, EncodedTable
from manyheads.engine._affinity import batch_affinity, suggest_groups
from manyheads.engine._optim import param_groups
from manyheads.engine.events import Events
from manyheads.errors import DataError
from manyheads.tasks._fitted import FittedTask
from manyheads.workflow._run_metrics import json_safe

__all__ = [
    "AFFINITY_FILE",
    "AffinityRecorder",
    "TaskAffinity",
    "attach_affinity",
    "format_affinity",
    "load_affinity",
    "shared_lrs",
]

AFFINITY_FILE = "affinity.json"


@dataclass(frozen=True)
class TaskAffinity:
    """Lookahead affinities of a run's tasks, averaged over the recorded steps.

    Attributes:
        tasks: task names, in model order.
        affinity: ``affinity[i][j]``, the mean affinity of task i onto task j (positive: a
            step on i lowers j's loss); NaN where no record had both tasks' labels.
        n_records: ``n_records[i][j]``, the records that define ``affinity[i][j]``.
        every: optimiser steps between records.
        epochs: per epoch, ``{"epoch", "affinity", "n_records"}`` of that epoch's records.
    """

    tasks: list[str]
    affinity: list[list[float]]
    n_records: list[list[int]]
    every: int
    epochs: list[dict[str, Any]]

    def to_json(self) -> str:
        """Strict JSON (NaN becomes null)."""
        return json.dumps(json_safe(asdict(self)), indent=1, allow_nan=False)

    def matrix(self) -> torch.Tensor:
        """``affinity`` as a float64 tensor ``[T, T]`` (NaN where undefined)."""
        return torch.tensor(
            [[math.nan if v is None else v for v in row] for row in self.affinity],
            dtype=torch.float64,
        )


def shared_lrs(model: MTLModel, settings: TrainSettings) -> list[float]:
    """The learning rate of each shared parameter that requires a gradient (the base rate of
    its optimiser group: ``lr_encoder``, ``lr_shared`` or ``lr``), in
    ``model.shared_parameters()`` order."""
    by_id = {
        id(p): float(group["lr"])
        for group in param_groups(model, torch.nn.Module(), settings)
        for p in group["params"]
    }
    return [by_id[id(p)] for p in model.shared_parameters() if p.requires_grad]


class AffinityRecorder:
    """Records :func:`~manyheads.engine._affinity.batch_affinity` on one training batch every
    ``settings.affinity_every`` steps and keeps the per-epoch sums.

    Args:
        model: the model being trained.
        table: the encoded training rows (batches are drawn from them with a generator of
            their own, seeded with ``settings.seed``).
        tasks: the fitted tasks, in model order.
        settings: the run's training settings (``affinity_every``, ``batch_size``, rates).
    """

    def __init__(
        self,
        model: MTLModel,
        table: EncodedTable,
        tasks: list[FittedTask],
        settings: TrainSettings,
    ) -> None:
        self.model, self.table, self.tasks, self.settings = model, table, tasks, settings
        self.every = settings.affinity_every or 1
        self.lrs = shared_lrs(model, settings)
        self._generator = torch.Generator().manual_seed(settings.seed + 7919)
        self._batches: list[torch.Tensor] = []
        n = len(tasks)
        self.sums = torch.zeros(n, n, dtype=torch.float64)
        self.counts = torch.zeros(n, n, dtype=torch.float64)
        self.epochs: list[dict[str, Any]] = []

    def _next_batch(self) -> Batch:
        if not self._batches:
            self._batches = list(
                self.table.batch_indices(self.settings.rows_per_batch(), generator=self._generator)
            )[::-1]
        device = next(self.model.parameters()).device
        return self.table.take(self._batches.pop()).to(device)

    def record(self) -> torch.Tensor:
        """Measure one batch and add it to this epoch's sums; returns its ``[T, T]``."""
        z = batch_affinity(self.model, self._next_batch(), self.tasks, self.lrs)
        defined = torch.isfinite(z)
        self.sums += torch.where(defined, z, 0.0)
        self.counts += defined.double()
        return z

    def close_epoch(self, epoch: int) -> None:
        """Store this epoch's mean (nothing when no step was recorded) and start the next."""
        if bool(self.counts.any()):
            mean = torch.where(self.counts > 0, self.sums / self.counts.clamp(min=1), torch.nan)
            self.epochs = [e for e in self.epochs if e["epoch"] < epoch]
            self.epochs.append(
                {
                    "epoch": epoch,
                    "affinity": mean.tolist(),
                    "n_records": self.counts.long().tolist(),
                }
            )
        self.sums.zero_()
        self.counts.zero_()

    def result(self) -> TaskAffinity:
        """The mean over every recorded step (of all epochs so far)."""
        n = len(self.tasks)
        sums = torch.zeros(n, n, dtype=torch.float64)
        counts = torch.zeros(n, n, dtype=torch.float64)
        for e in self.epochs:
            c = torch.tensor(e["n_records"], dtype=torch.float64)
            m = torch.tensor(
                [[math.nan if v is None else v for v in r] for r in e["affinity"]],
                dtype=torch.float64,
            )
            sums += torch.where(c > 0, m * c, 0.0)
            counts += c
        mean = torch.where(counts > 0, sums / counts.clamp(min=1), torch.nan)
        return TaskAffinity(
            tasks=[t.name for t in self.tasks],
            affinity=mean.tolist(),
            n_records=counts.long().tolist(),
            every=self.every,
            epochs=self.epochs,
        )


def attach_affinity(
    events: Events,
    directory: Path,
    model: MTLModel,
    table: EncodedTable,
    tasks: list[FittedTask],
    settings: TrainSettings,
) -> None:
    """Record the affinity every ``settings.affinity_every`` steps and rewrite
    ``directory/affinity.json`` after each epoch (a resumed run keeps the epochs before it)."""
    if not [p for p in model.shared_parameters() if p.requires_grad] or len(tasks) < 2:
        return  # nothing shared, or a single task: no affinity between tasks
    recorder = AffinityRecorder(model, table, tasks, settings)
    path = directory / AFFINITY_FILE

    def start(start_epoch: int, **_: object) -> None:
        saved = load_affinity(directory)
        if saved is not None and saved.tasks == recorder.result().tasks:
            recorder.epochs = [e for e in saved.epochs if e["epoch"] < start_epoch]

    def step(step: int, **_: object) -> None:
        if step % recorder.every == 0:
            recorder.record()

    def epoch_end(epoch: int, **_: object) -> None:
        recorder.close_epoch(epoch)
        atomic_write_text(path, recorder.result().to_json())

    events.connect("train_start", start)
    events.connect("step_end", step)
    events.connect("epoch_end", epoch_end)


def load_affinity(directory: str | Path) -> TaskAffinity | None:
    """The ``affinity.json`` of a run directory, or None when the run did not record it.

    Raises:
        DataError: the file is not the JSON that a run writes.
    """
    path = Path(directory) / AFFINITY_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return TaskAffinity(**{k: data[k] for k in TaskAffinity.__dataclass_fields__})
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(
            f"not an affinity file written by a run ({exc}); delete it or train again with "
            "train.affinity_every.",
            path=str(path),
        ) from None


def format_affinity(result: TaskAffinity, n_groups: int | None = None) -> list[str]:
    """The lines ``manyheads analyze`` prints: the matrix (row i onto column j) and, for three
    tasks or more, the best partition into ``n_groups`` groups (default 2)."""
    names = result.tasks
    width = max(len(t) for t in names)
    records = max((max(row) for row in result.n_records), default=0)
    lines = [
        f"lookahead affinity, row onto column (Fifty et al. 2021), every {result.every} step(s), "
        f"{records} record(s):",
        " " * (width + 2) + "  ".join(f"{t[:10]:>10}" for t in names),
    ]
    for i, a in enumerate(names):
        row = result.affinity[i]
        cells = ["         —" if v is None or math.isnan(v) else f"{v:+10.3e}" for v in row]
        lines.append(f"{a:>{width}}  " + "  ".join(cells))
    if len(names) >= 3:
        k = n_groups if n_groups is not None else 2
        groups, score = suggest_groups(result.matrix(), k)
        shown = " | ".join(", ".join(names[t] for t in g) for g in groups)
        lines.append(f"suggested grouping into {k} groups (total affinity {score:+.4f}): {shown}")
    return lines
