"""One served model: request rows in, one prediction record per row out.

:class:`Predictor` encodes and decodes exactly as :meth:`Run.predict
<manyheads.workflow._run.Run.predict>` does (the rows of a request are what a ``manyheads
predict`` JSONL file of the same rows reads as), so that a record holds the values the
prediction file holds for its row; only the asked tasks are computed (the model runs only
their heads, ``model(x, tasks=...)``) and decoded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from manyheads.engine.loop import predict_outputs
from manyheads.workflow._run import Run, json_safe

__all__ = ["REQUEST", "Predictor", "records", "request_frame"]

#: The "file" a request's DataError names; its "line" is the 0-based row of the request.
REQUEST = "request"
#: Rows per network call, as :meth:`Run.predict` batches them.
PREDICT_BATCH = 8192

Columns = dict[str, np.ndarray]


def request_frame(rows: Sequence[dict[str, object]]) -> pd.DataFrame:
    """The rows as :func:`~manyheads.data.io.read_table` reads a JSONL file of them, indexed
    by their position in the request (what a DataError names as the line)."""
    frame = pd.DataFrame(list(rows))
    frame.index = pd.RangeIndex(0, len(frame))
    frame.attrs["path"] = REQUEST
    frame.attrs["row_word"] = "row"
    return frame


class Predictor:
    """A loaded run, served under ``name``.

    Args:
        name: the model's name in the routes.
        run: the run (its model may be the onnxruntime engine's).
        engine: what runs the network (``torch`` or ``onnxruntime``), as reported.
    """

    def __init__(self, name: str, run: Run, engine: str) -> None:
        self.name = name
        self.run = run
        self.engine = engine
        self.task_names = [t.name for t in run.tasks]
        self._fitted = {t.name: t for t in run.fitted_tasks}
        tokens = [c for c, k in run.preprocessor.inputs.items() if k == "tokens"]
        self._words = f"wmask:{tokens[0]}" if tokens else None

    def predict_tasks(
        self, rows: Sequence[dict[str, object]], tasks: Sequence[str]
    ) -> dict[str, Columns]:
        """Task -> its prediction columns for ``rows``, for each of ``tasks``.

        Raises:
            DataError: a cell the preprocessing refuses (its line is the row's position).
        """
        run = self.run
        table = run.preprocessor.transform(request_frame(rows), labels=False)
        device = next(run.model.parameters()).device
        asked = None if list(tasks) == self.task_names else tasks
        outputs = predict_outputs(
            run.model, table, batch_size=PREDICT_BATCH, device=device, tasks=asked
        )
        words = table.x.get(self._words) if self._words is not None else None
        out: dict[str, Columns] = {}
        for name in tasks:
            fitted = self._fitted[name]
            per_word = fitted.task_type.level == "token" and words is not None
            out[name] = fitted.predict(outputs[name], words if per_word else None)
        return out

    def ordered(self, tasks: Sequence[str] | None) -> list[str]:
        """``tasks`` (None: all) in the model's task order, as the prediction file has them."""
        return (
            list(self.task_names) if tasks is None else [t for t in self.task_names if t in tasks]
        )

    def info(self) -> dict[str, Any]:
        """What ``GET /v1/models/{name}`` shows: tasks, inputs, the run's metrics."""
        from manyheads import __version__
        from manyheads.serve._schema import prediction_columns

        tasks = []
        for fitted in self.run.fitted_tasks:
            entry: dict[str, Any] = {"name": fitted.name, "type": fitted.task.type}
            for key in ("classes", "labels", "tags"):
                if key in fitted.state:
                    entry[key] = list(fitted.state[key])
            entry["columns"] = list(prediction_columns(self.run, fitted.name))
            tasks.append(entry)
        inputs = [{"name": c, "kind": k} for c, k in self.run.preprocessor.inputs.items()]
        return {
            "name": self.name,
            "architecture": self.run.architecture,
            "engine": self.engine,
            "manyheads_version": __version__,
            "tasks": tasks,
            "inputs": inputs,
            "metrics": json_safe(self.run.metrics),
        }


def records(
    columns: dict[str, Columns], tasks: Sequence[str], start: int, stop: int
) -> list[dict[str, object]]:
    """Rows ``start:stop`` of the columns of ``tasks`` (in that order) as JSON-ready records;
    ``tolist`` makes float32 values the Python floats of the same value."""
    lists: dict[str, list[object]] = {}
    for task in tasks:
        for column, values in columns[task].items():
            lists[column] = values[start:stop].tolist()
    return [dict(zip(lists, row, strict=True)) for row in zip(*lists.values(), strict=True)]
