"""The Python API a notebook user reaches for first: :func:`fit`, :class:`Run`, :func:`load`.

The CLI is a thin layer over :func:`train_config`, which :func:`fit` shares: config -> checks ->
builders (``_builders``) -> encoded data (``_encoding``) -> training (``_training``) -> a
:class:`Run` and its :class:`RunMetrics` (``_run``), written by ``_output``. How a run treats its
folder and the hook of a workflow built on :func:`run_config` are ``_run_options``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from manyheads.architectures.base import MTLModel
from manyheads.config._renamed import renamed_fit_keywords
from manyheads.config.schema import DataConfig, ModelConfig, RunConfig
from manyheads.distributed._ddp import is_writer
from manyheads.engine import TrainInputs, check_monitor
from manyheads.tasks.task import Task
from manyheads.workflow._builders import (
    Log,
    architecture_name,
    build_method,
    build_model,
    check_monitor_name,
    check_tasks,
    fit_encoder_options,
    model_options,
    resolve_defaults,
    resolve_inputs,
    train_settings_of,
)
from manyheads.workflow._encoding import Encoded, encoded_splits, say_fitted_lengths
from manyheads.workflow._label_rates import start_at_label_rates
from manyheads.workflow._output import check_run_output, write_run
from manyheads.workflow._ranking import add_ranking_metrics, check_group_column
from manyheads.workflow._run import Data, Run, RunMetrics, as_frame, json_safe, load
from manyheads.workflow._run_options import RunOptions, TrainHook
from manyheads.workflow._scores import final_metrics
from manyheads.workflow._splits import Splits, load_splits
from manyheads.workflow._training import train_run
from manyheads.workflow._tuning import tune_on_valid
from manyheads.workflow._wide import fit_wide_path

__all__ = [
    "Run",
    "RunMetrics",
    "RunOptions",
    "TrainHook",
    "fit",
    "json_safe",
    "load",
    "run_config",
    "train_config",
]


def fit(  # noqa: PLR0913 - the public entry point: one keyword per setting
    train: Data,
    *,
    tasks: Sequence[Task],
    inputs: dict[str, str] | None = None,
    valid: Data | None = None,
    test: Data | None = None,
    architecture: str | type[MTLModel] = "hps",
    model_options: dict[str, Any] | None = None,
    method: str | None = None,
    method_options: dict[str, Any] | None = None,
    output: str | Path | None = None,
    quiet: bool = True,
    valid_fraction: float = 0.1,
    keep_checkpoint: bool = False,
    **train_settings: Any,  # noqa: ANN401 - TrainSettings fields, checked by train_settings_of
) -> Run:
    """Train one multi-task model on a table and return the :class:`Run`.

    Args:
        train: the training table (DataFrame or file path).
        tasks: what to predict, e.g. ``[Task("income", type="binary")]``.
        inputs: column -> ``numeric`` / ``categorical`` / ``text`` / ``image``; None infers
            them.
        valid: validation data; if None, ``valid_fraction`` of train (seeded).
        test: test data, scored into ``run.metrics`` (never used for model selection).
        architecture: a name from :func:`list_architectures`, or a registered class such as
            ``manyheads.architectures.MMoE``.
        model_options: keyword options of the architecture (``hidden``, ``n_experts`` ...).
        method: the balancing method, a name from :func:`list_methods` (None: ``ew``, the plain
            sum of the task losses). ``weighting``, its name before 0.2, is deprecated.
        method_options: keyword options of the method (``weighting_options`` before 0.2).
        output: a run directory to write (config, bundle, metrics, history, TensorBoard).
        quiet: no progress output.
        valid_fraction: share of train held out when ``valid`` is None.
        keep_checkpoint: keep the last checkpoint (optimiser state included) in ``output`` as
            ``last_checkpoint.json`` and its tensors file; by default a finished run deletes it.
        **train_settings: fields of :class:`~manyheads.config.train.TrainSettings`
            (``epochs``, ``batch_size``, ``lr``, ``seed``, ``schedule`` ...).

    Example:
        >>> import manyheads as mh, numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)})
        >>> df["y"] = (df.x > 0).astype(int)
        >>> df["z"] = df.x * 2.0
        >>> run = mh.fit(df, tasks=[mh.Task("y", type="binary"), mh.Task("z", type="regression")],
        ...              epochs=2, batch_size=64)
        >>> sorted(run.predict(df.head(2)).columns)
        ['y', 'y_proba', 'z']
    """
    method, method_options = renamed_fit_keywords(method, method_options, train_settings)
    config = RunConfig(
        data=DataConfig(valid_fraction=valid_fraction),
        tasks=tuple(tasks),
        inputs=inputs,
        model=ModelConfig(architecture_name(architecture), dict(model_options or {})),
        train=train_settings_of(train_settings),
        method=method,
        method_options=method_options,
        output=str(output) if output is not None else None,
    )
    train_frame = as_frame(train)
    if valid is None:
        from manyheads.workflow._splits import split_frame

        train_frame, valid_frame = split_frame(train_frame, valid_fraction, seed=1)
    else:
        valid_frame = as_frame(valid)
    splits = Splits(train_frame, valid_frame, as_frame(test) if test is not None else None)
    return train_config(
        config,
        splits=splits,
        quiet=quiet,
        log=None if quiet else print,
        keep_checkpoint=keep_checkpoint,
    )


def train_config(
    config: RunConfig,
    *,
    splits: Splits | None = None,
    quiet: bool = True,
    resume: bool = False,
    overwrite: bool = False,
    log: Log | None = None,
    keep_checkpoint: bool = False,
    protect: Sequence[str | Path] = (),
) -> Run:
    """Train from a typed configuration; write the run directory if ``config.output`` is set.

    Nothing is written before the data has been read and encoded without error, and
    ``metrics.json`` is written last, so a failed or killed run never looks finished.
    ``protect`` names files the output folder must not hold (the config file); the output
    folder is checked before any data is read (:func:`check_run_output`).

    With ``resume``, the checkpoint is read and checked against this run (its configuration,
    data and encodings: :func:`~manyheads.engine.checkpoint.fingerprint`) before anything in
    the run directory is written. A run that finishes deletes its checkpoint files unless
    ``keep_checkpoint`` (then ``checkpoint.json`` is kept as ``last_checkpoint.json``).
    """
    options = RunOptions(quiet, resume, overwrite, log, keep_checkpoint, tuple(protect))
    return run_config(config, splits, options)


def run_config(
    config: RunConfig,
    splits: Splits | None,
    options: RunOptions,
    encodings: dict[str, Encoded] | None = None,
    hook: TrainHook | None = None,
) -> Run:
    """:func:`train_config` with its options grouped; ``encodings`` is a cache shared by
    several trainings on the same ``splits`` (``compare``): the fitted preprocessor and encoded
    tables are reused when the inputs, tasks and text options agree. ``hook`` changes the
    training rows and tasks (:class:`TrainHook`)."""
    say = options.say
    directory = check_run_output(
        config, resume=options.resume, overwrite=options.overwrite, protect=options.protect
    )
    if config.tasks:  # the method's options, before any data (a dataset brings its tasks)
        build_method(config)
    if splits is None:
        splits, config = load_splits(config)
    config = _resolved(config, splits, say)
    check_group_column(config, splits)
    encoded = encoded_splits(config, splits, encodings, say)
    say_fitted_lengths(encoded.pre, str(config.model.options.get("encoder", "tabular")), say)
    _check_monitored(config, encoded, splits)
    inputs = TrainInputs(encoded.train, encoded.valid, encoded.pre.fitted(config.tasks))
    if hook is not None:
        inputs = hook.train_inputs(config, splits, encoded)
    torch.manual_seed(config.train.seed)
    chosen = fit_encoder_options(model_options(config, say), encoded.train)
    model = build_model(config, encoded.pre, chosen)
    start_at_label_rates(model, list(config.tasks), encoded.train)
    fit_wide_path(model, encoded.train)
    method = build_method(config)
    result = train_run(config, encoded, model, method, directory, options, inputs, hook)
    run = Run(
        model,
        list(config.tasks),
        tune_on_valid(model, encoded.pre, list(config.tasks), encoded.valid),
        architecture=config.model.architecture,
        options=chosen,
        config=config,
        history=result.history,
        directory=directory,
    )
    run.metrics = final_metrics(run, config, result, encoded).to_dict()
    add_ranking_metrics(run, config, splits)
    if directory is not None and is_writer():  # data-parallel: rank 0 writes the run
        write_run(run, directory, keep_checkpoint=options.keep_checkpoint)
    return run


def _resolved(config: RunConfig, splits: Splits, say: Log) -> RunConfig:
    """``config`` checked against its tasks, with the open defaults and the inputs resolved."""
    check_tasks(config.tasks, config.inputs)
    check_monitor_name(config)
    n_train = None if splits.stream is not None else len(splits.train)
    config = resolve_defaults(config, say, n_train=n_train)
    return dataclasses.replace(config, inputs=resolve_inputs(config, splits.train, say))


def _check_monitored(config: RunConfig, encoded: Encoded, splits: Splits) -> None:
    """Refuse a monitor that the validation labels leave undefined (before any training)."""
    valid_path = splits.valid.attrs.get("path")
    where = f"the validation rows (from {valid_path})" if valid_path else "the validation rows"
    tasks = encoded.pre.fitted(config.tasks)
    check_monitor(encoded.valid, tasks, config.train.monitor, where=where)
