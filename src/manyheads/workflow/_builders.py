"""Builders: a :class:`RunConfig` -> the objects a run trains (config -> schema -> builders).

Shared by :func:`~manyheads.workflow._fit.train_config` (and so ``fit`` and ``manyheads
train``), ``manyheads validate`` (:mod:`manyheads.config.validate`) and ``compare``, so that each
decision is written once: which inputs a run reads, which model options an architecture takes,
the ``static`` weights taken from the tasks, and the defaults left open in ``train``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from manyheads._methods import Method, create_method
from manyheads.architectures.base import MTLModel
from manyheads.config._checks import leaked_labels, monitor_problem
from manyheads.config.schema import RunConfig
from manyheads.config.train import TrainSettings
from manyheads.data.preprocess import TablePreprocessor
from manyheads.data.tensors import EncodedTable
from manyheads.errors import InvalidParameterError
from manyheads.tasks._registry import get_task_type
from manyheads.tasks.task import Task
from manyheads.workflow._inferred import infer_inputs, resolve_inputs, skipped_inputs

__all__ = [
    "NO_POSITION_LIMIT",
    "Log",
    "architecture_name",
    "build_method",
    "build_model",
    "build_preprocessor",
    "check_monitor_name",
    "check_tasks",
    "infer_inputs",
    "model_options",
    "resolve_defaults",
    "resolve_inputs",
    "select_options",
    "skipped_inputs",
    "static_weights",
    "text_settings",
    "train_settings_of",
]

#: Where a run says what it decided (``print``, the CLI's logger, or nothing).
Log = Callable[[str], None]

#: Sequence encoders without a position limit: their default ``max_length`` is fitted to the
#: training rows (:func:`~manyheads.data.sequence.fitted_max_length`) instead of 128 pieces.
NO_POSITION_LIMIT = ("bilstm", "cnn")


def check_tasks(tasks: Sequence[Task], inputs: dict[str, str] | None) -> None:
    """Refuse no task, a repeated task name, and a label column that is also an input."""
    names = [t.name for t in tasks]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidParameterError(
            f"Duplicate task name(s) {dupes}: each task needs its own name."
        )
    if not tasks:
        raise InvalidParameterError("At least one task is required.")
    leaked = leaked_labels(tasks, inputs)
    if leaked:
        col, task = leaked[0]
        raise InvalidParameterError(
            f"Column '{col}' is the label of task '{task}' and also an input: remove "
            "it from the inputs (that would leak the label)."
        )


def check_monitor_name(config: RunConfig) -> None:
    """Refuse a ``train.monitor`` that names no task's metric (:func:`monitor_problem`)."""
    if monitor_problem(config.tasks, config.train.monitor) is not None:
        raise InvalidParameterError(
            f"The 'monitor' setting must be 'loss' or TASK.METRIC with one of the tasks "
            f"{sorted(t.name for t in config.tasks)} and one of its metrics. "
            f"Got {config.train.monitor!r}."
        )


