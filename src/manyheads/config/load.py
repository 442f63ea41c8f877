"""YAML + ``key=value`` overrides -> :class:`RunConfig`, reporting every problem at once.

Precedence: defaults < config file < command-line overrides (later overrides win).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from manyheads.config._checks import cross_problems, source_task_problems
from manyheads.config._fields import section, unknown_keys
from manyheads.config._model import build_model_config
from manyheads.config._renamed import renamed_train_keys
from manyheads.config._sections import (
    build_data,
    build_inputs,
    build_method,
    build_tasks,
    build_train,
)
from manyheads.config._yaml import read_yaml_file, yaml_value
from manyheads.config.schema import DataConfig, ModelConfig, RunConfig
from manyheads.config.train import TrainSettings
from manyheads.errors import ConfigError

if TYPE_CHECKING:
    from manyheads.tasks.task import Task

__all__ = ["build_config", "load_config", "parse_overrides", "read_yaml"]

#: ``compare`` holds the settings of ``manyheads compare`` only (``task_weights``), read by
#: :mod:`manyheads.cli.compare`; every other verb ignores it.
SECTIONS = ("data", "inputs", "tasks", "model", "train", "output", "compare")


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
    saved_run: bool = False,
) -> RunConfig:
    """Read a config file, apply overrides, validate, and return the typed configuration.

    ``hardware``: refuse a ``train.device`` this machine lacks (off to read a finished run's
    ``config.yaml`` elsewhere, as ``manyheads analyze`` does). ``dry_run``: also build the
    balancing method and the model (:func:`manyheads.config.validate.dry_run`), so that their
    problems are listed with every other one (``manyheads validate``). ``saved_run``: the file
    is a run's ``config.yaml`` that manyheads wrote, read without warning about the key names
    it used before a rename (:mod:`manyheads.config._renamed`).
    """
    raw = read_yaml(path) if path is not None else {}
    try:
        parsed = parse_overrides(overrides or [])
    except ConfigError as exc:
        raise ConfigError(exc.problems, source=str(path) if path is not None else None) from None
    apply_overrides(raw, parsed)
    source = str(path) if path is not None else None
    return build_config(raw, source=source, hardware=hardware, dry_run=dry_run, saved_run=saved_run)


def build_config(
    raw: dict[str, Any],
    *,
    source: str | None = None,
    hardware: bool = True,
    dry_run: bool = False,
    saved_run: bool = False,
) -> RunConfig:
    """Turn a raw mapping into a :class:`RunConfig`; raise one ConfigError listing all problems."""
    problems: list[str] = []
    unknown_keys(list(raw), list(SECTIONS), "", problems)
    data = build_data(section(raw, "data", problems), problems)
    inputs = build_inputs(raw.get("inputs"), problems)
    tasks = build_tasks(
        section(raw, "tasks", problems), problems, required=data is None or not data.dataset
    )
    if data is not None and data.sources:
        problems.extend(source_task_problems(data, tasks))
    model = build_model_config(section(raw, "model", problems), problems)
    raw = renamed_train_keys(raw, problems, warn=not saved_run)
    train_raw = section(raw, "train", problems)
    train = build_train(train_raw, problems, hardware=hardware)
    method, method_options = build_method(train_raw, problems)
    output = raw.get("output", "runs/example")
    if output is not None and not isinstance(output, str):
        problems.append(f"'output' must be a directory path (string); got {output!r}.")
    problems.extend(cross_problems(tasks, inputs, train.monitor if train is not None else None))
    if dry_run and model is not None:
        _dry_run(tasks, inputs, model, (method, method_options), train, problems)
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
        method=method,
        method_options=method_options,
        output=output,
    )


def _dry_run(
    tasks: list[Task],
    inputs: dict[str, str] | None,
    model: ModelConfig,
    balancing: tuple[str, dict[str, Any]],
    train: TrainSettings | None,
    problems: list[str],
) -> None:
    """The dry run's problems, added to the others (the sections it builds from are valid
    enough: the data play no part in it, the training settings only through
    ``train.compile``, which needs a loss weighting)."""
    from manyheads._catalogue import METHODS
    from manyheads.config.validate import dry_run
    from manyheads.data.preprocess import INPUT_KINDS

    method, method_options = balancing
    if method not in METHODS:
        method, method_options = "ew", {}  # already reported
    if inputs is not None and any(kind not in INPUT_KINDS for kind in inputs.values()):
        inputs = None  # already reported
    reported = {k for k in model.options if any(f"model.{k}'" in p for p in problems)}
    options = {k: v for k, v in model.options.items() if k not in reported}
    config = RunConfig(
        data=DataConfig(train="-"),
        tasks=tuple(tasks),
        inputs=inputs,
        model=ModelConfig(model.architecture, options),
        train=train if train is not None else TrainSettings(),
        method=method,
        method_options=method_options,
    )
    problems.extend(dry_run(config))
