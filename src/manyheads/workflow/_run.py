"""The result of training: :class:`Run` (predict, evaluate, save) and :func:`load`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from manyheads.architectures.base import MTLModel
from manyheads.config.schema import RunConfig
from manyheads.data.preprocess import TablePreprocessor
from manyheads.engine.loop import predict_outputs, score_outputs
from manyheads.errors import InvalidParameterError
from manyheads.tasks._fitted import FittedTask
from manyheads.tasks.task import Task
from manyheads.workflow._bundle import read_bundle, write_run_bundle
from manyheads.workflow._rows import Data, as_frame
from manyheads.workflow._run_metrics import RunMetrics, json_safe, read_metrics, task_metrics

if TYPE_CHECKING:  # imported inside the methods: `import manyheads` stays light
    from manyheads.compress import CompressReport
    from manyheads.export import ParityReport

__all__ = [
    "Data",
    "Run",
    "RunMetrics",
    "as_frame",
    "json_safe",
    "load",
    "task_metrics",
]


@dataclasses.dataclass(eq=False, repr=False)
class Run:
    """A trained multi-task model with everything needed to predict, evaluate and ship it.

    Attributes:
        model: the trained architecture (best validation epoch).
        tasks: the task specifications.
        preprocessor: the fitted input and label encoding.
        architecture: the architecture's registered name.
        options: the architecture's options (as saved in the bundle).
        config: the resolved run configuration (None after :func:`load`).
        metrics: the ``metrics.json`` content of the training run (None after :func:`load`
            of a bundle without one); :meth:`RunMetrics.to_dict` of a run just trained.
        history: one dict per epoch (losses and validation metrics).
        directory: the run directory, if the run was written to disk.
        lineage: where a model grown by :meth:`add_task` came from (``model.json``'s
            ``lineage``: the source run and its weights' sha256, the added task, the unfreeze
            mode, the date); None for a model trained from scratch.
    """

    model: MTLModel
    tasks: list[Task]
    preprocessor: TablePreprocessor
    architecture: str = dataclasses.field(kw_only=True)
    options: dict[str, Any] = dataclasses.field(kw_only=True)
    config: RunConfig | None = dataclasses.field(default=None, kw_only=True)
    metrics: dict[str, Any] | None = dataclasses.field(default=None, kw_only=True)
    history: list[dict[str, float]] = dataclasses.field(default_factory=list, kw_only=True)
    directory: Path | None = dataclasses.field(default=None, kw_only=True)
    lineage: dict[str, Any] | None = dataclasses.field(default=None, kw_only=True)

    @property
    def n_parameters(self) -> int:
        """Number of trainable parameters of the model."""
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    @property
    def fitted_tasks(self) -> list[FittedTask]:
        """Each task with the label encoding the preprocessor learnt for it, in task order."""
        return self.preprocessor.fitted(self.tasks)

    def _outputs(
        self, frame: pd.DataFrame, *, labels: bool, tasks: Sequence[str] | None = None
    ) -> tuple[Any, dict[str, torch.Tensor]]:
        table = self.preprocessor.transform(frame, labels=labels)
        device = next(self.model.parameters()).device
        outputs = predict_outputs(self.model, table, batch_size=8192, device=device, tasks=tasks)
        return table, outputs

    def predict(self, data: Data, *, tasks: Sequence[str] | None = None) -> pd.DataFrame:
        """Predict every task, or only ``tasks`` (their heads alone run), for ``data``.

        Returns:
            One column per task (the class, or the value), plus ``<task>_proba`` for the
            predicted class's probability (binary: the positive class's probability). An ESMM
            funnel (``cascade`` with ``funnel: true``) adds ``pCTR``, ``pCVR`` and ``pCTCVR``
            (:func:`~manyheads.architectures.cascade.funnel_columns`) when every task is asked.

        Raises:
            InvalidParameterError: a name in ``tasks`` that is not one of the run's tasks.
        """
        frame = as_frame(data)
        asked = None if tasks is None else self.model.asked_tasks(tasks)
        table, outputs = self._outputs(frame, labels=False, tasks=asked)
        columns: dict[str, np.ndarray] = {}
        words = [f"wmask:{c}" for c, k in self.preprocessor.inputs.items() if k == "tokens"]
        for t in (t for t in self.fitted_tasks if t.name in outputs):
            # a token-level task: one tag per word of each row (the word slots tell its length)
            per_word = t.task_type.level == "token" and words and words[0] in table.x
            columns |= t.predict(outputs[t.name], table.x[words[0]] if per_word else None)
        if asked is None and self.architecture == "cascade" and self.options.get("funnel"):
            from manyheads.architectures.cascade import funnel_columns

            order = self.options.get("order") or [t.name for t in self.tasks]
            columns |= funnel_columns(outputs, order)
        return pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))

    def evaluate(
        self, data: Data, *, split: str = "test", group_by: str | None = None, ranking_k: int = 10
    ) -> dict[str, Any]:
        """Every metric of every task on labelled ``data``, in the ``metrics.json`` layout.

        With ``group_by`` (a column of ``data``: the user id) each binary task also gets
        ``gauc``, ``ndcg@<ranking_k>`` and ``recall@<ranking_k>`` (docs/ranking.md).
        """
        frame = as_frame(data)
        table, outputs = self._outputs(frame, labels=True)
        scores = score_outputs(outputs, table, self.fitted_tasks)
        out: dict[str, Any] = {
            "split": split,
            "architecture": self.architecture,
            "n_parameters": self.n_parameters,
            "tasks": task_metrics(self.tasks, scores),
        }
        if group_by is not None:
            from manyheads.workflow._ranking import ranking_scores

            ranked = ranking_scores(self, frame, group_by, ranking_k, setting="group_by")
            for task, values in ranked.items():
                out["tasks"][task].update(values)
        return out

    def save(self, path: str | Path) -> Path:
        """Write the model bundle (``model.safetensors`` + ``model.json``) into ``path``.

        Each file is written to a temporary file and renamed (the weights first).

        Raises:
            DataError: the folder cannot be created or written (naming it).
        """
        from manyheads._files import os_error

        directory = Path(path)
        extra = {"lineage": self.lineage} if self.lineage is not None else None
        try:
            write_run_bundle(directory, self, extra=extra)
        except OSError as exc:
            raise os_error(exc, directory, "write the model bundle") from None
        return directory

    def add_task(  # noqa: PLR0913 - the public entry point: one keyword per setting
        self,
        name: str | Task,
        type: str | None,
        data: Data,
        *,
        valid: Data | None = None,
        test: Data | None = None,
        unfreeze: str = "none",
        output: str | Path | None = None,
        overwrite: bool = False,
        quiet: bool = True,
        **settings: Any,  # noqa: ANN401 - AddTaskSettings fields, checked by settings_of
    ) -> Run:
        """A new run: this model with the task ``name`` added and trained on ``data``.

        The model grows by the new task's own parts; old weights and fitted input encoders are
        kept. ``unfreeze="none"`` trains only the new parts (old predictions bit-identical);
        ``"heads"``/``"all"`` train more under Learning without Forgetting (Li & Hoiem 2016).
        The new run records its ``lineage``; this run is untouched (docs/add-task.md).

        Args:
            name: the new task's name, or a :class:`Task` (then ``type`` is None or its type).
            type: the new task's type (``binary``, ``multiclass``, ``regression`` ...).
            data: the training rows: the run's inputs and the new label column.
            valid: validation rows (default: 10% of ``data``, seeded).
            test: rows to score the old tasks before/after (backward transfer) and the new
                task; default: the source run's test split when its folder names one, else
                the validation rows.
            unfreeze: ``none``, ``heads`` or ``all``.
            output: the new run's folder (never this run's).
            overwrite: replace a finished run in ``output`` (only the files a run writes).
            quiet: no progress output.
            **settings: fields of :class:`~manyheads.extend.AddTaskSettings` (``epochs``,
                ``batch_size``, ``lr``, ``seed``, ``patience``, ``temperature`` ...).

        Raises:
            InvalidParameterError: the task exists, an unknown type or setting, or an
                architecture that cannot take a new task without changing the old ones.
            DataError: an input or label column missing from the new data.

        Example:
            >>> import manyheads as mh, numpy as np, pandas as pd
            >>> rng = np.random.default_rng(0)
            >>> df = pd.DataFrame({"x": rng.normal(size=300)})
            >>> df["y"], df["z"] = (df.x > 0).astype(int), df.x * 2.0
            >>> run = mh.fit(df, tasks=[mh.Task("y", type="binary")], inputs={"x": "numeric"},
            ...              epochs=1)
            >>> grown = run.add_task("z", "regression", df, epochs=2)
            >>> [t.name for t in grown.tasks], grown.lineage["unfreeze"]
            (['y', 'z'], 'none')
            >>> bool((grown.predict(df)["y_proba"] == run.predict(df)["y_proba"]).all())
            True
        """
        from manyheads.extend import NewData, add_task, new_task, settings_of

        return add_task(
            self,
            new_task(name, type),
            NewData(data, valid, test),
            unfreeze=unfreeze,
            settings=settings_of(settings),
            output=output,
            overwrite=overwrite,
            log=None if quiet else print,
        )

    def export(
        self,
        path: str | Path | None = None,
        *,
        format: str = "onnx",
        data: Data | None = None,
        overwrite: bool = False,
    ) -> ParityReport:
        """Export the network (``manyheads export RUN --format onnx``), proven equal to eager
        PyTorch on the run's rows: :func:`manyheads.export.export_onnx`.

        Args:
            path: the ``.onnx`` file (default ``model.onnx`` in the run directory).
            format: the file format; ``onnx`` is the one there is.
            data: rows for the parity check (default the run's test split, else validation).
            overwrite: replace an existing file that manyheads did not write.

        Raises:
            InvalidParameterError: an unknown ``format``, or a module with no ONNX form.
            DataError: the parity check failed or the file cannot be written (nothing written).
        """
        if format != "onnx":
            raise InvalidParameterError(
                f"The 'format' parameter of Run.export must be 'onnx'. Got {format!r} instead."
            )
        from manyheads.export import export_onnx

        return export_onnx(self, path, data=data, overwrite=overwrite)

    def quantize(
        self,
        out_dir: str | Path,
        **options: Any,  # noqa: ANN401 - the keywords of manyheads.compress.quantize
    ) -> CompressReport:
        """Write an int8 bundle of this run into ``out_dir`` (``manyheads quantize``), with its
        per-task report: :func:`manyheads.compress.quantize` (``max_drop``, ``force``,
        ``per_channel``, ``reduce_range``, ``op_types``, ``keep_fp32``, ``exclude``,
        ``overwrite``)."""
        from manyheads.compress import quantize

        return quantize(self, out_dir, **options)

    def prune(
        self,
        out_dir: str | Path,
        **options: Any,  # noqa: ANN401 - the keywords of manyheads.compress.prune
    ) -> CompressReport:
        """Write a pruned, fine-tuned bundle of this run into ``out_dir`` (``manyheads
        prune``), with its per-task report: :func:`manyheads.compress.prune` (``amount``,
        ``epochs``, ``experts``, ``max_drop``, ``force``, ``overwrite``)."""
        from manyheads.compress import prune

        return prune(self, out_dir, **options)


def load(path: str | Path) -> Run:
    """Load a run directory or model bundle written by :func:`fit` or :meth:`Run.save`.

    Raises:
        DataError: the directory holds no finished model.
    """
    directory = Path(path)
    model, tasks, pre, meta = read_bundle(directory)
    metrics = read_metrics(directory / "metrics.json")
    return Run(
        model,
        tasks,
        pre,
        architecture=meta["architecture"],
        options=meta["options"],
        metrics=metrics,
        directory=directory,
        lineage=meta.get("lineage") if isinstance(meta.get("lineage"), dict) else None,
    )
