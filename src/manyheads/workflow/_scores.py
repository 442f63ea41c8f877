"""A finished run's final scores (:class:`~manyheads.workflow._run.RunMetrics`): every task on
the test split (validation without one), validation, inference time, and each source's own."""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch

from manyheads.config.schema import RunConfig
from manyheads.data.sources import SourceTables
from manyheads.data.tensors import EncodedTable
from manyheads.engine import TrainResult
from manyheads.engine.loop import predict_outputs, score_outputs
from manyheads.workflow._encoding import Encoded
from manyheads.workflow._run import Run, RunMetrics, task_metrics

__all__ = ["final_metrics"]


def _timed_outputs(
    run: Run, table: EncodedTable, batch_size: int
) -> tuple[dict[str, torch.Tensor], float]:
    """The outputs on ``table`` and the median seconds of a pass.

    The first pass warms up (allocator, caches, lazy initialisation) and gives the outputs;
    then up to 5 timed passes within 5 s, and their median (one pass is at the mercy of other
    processes; a pass that takes seconds is timed once: big models are costly).
    """
    device = next(run.model.parameters()).device
    outputs = predict_outputs(run.model, table, batch_size=batch_size, device=device)
    timings: list[float] = []
    while len(timings) < 5 and sum(timings) < 5.0:
        began = time.perf_counter()
        predict_outputs(run.model, table, batch_size=batch_size, device=device)
        timings.append(time.perf_counter() - began)
    return outputs, float(statistics.median(timings))


def _scores(run: Run, table: EncodedTable, batch_size: int) -> dict[str, Any]:
    device = next(run.model.parameters()).device
    outputs = predict_outputs(run.model, table, batch_size=batch_size, device=device)
    scores = score_outputs(outputs, table, run.fitted_tasks)
    return task_metrics(run.tasks, scores)


def final_metrics(run: Run, config: RunConfig, result: TrainResult, encoded: Encoded) -> RunMetrics:
    """The scores written as ``metrics.json`` (see :class:`RunMetrics`)."""
    batch_size = config.train.eval_batch_size
    split, table = ("test", encoded.test) if encoded.test is not None else ("valid", encoded.valid)
    outputs, infer_seconds = _timed_outputs(run, table, batch_size)
    scores = score_outputs(outputs, table, run.fitted_tasks)
    return RunMetrics(
        split=split,
        architecture=config.model.architecture,
        method=config.method,
        seed=config.train.seed,
        train_seconds=round(result.train_seconds, 3),
        inference_seconds=round(infer_seconds, 4),
        inference_rows=table.n_rows,
        n_parameters=run.n_parameters,
        best_epoch=result.best_epoch,
        task_best_epochs=result.task_best_epochs,
        epochs_run=len(result.history),
        tasks=task_metrics(run.tasks, scores),
        valid=_scores(run, encoded.valid, batch_size),
        **(_source_metrics(run, config, encoded) if encoded.sources else {}),
    )


def _source_metrics(run: Run, config: RunConfig, encoded: Encoded) -> dict[str, Any]:
    """Per source: its tasks scored on its own test split (valid when it has none)."""
    device = next(run.model.parameters()).device
    out: dict[str, Any] = {}
    sources: list[SourceTables] = encoded.sources
    for src in sources:
        split, table = ("test", src.test) if src.test is not None else ("valid", src.valid)
        outputs = predict_outputs(
            run.model, table, batch_size=config.train.eval_batch_size, device=device
        )
        scores = score_outputs(outputs, table, run.preprocessor.fitted(src.tasks))
        out[src.name] = {
            "split": split,
            "rows": table.n_rows,
            "tasks": task_metrics(src.tasks, scores),
        }
    sampler = encoded.train.sampler
    assert sampler is not None
    data = config.data
    sampling = {
        "mode": data.sampling,
        "temperature": data.temperature if data.sampling == "temperature" else None,
        "epoch_examples": sampler.n_rows,
        "sources": sampler.describe([s.name for s in sources]),
    }
    return {"sources": out, "sampling": sampling}
