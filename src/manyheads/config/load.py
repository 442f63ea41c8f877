"""YAML + ``key=value`` overrides -> :class:`RunConfig`, reporting every problem at once.

Precedence: defaults < config file < command-line overrides (later overrides win).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from manyheads._registry import did_you_mean
from manyheads.config._yaml import read_yaml_file, yaml_value
from manyheads.config.schema import SAMPLING, DataConfig, ModelConfig, RunConfig, SourceConfig
from manyheads.config.train import TrainSettings
from manyheads.errors import ConfigError, ManyheadsError
from manyheads.tasks.task import Task

__all__ = ["build_config", "load_config", "parse_overrides", "read_yaml"]

SECTIONS = ("data", "inputs", "tasks", "model", "train", "output")
TASK_KEYS = tuple(f.name for f in dataclasses.fields(Task) if f.name != "name")
TRAIN_EXTRA = ("weighting", "weighting_options")


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping by the package's rules (:mod:`manyheads.config._yaml`); a missing,
    unreadable or non-UTF-8 file, a syntax error or a duplicate key names the file and line."""
    data = read_yaml_file(path)
    if data is None:
        raise ConfigError(
            [
                "the file is empty (or holds only comments): a config needs at least 'data' and "
                "'tasks', e.g. data: {train: train.csv} and tasks: {income: {type: binary}}."
            ],
            source=str(path),
        )
    if not isinstance(data, dict):
        raise ConfigError(
            ["the file must hold a mapping (key: value) at the top level"], source=str(path)
        )
    return data


def parse_overrides(items: list[str]) -> list[tuple[list[str], Any]]:
    """Parse ``a.b=value`` strings; values are YAML (``3``, ``[64, 32]``, ``true``).

    Example:
        >>> parse_overrides(["train.epochs=3", "model.hidden=[8, 4]"])
        [(['train', 'epochs'], 3), (['model', 'hidden'], [8, 4])]
    """
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError([f"override '{item}' must look like key.path=value"])
        out.append((key.split("."), yaml_value(value, override=item) if value else None))
    return out


def apply_overrides(raw: dict[str, Any], overrides: list[tuple[list[str], Any]]) -> None:
    """Set each override's value at its key path, creating mappings on the way."""
    for path, value in overrides:
        node = raw
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[path[-1]] = value


def load_config(
    path: str | Path | None,
    overrides: list[str] | None = None,
    *,
    hardware: bool = True,
    dry_run: bool = False,
) -> RunConfig:
    """Read a config file, apply overrides, validate, and return the typed configuration.

    ``hardware``: refuse a ``train.device`` this machine lacks (off to read a finished run's
    ``config.yaml`` elsewhere, as ``manyheads analyze`` does). ``dry_run``: also build the
    balancing method and the model (:func:`manyheads.config.validate.dry_run`), so that their
    problems are listed with every other one (``manyheads validate``).
    """
    raw = read_yaml(path) if path is not None else {}
    try:
        parsed = parse_overrides(overrides or [])
    except ConfigError as exc:
        raise ConfigError(exc.problems, source=str(path) if path is not None else None) from None
    apply_overrides(raw, parsed)
    source = str(path) if path is not None else None
    return build_config(raw, source=source, hardware=hardware, dry_run=dry_run)


# -- building with all problems collected ------------------------------------------------------
def _type_ok(value: Any, annotation: str) -> bool:
    allowed = [a.strip() for a in str(annotation).split("|")]
    checks: dict[str, Any] = {
        "list": lambda v: isinstance(v, list | tuple),
        "dict": lambda v: isinstance(v, dict),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
        "None": lambda v: v is None,
    }
    return any(checks.get(a.split("[")[0], lambda v: True)(value) for a in allowed)


def _unknown(keys: list[str], valid: list[str], where: str, problems: list[str]) -> None:
    for key in keys:
        if key not in valid:
            problems.append(
                f"unknown key '{where}{key}'.{did_you_mean(str(key), valid)} "
                f"Valid keys: {', '.join(valid)}."
            )


def _typed_fields(
    section: dict[str, Any], cls: type, where: str, problems: list[str]
) -> dict[str, Any]:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out = {}
    for key, value in section.items():
        f = fields.get(key)
        if f is None:
            continue
        if not _type_ok(value, str(f.type)):
            problems.append(
                f"'{where}{key}' must be of type {f.type}; got {value!r} ({type(value).__name__})."
            )
            continue
        out[key] = value
    return out


def _section(raw: dict[str, Any], key: str, problems: list[str]) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        problems.append(f"'{key}' must be a mapping; got {value!r}.")
        return {}
    return value


