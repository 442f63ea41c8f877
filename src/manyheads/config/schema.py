"""Typed run configuration (frozen dataclasses). The YAML keys are a user contract.

See ``docs/config.md`` for every key. Precedence: defaults < config file < ``key=value`` overrides.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from manyheads.config._renamed import renamed_attribute
from manyheads.config.train import TrainSettings

if TYPE_CHECKING:
    from manyheads.tasks.task import Task

__all__ = ["SAMPLING", "DataConfig", "ModelConfig", "RunConfig", "SourceConfig"]

SAMPLING = ("proportional", "uniform", "temperature")


@dataclass(frozen=True)
class SourceConfig:
    """One data source of a multi-source run: its files (or built-in dataset) and its tasks.

    Rows of a source carry labels for its own ``tasks`` only; the other tasks' labels are
    missing there (masked), so every task trains and is evaluated on its own source's splits.

    Args:
        tasks: the names of the tasks whose labels this source holds.
        name: a short name for reports (defaults to ``source<i>``).
        train: training file; ``valid``/``test`` as for ``data`` (or fractions of train).
        dataset: a built-in dataset instead of files.
        dataset_options: options of the built-in dataset.
        columns: renames applied on reading, ``{column in the file: name used in the run}``,
            so that sources with different column names feed one input or one task.
        valid_fraction: share of train held out for validation when ``valid`` is absent.
        test_fraction: share of train held out for test when ``test`` is absent.
    """

    tasks: tuple[str, ...]
    name: str | None = None
    train: str | None = None
    valid: str | None = None
    test: str | None = None
    dataset: str | None = None
    dataset_options: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    valid_fraction: float = 0.1
    test_fraction: float = 0.0


@dataclass(frozen=True)
class DataConfig:
    """Where the data comes from and how it is split.

    Args:
        train: training file (CSV, CSV.gz, Parquet, JSONL) or crawl store URL.
        valid: validation file; if absent, ``valid_fraction`` of train (seeded by ``split_seed``).
        test: test file; if absent, ``test_fraction`` of train (0 means no test split).
        dataset: a built-in dataset name instead of files (``manyheads ls datasets``).
        dataset_options: options of the built-in dataset (e.g. ``{sample: true}``).
        valid_fraction: share of train held out for validation when ``valid`` is absent.
        test_fraction: share of train held out for test when ``test`` is absent.
        split_column: a column of ``train`` whose values ``train``/``valid``/``test`` assign rows.
        split_seed: seed of the random split (independent of the training seed).
        sources: several data sources, each with its own tasks (then ``train`` and ``dataset``
            stay empty); see :class:`SourceConfig`.
        sampling: how training examples are drawn across sources: ``proportional`` to their
            sizes, ``uniform`` (each source equally often), or ``temperature``
            (``p_s ∝ n_s^(1/temperature)``, as in MT-DNN and T5 mixing). An epoch is always as
            many examples as all sources' training rows together.
        temperature: the sampling temperature (``temperature`` sampling; 1 = proportional).
        unseen_labels: a class or tag in the validation or test data that the training data
            never had: ``warn`` (a warning naming file, line, column, label and count; those
            rows or tokens count as wrong) or ``error`` (refuse the data).
        group_by: a column naming whose list each row belongs to (e.g. ``user_id``); then
            every binary task is also scored per group: ``gauc``, ``ndcg@k`` and ``recall@k``
            (docs/ranking.md).
        ranking_k: the ``k`` of ``ndcg@k`` and ``recall@k``.
        stream: train from Parquet files without loading them whole
            (:mod:`manyheads.data.streaming`): None (the default) streams a ``train`` that is
            a directory, True streams a single Parquet file too, False reads a directory whole.
        stream_options: ``shuffle_buffer``, ``max_categories`` and ``sample_rows`` of a
            streamed train (:class:`~manyheads.data.streaming.StreamOptions`).
    """

    train: str | None = None
    valid: str | None = None
    test: str | None = None
    dataset: str | None = None
    dataset_options: dict[str, Any] = field(default_factory=dict)
    valid_fraction: float = 0.1
    test_fraction: float = 0.0
    split_column: str | None = None
    split_seed: int = 0
    sources: tuple[SourceConfig, ...] = ()
    sampling: str = "proportional"
    temperature: float = 2.0
    unseen_labels: str = "warn"
    group_by: str | None = None
    ranking_k: int = 10
    stream: bool | None = None
    stream_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelConfig:
    """The architecture and its options (every other key of ``model:``)."""

    architecture: str = "hps"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunConfig:
    """A whole run: data, inputs, tasks, model, training and output directory."""

    data: DataConfig
    tasks: tuple[Task, ...]
    inputs: dict[str, str] | None = None
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainSettings = field(default_factory=TrainSettings)
    method: str = "ew"
    method_options: dict[str, Any] = field(default_factory=dict)
    output: str | None = "runs/example"

    @property
    def weighting(self) -> str:
        """Deprecated since 0.2 (removed in 0.3): the old name of :attr:`method`."""
        renamed_attribute("weighting", "method")
        return self.method

    @property
    def weighting_options(self) -> dict[str, Any]:
        """Deprecated since 0.2 (removed in 0.3): the old name of :attr:`method_options`."""
        renamed_attribute("weighting_options", "method_options")
        return self.method_options

    def to_dict(self) -> dict[str, Any]:
        """The resolved configuration in the YAML layout (written to ``config.yaml``)."""
        data = {k: v for k, v in dataclasses.asdict(self.data).items() if v not in (None, {}, ())}
        if self.data.sources:  # each source is split on its own: no top-level split keys
            for key in ("valid", "test", "valid_fraction", "test_fraction", "split_column"):
                data.pop(key, None)
            data["sources"] = [
                {
                    k: (list(v) if isinstance(v, tuple) else v)
                    for k, v in dataclasses.asdict(src).items()
                    if v not in (None, {}, ())
                }
                for src in self.data.sources
            ]
        train = dataclasses.asdict(self.train)
        train["method"] = self.method
        if self.method_options:
            train["method_options"] = dict(self.method_options)
        tasks = {}
        for t in self.tasks:
            entry = t.to_dict()
            entry.pop("name")
            tasks[t.name] = entry
        out: dict[str, Any] = {"data": data}
        if self.inputs is not None:
            out["inputs"] = dict(self.inputs)
        out["tasks"] = tasks
        out["model"] = {"architecture": self.model.architecture, **self.model.options}
        out["train"] = train
        out["output"] = self.output
        return out