def resolve_defaults(config: RunConfig, say: Log, *, n_train: int | None = None) -> RunConfig:
    """Fill in the ``batch_size`` and ``lr`` left open, to suit the tasks, the encoder and the
    table's size (``n_train`` training rows; None when not known up front): sentences and a
    faster rate for tagging on an encoder trained from scratch, smaller batches on a small
    table (:func:`~manyheads.config.train.default_row_batch`)."""
    from manyheads.config.train import (
        DEFAULT_BATCH_SIZES,
        DEFAULT_LR,
        DEFAULT_TAGGING_LR,
        MIN_STEPS_PER_EPOCH,
        default_row_batch,
    )

    token = any(get_task_type(t.type).level == "token" for t in config.tasks)
    encoder = config.model.options.get("encoder", "tabular")
    changes: dict[str, Any] = {}
    if config.train.batch_size is None and token:
        changes["batch_size"] = DEFAULT_BATCH_SIZES["token"]
        say(
            f"batch_size {changes['batch_size']} sentences (the default for tagging tasks; "
            "set train.batch_size, or train.batch_by: tokens for batches of about as many "
            "tokens)"
        )
    elif config.train.batch_size is None:
        changes["batch_size"] = default_row_batch(n_train)
        if changes["batch_size"] < DEFAULT_BATCH_SIZES["row"]:
            say(
                f"batch_size {changes['batch_size']} rows (the default for {n_train:,} training "
                f"rows: at least {MIN_STEPS_PER_EPOCH} steps an epoch; set train.batch_size to "
                "choose)"
            )
    if config.train.lr is None:
        scratch = token and encoder in NO_POSITION_LIMIT
        changes["lr"] = DEFAULT_TAGGING_LR if scratch else DEFAULT_LR
        if scratch:
            say(f"lr {changes['lr']:g} (the default for tagging on a {encoder} encoder)")
    if not changes:
        return config
    return dataclasses.replace(config, train=dataclasses.replace(config.train, **changes))