def build_config(
    raw: dict[str, Any],
    *,
    source: str | None = None,
    hardware: bool = True,
    dry_run: bool = False,
) -> RunConfig:
    """Turn a raw mapping into a :class:`RunConfig`; raise one ConfigError listing all problems."""
    problems: list[str] = []
    _unknown(list(raw), list(SECTIONS), "", problems)
    data = _build_data(_section(raw, "data", problems), problems)
    inputs = _build_inputs(raw.get("inputs"), problems)
    tasks = _build_tasks(
        _section(raw, "tasks", problems), problems, required=data is None or not data.dataset
    )
    if data is not None and data.sources:
        _check_source_tasks(data, tasks, problems)
    model = _build_model(_section(raw, "model", problems), problems)
    train_raw = _section(raw, "train", problems)
    train = _build_train(train_raw, problems, hardware=hardware)
    weighting, weighting_options = _build_weighting(train_raw, problems)
    output = raw.get("output", "runs/example")
    if output is not None and not isinstance(output, str):
        problems.append(f"'output' must be a directory path (string); got {output!r}.")
    _cross_checks(tasks, inputs, train, problems)
    if dry_run and model is not None:
        _dry_run(tasks, inputs, model, weighting, weighting_options, problems)
    if problems:
        raise ConfigError(problems, source=source)
    assert data is not None
    assert model is not None
    assert train is not None
    return RunConfig(
        data=data,
        tasks=tuple(tasks),
        inputs=inputs,
        model=model,
        train=train,
        weighting=weighting,
        weighting_options=weighting_options,
        output=output,
    )


def _build_data(section: dict[str, Any], problems: list[str]) -> DataConfig | None:
    valid = [f.name for f in dataclasses.fields(DataConfig)]
    _unknown(list(section), valid, "data.", problems)
    values = _typed_fields(section, DataConfig, "data.", problems)
    if "dataset_options" in section and not isinstance(section["dataset_options"], dict):
        problems.append("'data.dataset_options' must be a mapping.")
    elif "dataset_options" in section:
        values["dataset_options"] = section["dataset_options"]
    values.pop("sources", None)
    if "sources" in section:
        values["sources"] = _build_sources(section["sources"], problems)
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
    if "split_seed" in values and values["split_seed"] < 0:
        problems.append(f"'data.split_seed' must be an int >= 0; got {values['split_seed']!r}.")
    if "sources" in section:
        if "split_column" in section:
            problems.append(
                "'data.split_column' is not used with 'data.sources' (sources have no split "
                "column): give each source its 'valid'/'test' files or fractions, and remove "
                "'data.split_column'."
            )
        for key in ("valid_fraction", "test_fraction", "valid", "test"):
            if key in section:
                problems.append(
                    f"'data.{key}' is not used with 'data.sources' (each source is split on "
                    f"its own): set '{key}' inside each entry of 'data.sources', and remove "
                    f"'data.{key}'."
                )
    if values.get("dataset"):
        _check_dataset(values["dataset"], "data.dataset", problems)
    for key in ("valid_fraction", "test_fraction"):
        v = values.get(key)
        if v is not None and not 0.0 <= v < 1.0:
            problems.append(f"'data.{key}' must be in [0, 1); got {v!r}.")
    try:
        return DataConfig(**values)
    except TypeError as exc:
        problems.append(f"data: {exc}")
        return None


def _check_dataset(name: str, where: str, problems: list[str]) -> None:
    from manyheads.builtin_datasets import DATASETS

    if name not in DATASETS:
        names = DATASETS.names()
        problems.append(
            f"unknown dataset '{name}' in '{where}'.{did_you_mean(name, names)} "
            f"Valid: {', '.join(names)}."
        )


