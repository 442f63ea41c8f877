"""Task relationships: how the per-task gradients of the shared parameters agree or fight.

:func:`task_relations` runs a trained model over batches of its training data and records, for
every pair of tasks, the mean cosine similarity of their gradients on the shared parameters and
the conflict rate (the share of batches where that cosine is negative). ``manyheads analyze RUN``
saves the result as ``task_relations.json`` in the run directory and draws a T x T heatmap.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import torch

from manyheads.architectures.base import MTLModel
from manyheads.data.tensors import EncodedTable
from manyheads.engine.backward import shared_jacobian
from manyheads.engine.loop import task_losses
from manyheads.errors import DataError, InvalidParameterError
from manyheads.tasks._fitted import FittedTask

if TYPE_CHECKING:
    from manyheads.workflow._run import Run

__all__ = ["TaskRelations", "plot_relations", "table_relations", "task_relations"]


@dataclass(frozen=True)
class TaskRelations:
    """Pairwise gradient statistics of the tasks over ``n_batches`` batches.

    Attributes:
        tasks: task names, in model order.
        cosine: ``cosine[i][j]``, the mean cosine similarity of the gradients of tasks i and j.
        conflict_rate: ``conflict_rate[i][j]``, the share of batches with a negative cosine.
        n_pairs: ``n_pairs[i][j]``, batches in which both tasks had labels (the denominators).
        n_batches: the number of batches analysed.
    """

    tasks: list[str]
    cosine: list[list[float]]
    conflict_rate: list[list[float]]
    n_pairs: list[list[int]]
    n_batches: int

    def to_json(self) -> str:
        """The relations as a strict JSON document (a NaN cosine, of a pair that never met in
        a batch, is null)."""

        def strict(value: object) -> object:
            if isinstance(value, list):
                return [strict(v) for v in value]
            if isinstance(value, float) and not math.isfinite(value):
                return None
            return value

        data = {k: strict(v) for k, v in asdict(self).items()}
        return json.dumps(data, indent=2, allow_nan=False)


def task_relations(
    run: Run,
    data: pd.DataFrame,
    *,
    batch_size: int = 256,
    max_batches: int = 50,
    seed: int = 0,
) -> TaskRelations:
    """Gradient cosine similarities and conflict rates of a trained run's tasks.

    Args:
        run: a :class:`manyheads.Run` (from :func:`manyheads.fit` or :func:`manyheads.load`).
        data: labelled rows, usually the run's training data.
        batch_size: rows per batch (one gradient per task per batch).
        max_batches: stop after this many batches (shuffled with ``seed``).
        seed: seed of the batch order.

    Raises:
        InvalidParameterError: the architecture has no shared parameters, or a bad size.
        DataError: a task has no labelled row in ``data`` (its relations would be undefined).

    Example:
        >>> import numpy as np, pandas as pd, manyheads as mh
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame({"x": rng.normal(size=200)})
        >>> df["a"], df["b"] = df.x * 2.0, -df.x
        >>> run = mh.fit(df, tasks=[mh.Task("a", type="regression"),
        ...                         mh.Task("b", type="regression")], epochs=1)
        >>> rel = task_relations(run, df, batch_size=50)
        >>> rel.tasks, rel.n_batches
        (['a', 'b'], 4)
    """
    for key, value in (("batch_size", batch_size), ("max_batches", max_batches)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidParameterError(
                f"The '{key}' parameter of task_relations must be an int >= 1. Got {value!r}."
            )
    model = run.model
    if not [p for p in model.shared_parameters() if p.requires_grad]:
        raise InvalidParameterError(
            f"The architecture '{run.architecture}' has no shared parameters, so its tasks have "
            "no gradients to compare. Analyse a run of a sharing architecture (hps, mmoe, ...)."
        )
    table = run.preprocessor.transform(data)
    unlabelled = [t.name for t in run.tasks if not bool(table.mask[t.name].any())]
    if unlabelled:  # its gradient would be zero: every relation with it undefined (nan)
        source = data.attrs.get("path")
        raise DataError(
            f"no labelled rows for task(s) {', '.join(unlabelled)}: a task's gradient needs its "
            "labels, so its relations would be undefined. Pass data with labels for every task "
            "(e.g. the run's training data).",
            path=str(source) if source is not None else None,
        )
    return table_relations(
        model,
        table,
        run.fitted_tasks,
        batch_size=batch_size,
        max_batches=max_batches,
        seed=seed,
    )


def table_relations(
    model: MTLModel,
    table: EncodedTable,
    tasks: Sequence[FittedTask],
    *,
    batch_size: int = 256,
    max_batches: int = 50,
    seed: int = 0,
) -> TaskRelations:
    """:func:`task_relations` of the fitted ``tasks`` on an already encoded table (used during
    training as well).

    The model is put in eval mode (no dropout, frozen normalisation statistics) and its
    parameters and gradients are left untouched; the batch order has its own generator, so
    calling this between epochs does not change the training run.
    """
    shared = [p for p in model.shared_parameters() if p.requires_grad]
    device = shared[0].device
    n = len(tasks)
    cos_sum = torch.zeros(n, n, dtype=torch.float64)
    negative = torch.zeros(n, n, dtype=torch.float64)
    pairs = torch.zeros(n, n, dtype=torch.float64)
    model.eval()
    n_batches = 0
    generator = torch.Generator().manual_seed(seed)
    for batch in table.batches(batch_size, generator=generator):
        if n_batches == max_batches:
            break
        batch = batch.to(device)
        losses = task_losses(model(batch.x), batch, tasks)
        jac = shared_jacobian(losses, shared).detach().double().cpu()  # [T, P]
        norms = jac.norm(dim=1)
        active = norms > 0
        cos = (jac @ jac.T) / (norms[:, None] * norms[None, :]).clamp(min=1e-300)
        both = (active[:, None] & active[None, :]).double()
        cos_sum += cos * both
        negative += (cos < 0).double() * both
        pairs += both
        n_batches += 1
    mean = torch.where(pairs > 0, cos_sum / pairs.clamp(min=1), torch.nan)
    rate = torch.where(pairs > 0, negative / pairs.clamp(min=1), torch.nan)
    return TaskRelations(
        tasks=[t.name for t in tasks],
        cosine=mean.tolist(),
        conflict_rate=rate.tolist(),
        n_pairs=pairs.long().tolist(),
        n_batches=n_batches,
    )


def plot_relations(relations: TaskRelations, path: str | Path) -> Path:
    """Draw the cosine matrix as a T x T heatmap (conflict rates in the cells) into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(relations.tasks)
    size = 1.2 + 0.7 * n
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(relations.cosine, cmap="RdBu", vmin=-1.0, vmax=1.0)
    ax.set_xticks(range(n), relations.tasks, rotation=45, ha="right")
    ax.set_yticks(range(n), relations.tasks)
    for i in range(n):
        for j in range(n):
            c, r = relations.cosine[i][j], relations.conflict_rate[i][j]
            ax.text(j, i, f"{c:.2f}\n{r:.0%}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, label="mean gradient cosine")
    ax.set_title(f"Task gradient cosine / conflict rate ({relations.n_batches} batches)")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
