"""The onnxruntime engine: a run whose network is its exported graph, behind the same
preprocessing and decoding (``manyheads predict --engine onnxruntime``).

:func:`onnx_engine` swaps the run's model for :class:`OnnxModel`, an :class:`MTLModel` whose
shared representation is the graph's outputs, so that :meth:`Run.predict` batches, encodes and
decodes exactly as with the eager engine; only the network runs in onnxruntime.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from manyheads.architectures.base import Features, MTLModel
from manyheads.errors import DataError
from manyheads.export._cut import cut_session
from manyheads.export._export import (
    GRAPH_POINTER,
    made_by_manyheads,
    sidecar_path,
    weights_hash,
)
from manyheads.export._onnx import (
    Session,
    open_session,
    require_export_extra,
    run_graph,
    trim_batch,
)
from manyheads.workflow._run import Run

__all__ = ["OnnxModel", "onnx_engine"]

#: Cut graphs an :class:`OnnxModel` keeps, one per set of asked tasks (the oldest goes first).
MAX_CUT_GRAPHS = 8


class OnnxModel(MTLModel):
    """An exported graph as a model: ``forward_features`` runs it, ``forward_heads`` names its
    outputs. It has no trainable parameters; it only predicts.

    ``forward(x, tasks=[...])`` computes only the asked tasks' heads: onnxruntime runs the
    whole graph whatever outputs a call fetches, so with the ``graph`` file the model runs a
    copy of it cut to those outputs (:func:`~manyheads.export._cut.cut_session`), made on
    first use and kept (at most :data:`MAX_CUT_GRAPHS` sets of tasks). Without ``graph`` it
    fetches only those outputs of the whole graph.

    Args:
        session: the onnxruntime session of the graph.
        heads: task name -> output width, in the graph's output order.
        graph: the ``.onnx`` file of ``session``, to cut for some tasks (None: never cut).
    """

    def __init__(
        self, session: Session, heads: dict[str, int], *, graph: Path | None = None
    ) -> None:
        super().__init__(heads)
        self.session = session
        self.graph = graph
        self._cut: dict[tuple[str, ...], Session] = {}
        self._lock = threading.Lock()  # the served model predicts in several threads
        # Run.predict asks the first parameter for the device: the graph runs on the CPU
        self.device_marker = nn.Parameter(torch.empty(0), requires_grad=False)

    def session_for(self, tasks: Sequence[str]) -> Session:
        """The session that computes ``tasks`` (in the model's order): the whole graph's for
        every task or without a ``graph`` file, else the graph cut to them."""
        key = tuple(tasks)
        if self.graph is None or list(key) == self.task_names:
            return self.session
        with self._lock:
            if key not in self._cut:
                if len(self._cut) >= MAX_CUT_GRAPHS:
                    del self._cut[next(iter(self._cut))]
                self._cut[key] = cut_session(self.graph, key)
            return self._cut[key]

    def forward_features(
        self, x: dict[str, Tensor], *, tasks: Sequence[str] | None = None
    ) -> Features:
        """The graph's outputs for ``tasks`` (None: all), from :meth:`session_for` them."""
        asked = self.asked_tasks(tasks)
        # the graph is traced without the text encoders' trim: cut the batch here (see _onnx)
        out = run_graph(self.session_for(asked), trim_batch(x), asked)
        return tuple(torch.from_numpy(out[t]) for t in asked)

    def forward_heads(
        self, features: Features, *, tasks: Sequence[str] | None = None
    ) -> dict[str, Tensor]:
        assert isinstance(features, tuple)
        return dict(zip(self.asked_tasks(tasks), features, strict=True))

    def shared_parameters(self) -> list[nn.Parameter]:
        return []

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        del task
        return []


def onnx_engine(run: Run, graph: str | Path | None = None) -> Run:
    """``run`` with its network replaced by the exported graph (default ``RUN/model.onnx``).

    Args:
        run: a loaded run.
        graph: the ``.onnx`` file ``manyheads export`` wrote for this run.

    Raises:
        DataError: no graph, or one that manyheads did not export (its ``.json`` report is
            missing or names another file), or one whose outputs are not the run's tasks.
    """
    require_export_extra()
    if graph is None and run.directory is None:
        raise DataError("the run has no directory: pass the graph's path.")
    path = Path(graph) if graph is not None else last_export(Path(run.directory or "."))
    if not path.is_file() or not made_by_manyheads(path):
        raise DataError(
            "is not a graph that manyheads exported (it, or its .json parity report, is "
            "missing or changed). Export it first: manyheads export RUN --format onnx "
            "(writes RUN/model.onnx), or name the exported file with --graph FILE.",
            path=str(path),
        )
    _check_weights(run, path)
    session = open_session(path)
    names = [o.name for o in session.get_outputs()]
    if names != run.model.task_names:
        raise DataError(
            f"the graph's outputs {names} are not this run's tasks {run.model.task_names}: "
            "it was exported from another run. Export this run: manyheads export RUN "
            "--format onnx.",
            path=str(path),
        )
    model = OnnxModel(session, dict(run.model.out_dims), graph=path)
    return dataclasses.replace(run, model=model)


def last_export(directory: Path) -> Path:
    """The graph the run's last ``export`` wrote: the one its ``export.json`` names (``-o
    FILE`` may be outside the run), else ``RUN/model.onnx``."""
    try:
        record = json.loads((directory / GRAPH_POINTER).read_text(encoding="utf-8"))
        named = Path(str(record["graph"]))
    except (OSError, ValueError, TypeError, KeyError):
        return directory / "model.onnx"
    return named if named.is_file() else directory / "model.onnx"


def _check_weights(run: Run, path: Path) -> None:
    """Refuse a graph exported from other weights than the run's (retrained since)."""
    meta = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    exported, current = meta.get("weights_sha256"), weights_hash(run)
    if exported is not None and current is not None and exported != current:
        raise DataError(
            "was exported from other weights than the run's model.safetensors (the run was "
            "trained again since): its predictions would be the old model's. Export again: "
            "manyheads export RUN --format onnx.",
            path=str(path),
        )