def _build_sources(value: Any, problems: list[str]) -> tuple[SourceConfig, ...]:
    if not isinstance(value, list) or not value:
        problems.append(
            "'data.sources' must be a non-empty list of mappings, e.g. "
            "[{train: reviews.csv, tasks: [rating]}, {train: ner.jsonl, tasks: [ner]}]."
        )
        return ()
    valid = [f.name for f in dataclasses.fields(SourceConfig)]
    sources = []
    for i, entry in enumerate(value):
        where = f"data.sources[{i}]."
        if not isinstance(entry, dict):
            problems.append(f"'{where[:-1]}' must be a mapping; got {entry!r}.")
            continue
        _unknown(list(entry), valid, where, problems)
        values = _typed_fields(entry, SourceConfig, where, problems)
        for key in ("dataset_options", "columns"):
            if key in entry and not isinstance(entry[key], dict):
                problems.append(f"'{where}{key}' must be a mapping.")
                values.pop(key, None)
        tasks = entry.get("tasks")
        if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
            problems.append(f"'{where}tasks' must be a non-empty list of task names.")
            continue
        values["tasks"] = tuple(tasks)
        if bool(values.get("train")) == bool(values.get("dataset")):
            problems.append(f"'{where}' needs exactly one of 'train' (a file) or 'dataset'.")
            continue
        if values.get("dataset"):
            _check_dataset(values["dataset"], f"{where}dataset", problems)
        for key in ("valid_fraction", "test_fraction"):
            v = values.get(key)
            if v is not None and not 0.0 <= v < 1.0:
                problems.append(f"'{where}{key}' must be in [0, 1); got {v!r}.")
        values.setdefault("name", f"source{i}")
        sources.append(SourceConfig(**values))
    names = [s.name for s in sources]
    dupes = sorted({str(n) for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"source names must be unique in 'data.sources'; repeated: {dupes}.")
    return tuple(sources)


def _build_inputs(value: Any, problems: list[str]) -> dict[str, str] | None:
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


def _build_tasks(section: dict[str, Any], problems: list[str], *, required: bool) -> list[Task]:
    if not section and required:
        problems.append("'tasks' needs at least one task, e.g. tasks: {income: {type: binary}}.")
    tasks = []
    for name, spec in section.items():
        if not isinstance(spec, dict):
            problems.append(f"'tasks.{name}' must be a mapping with at least 'type'.")
            continue
        _unknown(list(spec), list(TASK_KEYS), f"tasks.{name}.", problems)
        if "type" not in spec:
            from manyheads.tasks import list_task_types

            problems.append(f"'tasks.{name}.type' is required ({' | '.join(list_task_types())}).")
            continue
        kwargs = {k: v for k, v in spec.items() if k in TASK_KEYS}
        for key in ("columns", "metrics"):
            if key in kwargs and isinstance(kwargs[key], list):
                kwargs[key] = tuple(kwargs[key])
        weight = kwargs.get("weight")
        if (
            isinstance(weight, int | float)
            and not isinstance(weight, bool)
            and not (math.isfinite(weight) and weight >= 0)
        ):
            problems.append(f"'tasks.{name}.weight' must be a finite number >= 0. Got {weight!r}.")
            continue
        try:
            tasks.append(Task(str(name), **kwargs))
        except ManyheadsError as exc:
            problems.append(f"tasks.{name}: {exc}")
        except TypeError as exc:
            problems.append(f"tasks.{name}: {exc}")
    return tasks


def _build_model(section: dict[str, Any], problems: list[str]) -> ModelConfig | None:
    """Options are checked against every architecture's options, so one config can serve a
    ``compare`` over several architectures; each run uses the options its architecture takes."""
    from manyheads.architectures._registry import ARCHITECTURES, architecture_options

    arch = section.get("architecture", "hps")
    if arch not in ARCHITECTURES:
        names = ARCHITECTURES.names()
        problems.append(
            f"unknown architecture '{arch}' in 'model.architecture'."
            f"{did_you_mean(str(arch), names)} Valid: {', '.join(names)}."
        )
        return None
    options = {k: v for k, v in section.items() if k != "architecture"}
    known: dict[str, Any] = {}
    for name in ARCHITECTURES.names():
        for key, option in architecture_options(name).items():
            known.setdefault(key, option)
    own = architecture_options(arch)
    _unknown(list(options), sorted(known), "model.", problems)
    for key, value in options.items():
        param: Any = own.get(key, known.get(key))
        if param is None:
            continue
        annotation = str(param.annotation)
        for generic, plain in (
            ("Sequence[int]", "list"),
            ("Sequence[str]", "list"),
            ("dict[str, str]", "dict"),
            ("tuple[str, ...]", "list"),
        ):
            annotation = annotation.replace(generic, plain)
        if not _type_ok(value, annotation):
            problems.append(f"'model.{key}' must be of type {param.annotation}; got {value!r}.")
            continue
        message = _model_range(key, str(param.annotation), value)
        if message is not None:
            problems.append(f"'model.{key}' {message}")
    return ModelConfig(architecture=arch, options=options)


#: The largest layer width, expert count or embedding size a config may ask for: a 16384 x 16384
#: layer alone holds 268 M weights (1 GiB in float32); a larger value is a typo (``1e12``).
MAX_WIDTH = 16384


def _model_range(key: str, annotation: str, value: Any) -> str | None:
    """``"must be ... Got ..."`` for a model option outside its range, else None (ranges in
    docs/config.md; the architecture checks the rest when it is built)."""
    if annotation.startswith("Sequence[int]") and isinstance(value, list | tuple):
        for i, width in enumerate(value):
            if not (isinstance(width, int) and not isinstance(width, bool)) or not (
                1 <= width <= MAX_WIDTH
            ):
                return (
                    f"must be a list of ints in [1, {MAX_WIDTH}] (layer widths). "
                    f"Got {width!r} at position {i}."
                )
    elif annotation == "int" and not isinstance(value, bool) and isinstance(value, int):
        if not 0 <= value <= MAX_WIDTH:
            return f"must be an int in [0, {MAX_WIDTH}]. Got {value!r}."
    elif annotation == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            return f"must be a finite number. Got {value!r}."
        if key == "dropout" and not 0.0 <= value < 1.0:
            return f"must be a number in [0, 1) (the share of units dropped). Got {value!r}."
        if key != "dropout" and value < 0:
            return f"must be a finite number >= 0. Got {value!r}."
    return None


def _build_train(
    section: dict[str, Any], problems: list[str], *, hardware: bool
) -> TrainSettings | None:
    valid = [f.name for f in dataclasses.fields(TrainSettings)] + list(TRAIN_EXTRA)
    _unknown(list(section), valid, "train.", problems)
    values = _typed_fields(section, TrainSettings, "train.", problems)
    found = TrainSettings.check(values, hardware=hardware)
    problems.extend(f"'train.{key}' {message}" for key, message in found)
    if found:
        return None
    return TrainSettings(**values)


def _build_weighting(section: dict[str, Any], problems: list[str]) -> tuple[str, dict[str, Any]]:
    from manyheads.weighting._registry import WEIGHTINGS

    name = section.get("weighting", "ew")
    if name not in WEIGHTINGS:
        names = WEIGHTINGS.names()
        problems.append(
            f"unknown weighting '{name}' in 'train.weighting'."
            f"{did_you_mean(str(name), names)} Valid: {', '.join(names)}."
        )
    options = section.get("weighting_options") or {}
    if not isinstance(options, dict):
        problems.append("'train.weighting_options' must be a mapping.")
        options = {}
    return str(name), options


def _dry_run(
    tasks: list[Task],
    inputs: dict[str, str] | None,
    model: ModelConfig,
    weighting: str,
    weighting_options: dict[str, Any],
    problems: list[str],
) -> None:
    """The dry run's problems, added to the others (the sections it builds from are valid
    enough: the data and training settings play no part in it)."""
    from manyheads.config.validate import dry_run
    from manyheads.data.preprocess import INPUT_KINDS
    from manyheads.weighting._registry import WEIGHTINGS

    if weighting not in WEIGHTINGS:
        weighting, weighting_options = "ew", {}  # already reported
    if inputs is not None and any(kind not in INPUT_KINDS for kind in inputs.values()):
        inputs = None  # already reported
    reported = {k for k in model.options if any(f"model.{k}'" in p for p in problems)}
    options = {k: v for k, v in model.options.items() if k not in reported}
    config = RunConfig(
        data=DataConfig(train="-"),
        tasks=tuple(tasks),
        inputs=inputs,
        model=ModelConfig(model.architecture, options),
        weighting=weighting,
        weighting_options=weighting_options,
    )
    problems.extend(dry_run(config))


def _check_source_tasks(data: DataConfig, tasks: list[Task], problems: list[str]) -> None:
    names = [t.name for t in tasks]
    claimed: set[str] = set()
    for i, src in enumerate(data.sources):
        for task in src.tasks:
            claimed.add(task)
            if task not in names:
                problems.append(
                    f"'data.sources[{i}].tasks' names unknown task '{task}'."
                    f"{did_you_mean(task, names)} Tasks: {', '.join(names)}."
                )
    for name in names:
        if name not in claimed:
            problems.append(
                f"task '{name}' is in no source: add it to the 'tasks' of the source that holds "
                "its labels."
            )


def _cross_checks(
    tasks: list[Task],
    inputs: dict[str, str] | None,
    train: TrainSettings | None,
    problems: list[str],
) -> None:
    if inputs:
        for t in tasks:
            for col in t.label_columns:
                if col in inputs:
                    problems.append(
                        f"column '{col}' is the label of task '{t.name}' and also "
                        "an input: remove it from 'inputs' (that would leak the label)."
                    )
    if train is not None and train.monitor != "loss" and tasks:
        task_name, _, metric = train.monitor.partition(".")
        names = [t.name for t in tasks]
        if task_name not in names:
            problems.append(
                f"'train.monitor' names unknown task '{task_name}'. Use 'loss' or "
                f"TASK.METRIC with a task of: {', '.join(names)}."
            )
        else:
            from manyheads.tasks import get_kind

            task = tasks[names.index(task_name)]
            metrics = list(get_kind(task.type).metric_directions)
            if metric not in metrics:
                problems.append(
                    f"'train.monitor' metric '{metric}' is not a metric of "
                    f"{task.type} task '{task_name}'. Valid: {', '.join(metrics)}."
                )
