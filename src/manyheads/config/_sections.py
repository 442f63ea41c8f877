"""One builder per config section (``data``, ``inputs``, ``tasks``, ``train``), each adding
its problems to a shared list so that :func:`~manyheads.config.load.build_config` reports every
problem at once. The keys are documented in ``docs/config.md``; ``model`` is read by
:mod:`manyheads.config._model`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from manyheads._registry import did_you_mean
from manyheads.config._fields import known_name, typed_fields, unknown_keys
from manyheads.config.schema import SAMPLING, DataConfig, SourceConfig
from manyheads.config.train import TrainSettings
from manyheads.errors import ManyheadsError

if TYPE_CHECKING:
    from manyheads.tasks.task import Task

__all__ = [
    "build_data",
    "build_inputs",
    "build_method",
    "build_tasks",
    "build_train",
    "task_keys",
]

#: The keys of ``train:`` that are not settings: the balancing method and its options.
TRAIN_EXTRA = ("method", "method_options")


def task_keys() -> list[str]:
    """The keys of a task's entry under ``tasks:`` (the :class:`Task` fields but its name; read
    when a task is built, so that reading a config does not import the task types)."""
    from manyheads.tasks.task import Task

    return [f.name for f in dataclasses.fields(Task) if f.name != "name"]


def _mapping_option(
    entry: dict[str, Any], values: dict[str, Any], key: str, where: str, problems: list[str]
) -> None:
    """Take ``entry[key]`` into ``values`` if it is a mapping; a problem if it is not."""
    if key not in entry:
        return
    if isinstance(entry[key], dict):
        values[key] = entry[key]
    else:
        problems.append(f"'{where}{key}' must be a mapping.")
        values.pop(key, None)


def _fraction_problems(values: dict[str, Any], where: str, problems: list[str]) -> None:
    for key in ("valid_fraction", "test_fraction"):
        v = values.get(key)
        if v is not None and not 0.0 <= v < 1.0:
            problems.append(f"'{where}{key}' must be in [0, 1); got {v!r}.")


def check_dataset(name: str, where: str, problems: list[str]) -> None:
    """A problem if ``name`` is not a built-in dataset (with the closest name)."""
    from manyheads.builtin_datasets import DATASETS

    known_name(DATASETS, "dataset", name, where, problems)


def build_data(section: dict[str, Any], problems: list[str]) -> DataConfig | None:
    """The ``data`` section: files, a built-in dataset, or several sources, and the split."""
    valid = [f.name for f in dataclasses.fields(DataConfig)]
    unknown_keys(list(section), valid, "data.", problems)
    values = typed_fields(section, DataConfig, "data.", problems, own=frozenset({"sources"}))
    _mapping_option(section, values, "dataset_options", "data.", problems)
    _mapping_option(section, values, "stream_options", "data.", problems)
    if "sources" in section:
        values["sources"] = _build_sources(section["sources"], problems)
    _stream_problems(values, problems)
    _where_problems(section, values, problems)
    _sampling_problems(values, problems)
    if "sources" in section:
        _per_source_keys(section, problems)
    if values.get("dataset"):
        check_dataset(values["dataset"], "data.dataset", problems)
    _fraction_problems(values, "data.", problems)
    try:
        return DataConfig(**values)
    except TypeError as exc:
        problems.append(f"data: {exc}")
        return None


def _stream_problems(values: dict[str, Any], problems: list[str]) -> None:
    """``data.stream_options`` keys and values; streaming needs ``data.train`` files."""
    from manyheads.data.streaming import stream_options
    from manyheads.errors import InvalidParameterError

    try:
        stream_options(values.get("stream_options", {}))
    except InvalidParameterError as exc:
        problems.append(str(exc))
    if values.get("stream") and (values.get("dataset") or values.get("sources")):
        problems.append(
            "'data.stream' streams the Parquet files of 'data.train'; it is not used with "
            "'data.dataset' or 'data.sources'. Remove 'data.stream' or give 'data.train'."
        )
    if values.get("stream") and values.get("split_column"):
        problems.append(
            "'data.split_column' is not used with a streamed train (data.stream): give "
            "'data.valid'/'data.test' files, or the fractions held out by row."
        )


def _where_problems(section: dict[str, Any], values: dict[str, Any], problems: list[str]) -> None:
    """Exactly one of ``train``/``dataset`` or ``sources`` says where the data is."""
    if "sources" in section:
        if values.get("train") or values.get("dataset"):
            problems.append(
                "'data.sources' replaces 'data.train'/'data.dataset': give the files of each "
                "source inside its entry, and remove 'data.train'/'data.dataset'."
            )
    elif not values.get("train") and not values.get("dataset"):
        problems.append(
            "'data.train' (a file), 'data.dataset' (a built-in dataset) or 'data.sources' "
            "(several sources) is required."
        )


def _sampling_problems(values: dict[str, Any], problems: list[str]) -> None:
    if values.get("sampling", "proportional") not in SAMPLING:
        problems.append(
            f"'data.sampling' must be one of {', '.join(SAMPLING)}; got {values['sampling']!r}."
            f"{did_you_mean(str(values['sampling']), list(SAMPLING))}"
        )
    if values.get("unseen_labels", "warn") not in ("warn", "error"):
        problems.append(
            f"'data.unseen_labels' must be warn or error; got {values['unseen_labels']!r}."
        )
    if "temperature" in values and not (
        values["temperature"] > 0 and math.isfinite(values["temperature"])
    ):
        problems.append(
            f"'data.temperature' must be a finite number > 0; got {values['temperature']!r}."
        )
    if "ranking_k" in values and values["ranking_k"] < 1:
        problems.append(f"'data.ranking_k' must be an int >= 1; got {values['ranking_k']!r}.")
    if "split_seed" in values and values["split_seed"] < 0:
        problems.append(f"'data.split_seed' must be an int >= 0; got {values['split_seed']!r}.")


def _per_source_keys(section: dict[str, Any], problems: list[str]) -> None:
    """The split keys that each source sets for itself, refused at the top of ``data``."""
    if "split_column" in section:
        problems.append(
            "'data.split_column' is not used with 'data.sources' (sources have no split "
            "column): give each source its 'valid'/'test' files or fractions, and remove "
            "'data.split_column'."
        )
    if "group_by" in section:
        problems.append(
            "'data.group_by' is not used with 'data.sources' (ranking metrics are computed on "
            "one table): remove 'data.group_by', or train on one table."
        )
    for key in ("valid_fraction", "test_fraction", "valid", "test"):
        if key in section:
            problems.append(
                f"'data.{key}' is not used with 'data.sources' (each source is split on "
                f"its own): set '{key}' inside each entry of 'data.sources', and remove "
                f"'data.{key}'."
            )


def _build_sources(value: object, problems: list[str]) -> tuple[SourceConfig, ...]:
    if not isinstance(value, list) or not value:
        problems.append(
            "'data.sources' must be a non-empty list of mappings, e.g. "
            "[{train: reviews.csv, tasks: [rating]}, {train: ner.jsonl, tasks: [ner]}]."
        )
        return ()
    sources = [s for i, e in enumerate(value) if (s := _build_source(i, e, problems))]
    names = [s.name for s in sources]
    dupes = sorted({str(n) for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"source names must be unique in 'data.sources'; repeated: {dupes}.")
    return tuple(sources)


def _build_source(i: int, entry: object, problems: list[str]) -> SourceConfig | None:
    """Entry ``i`` of ``data.sources``, or None (its problems added)."""
    where = f"data.sources[{i}]."
    if not isinstance(entry, dict):
        problems.append(f"'{where[:-1]}' must be a mapping; got {entry!r}.")
        return None
    unknown_keys(list(entry), [f.name for f in dataclasses.fields(SourceConfig)], where, problems)
    values = typed_fields(entry, SourceConfig, where, problems, own=frozenset({"tasks"}))
    for key in ("dataset_options", "columns"):
        _mapping_option(entry, values, key, where, problems)
    tasks = entry.get("tasks")
    if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
        problems.append(f"'{where}tasks' must be a non-empty list of task names.")
        return None
    values["tasks"] = tuple(tasks)
    if bool(values.get("train")) == bool(values.get("dataset")):
        problems.append(f"'{where}' needs exactly one of 'train' (a file) or 'dataset'.")
        return None
    if values.get("dataset"):
        check_dataset(values["dataset"], f"{where}dataset", problems)
    _fraction_problems(values, where, problems)
    values.setdefault("name", f"source{i}")
    return SourceConfig(**values)


def build_inputs(value: object, problems: list[str]) -> dict[str, str] | None:
    """The ``inputs`` section: column -> input kind, or None (inferred from the data)."""
    from manyheads.data.preprocess import INPUT_KINDS

    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append("'inputs' must map column names to numeric | categorical | text.")
        return None
    for col, kind in value.items():
        if kind not in INPUT_KINDS:
            problems.append(
                f"'inputs.{col}' must be one of {', '.join(INPUT_KINDS)}; got "
                f"{kind!r}.{did_you_mean(str(kind), list(INPUT_KINDS))}"
            )
    return {str(k): str(v) for k, v in value.items()}


def build_tasks(section: dict[str, Any], problems: list[str], *, required: bool) -> list[Task]:
    """The ``tasks`` section: one :class:`Task` per entry (required unless a dataset has them)."""
    if not section and required:
        problems.append("'tasks' needs at least one task, e.g. tasks: {income: {type: binary}}.")
    return [t for name, spec in section.items() if (t := _build_task(name, spec, problems))]


def _build_task(name: str, spec: object, problems: list[str]) -> Task | None:
    if not isinstance(spec, dict):
        problems.append(f"'tasks.{name}' must be a mapping with at least 'type'.")
        return None
    from manyheads.tasks.task import Task

    keys = task_keys()
    unknown_keys(list(spec), keys, f"tasks.{name}.", problems)
    if "type" not in spec:
        from manyheads.tasks import list_task_types

        problems.append(f"'tasks.{name}.type' is required ({' | '.join(list_task_types())}).")
        return None
    kwargs: dict[str, Any] = {
        k: tuple(v) if k in ("columns", "metrics") and isinstance(v, list) else v
        for k, v in spec.items()
        if k in keys
    }
    weight = kwargs.get("weight")
    if (
        isinstance(weight, int | float)
        and not isinstance(weight, bool)
        and not (math.isfinite(weight) and weight >= 0)
    ):
        problems.append(f"'tasks.{name}.weight' must be a finite number >= 0. Got {weight!r}.")
        return None
    try:
        return Task(str(name), **kwargs)
    except (ManyheadsError, TypeError) as exc:
        problems.append(f"tasks.{name}: {exc}")
        return None


def build_train(
    section: dict[str, Any], problems: list[str], *, hardware: bool
) -> TrainSettings | None:
    """The ``train`` section's settings (the balancing method: :func:`build_method`)."""
    valid = [f.name for f in dataclasses.fields(TrainSettings)] + list(TRAIN_EXTRA)
    unknown_keys(list(section), valid, "train.", problems)
    values = typed_fields(section, TrainSettings, "train.", problems)
    found = TrainSettings.check(values, hardware=hardware)
    problems.extend(f"'train.{key}' {message}" for key, message in found)
    if found:
        return None
    return TrainSettings(**values)


def build_method(section: dict[str, Any], problems: list[str]) -> tuple[str, dict[str, Any]]:
    """The balancing method named in ``train.method`` and its ``method_options``."""
    from manyheads._catalogue import METHODS

    name = section.get("method", "ew")
    known_name(METHODS, "method", name, "train.method", problems)
    options = section.get("method_options") or {}
    if not isinstance(options, dict):
        problems.append("'train.method_options' must be a mapping.")
        options = {}
    return str(name), options