def select_options(architecture: str, options: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``options`` that ``architecture`` takes (one config serves several)."""
    from manyheads.architectures._registry import architecture_options

    valid = architecture_options(architecture)
    return {k: v for k, v in options.items() if k in valid}


def model_options(config: RunConfig, say: Log | None = None) -> dict[str, Any]:
    """The model options the run's architecture takes (saying which it ignores), with
    ``kinds`` filled from the tasks for an architecture that takes them."""
    from manyheads.architectures._registry import architecture_options

    options = select_options(config.model.architecture, config.model.options)
    ignored = sorted(set(config.model.options) - set(options))
    if ignored and say is not None:
        say(f"model options not used by '{config.model.architecture}': {', '.join(ignored)}")
    valid = architecture_options(config.model.architecture)
    if "kinds" in valid and "kinds" not in options:
        options["kinds"] = {t.name: t.type for t in config.tasks}
    if "wide" in valid and options.get("wide", True) is not False and _reads_text_bags(config):
        options |= {k: v for k, v in WIDE_DEFAULTS.items() if k not in options}
    return options


#: The wide path's options on a table with text columns read as bags, where the config leaves
#: them open and does not set ``wide: false`` (measured in ``docs/benchmarks.md``, "Issue 17: a
#: wide TF-IDF path beside the deep heads": a rate of 0.01 lifted movies further but made loans
#: worse, so the rate is the task layers'); without text columns no option is added, so such
#: runs are as before.
WIDE_DEFAULTS: dict[str, Any] = {"wide": True, "wide_decay": 0.0, "wide_lr": None}


def _reads_text_bags(config: RunConfig) -> bool:
    """Whether the run's encoder reads ``text`` inputs as bags of ids (the table encoders)."""
    from manyheads.encoders._registry import text_options

    has_text = any(kind == "text" for kind in (config.inputs or {}).values())
    if not has_text:
        return False
    encoder = str(config.model.options.get("encoder", "tabular"))
    options = config.model.options.get("encoder_options")
    return bool(text_options(encoder, options).get("mode", "bag") == "bag")


def fit_encoder_options(options: dict[str, Any], train: EncodedTable) -> dict[str, Any]:
    """``options`` with what the chosen encoder learns from the TRAIN split joined to its
    ``encoder_options``: an encoder class may define ``fitted_options(encoder_options, num)``
    (the tabular encoders' ``scaling_values`` of a ``numeric_scaling``, ``tabular_embed``'s
    ``ple`` bin edges: quantiles of the encoded numeric inputs). Being
    options, they are saved with the run, so a loaded bundle rebuilds the same encoder without
    refitting (the hook returns nothing when they are already there)."""
    from manyheads._catalogue import ENCODERS

    name = str(options.get("encoder", "tabular"))
    hook = getattr(ENCODERS.get(name), "fitted_options", None) if name in ENCODERS else None
    num = train.x.get("num")
    if not callable(hook) or num is None:
        return options
    chosen = dict(options.get("encoder_options") or {})
    learnt: dict[str, Any] = hook(chosen, num)
    return {**options, "encoder_options": {**chosen, **learnt}} if learnt else options


def static_weights(config: RunConfig, n_tasks: int) -> dict[str, Any]:
    """``{"weights": ...}`` from the tasks' ``weight`` for ``static`` without its own weights
    (1 each when the tasks come from a built-in dataset not yet loaded), else ``{}``."""
    if config.method != "static" or "weights" in config.method_options:
        return {}
    return {"weights": [t.weight for t in config.tasks] if config.tasks else [1.0] * n_tasks}


def build_method(config: RunConfig) -> Method:
    """The balancing method of ``train.method`` with its options.

    Raises:
        InvalidParameterError: an option is invalid, or ``train.compile`` is set and the
            method cannot run in a compiled step (:mod:`manyheads.engine._compile`).
    """
    n_tasks = len(config.tasks)
    options = {**config.method_options, **static_weights(config, n_tasks)}
    method = create_method(config.method, n_tasks, **options)
    if config.train.compile:  # refused here, before any data is read or anything written
        from manyheads.engine._compile import compile_problem

        problem = compile_problem(method, config.train.resolve_device())
        if problem is not None:
            raise InvalidParameterError(problem)
    return method


def build_preprocessor(config: RunConfig, text: dict[str, Any]) -> TablePreprocessor:
    """The unfitted input and label encoding of the run's (resolved) inputs and tasks."""
    assert config.inputs is not None
    return TablePreprocessor(
        config.inputs,
        list(config.tasks),
        text_options=text,
        unseen_labels=config.data.unseen_labels,
    )


def text_settings(config: RunConfig) -> dict[str, Any]:
    """The text encoding options of the run's encoder; an encoder without a position limit
    gets its ``max_length`` fitted on the training rows (:mod:`manyheads.data.sequence`)."""
    from manyheads.encoders._registry import text_options

    encoder = config.model.options.get("encoder", "tabular")
    text = text_options(str(encoder), config.model.options.get("encoder_options"))
    if encoder in NO_POSITION_LIMIT and text.get("mode") == "sequence":
        text.setdefault("max_length", None)
    return text


def build_model(config: RunConfig, pre: TablePreprocessor, options: dict[str, Any]) -> MTLModel:
    """The architecture for the fitted inputs and tasks of ``pre`` (options from
    :func:`model_options`)."""
    from manyheads.architectures._registry import build_model as create

    return create(config.model.architecture, pre.spec, pre.fitted(config.tasks), options)


def architecture_name(architecture: str | type[MTLModel]) -> str:
    """The registered name of ``architecture`` (a name, or a registered class)."""
    if isinstance(architecture, str):
        return architecture
    from manyheads.architectures._registry import ARCHITECTURES

    for name in ARCHITECTURES.names():
        if ARCHITECTURES.get(name) is architecture:
            return name
    raise InvalidParameterError(
        f"The architecture class {architecture.__name__} is not registered. Register it with "
        "manyheads.architectures.ARCHITECTURES.register(name, cls) so that saved models can be "
        "loaded again, then pass the class or its name."
    )


def train_settings_of(settings: dict[str, Any]) -> TrainSettings:
    """The :class:`TrainSettings` of :func:`~manyheads.fit`'s keyword arguments; an unknown
    one is refused with the closest setting and the valid ones."""
    fields = {f.name for f in dataclasses.fields(TrainSettings)}
    unknown = [k for k in settings if k not in fields]
    if unknown:
        from manyheads._registry import did_you_mean

        raise InvalidParameterError(
            f"Unknown training setting(s) {unknown} for fit()."
            f"{did_you_mean(unknown[0], sorted(fields))} "
            f"Valid: {', '.join(sorted(fields))}."
        )
    return TrainSettings(**settings)
