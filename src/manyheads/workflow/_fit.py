"""The Python API a notebook user reaches for first: :func:`fit`, :class:`Run`, :func:`load`.

The CLI is a thin layer over :func:`train_config`, which :func:`fit` shares. :class:`Run` and
:func:`load` live in :mod:`manyheads.workflow._run`.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import yaml

from manyheads._files import (
    atomic_write_text,
    check_output_dir,
    clear_owned,
    data_paths,
    os_error,
    write_marker,
)
from manyheads.architectures._registry import build_model
from manyheads.architectures.base import MTLModel
from manyheads.config.schema import DataConfig, ModelConfig, RunConfig
from manyheads.config.train import (
    DEFAULT_BATCH_SIZES,
    DEFAULT_LR,
    DEFAULT_TAGGING_LR,
    TrainSettings,
)
from manyheads.data.preprocess import TablePreprocessor, infer_kind
from manyheads.data.sampling import SourceSampler
from manyheads.data.tensors import EncodedTable
from manyheads.encoders._registry import text_options
from manyheads.engine import (
    Checkpoints,
    ResumePoint,
    TrainInputs,
    TrainResult,
    check_monitor,
    read_resume_point,
    train_model,
)
from manyheads.engine.checkpoint import fingerprint, remove_checkpoint, split_digest
from manyheads.engine.events import Events
from manyheads.engine.loop import predict_outputs, score_outputs
from manyheads.engine.progress import attach_history, attach_progress, attach_tensorboard
from manyheads.errors import DataError, InvalidParameterError
from manyheads.tasks._registry import get_kind
from manyheads.tasks.task import Task
from manyheads.weighting._registry import create_weighting
from manyheads.workflow._run import Data, Run, as_frame, json_safe, load, task_metrics
from manyheads.workflow._splits import Splits, load_splits

__all__ = ["Run", "fit", "json_safe", "load", "train_config"]

Log = Callable[[str], None]

#: Sequence encoders without a position limit: their default ``max_length`` is fitted to the
#: training rows (:func:`~manyheads.data.sequence.fitted_max_length`) instead of 128 pieces.
NO_POSITION_LIMIT = ("bilstm", "cnn")


def fit(
    train: Data,
    *,
    tasks: Sequence[Task],
    inputs: dict[str, str] | None = None,
    valid: Data | None = None,
    test: Data | None = None,
    architecture: str | type[MTLModel] = "hps",
    model_options: dict[str, Any] | None = None,
    weighting: str = "ew",
    weighting_options: dict[str, Any] | None = None,
    output: str | Path | None = None,
    quiet: bool = True,
    valid_fraction: float = 0.1,
    keep_checkpoint: bool = False,
    **train_settings: Any,
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
        weighting: a name from :func:`list_weightings`.
        weighting_options: keyword options of the weighting.
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
    fields = {f.name for f in dataclasses.fields(TrainSettings)}
    unknown = [k for k in train_settings if k not in fields]
    if unknown:
        from manyheads._registry import did_you_mean

        raise InvalidParameterError(
            f"Unknown training setting(s) {unknown} for fit()."
            f"{did_you_mean(unknown[0], sorted(fields))} "
            f"Valid: {', '.join(sorted(fields))}."
        )
    config = RunConfig(
        data=DataConfig(valid_fraction=valid_fraction),
        tasks=tuple(tasks),
        inputs=inputs,
        model=ModelConfig(_architecture_name(architecture), dict(model_options or {})),
        train=TrainSettings(**train_settings),
        weighting=weighting,
        weighting_options=dict(weighting_options or {}),
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


def _architecture_name(architecture: str | type[MTLModel]) -> str:
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


# -- the shared training path -------------------------------------------------------------------
def _check_tasks(tasks: Sequence[Task], inputs: dict[str, str] | None) -> None:
    names = [t.name for t in tasks]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidParameterError(
            f"Duplicate task name(s) {dupes}: each task needs its own name."
        )
    if not tasks:
        raise InvalidParameterError("At least one task is required.")
    for t in tasks:
        for col in t.label_columns:
            if inputs and col in inputs:
                raise InvalidParameterError(
                    f"Column '{col}' is the label of task '{t.name}' and also an input: remove "
                    "it from the inputs (that would leak the label)."
                )


def _check_monitor(config: RunConfig) -> None:
    monitor = config.train.monitor
    if monitor == "loss":
        return
    task_name, _, metric = monitor.partition(".")
    tasks = {t.name: t for t in config.tasks}
    if task_name not in tasks or metric not in get_kind(tasks[task_name].type).metric_directions:
        raise InvalidParameterError(
            f"The 'monitor' setting must be 'loss' or TASK.METRIC with one of the tasks "
            f"{sorted(tasks)} and one of its metrics. Got {monitor!r}."
        )


def _resolve_defaults(config: RunConfig, say: Log) -> RunConfig:
    """Fill in the ``batch_size`` and ``lr`` left open, to suit the tasks and encoder:
    sentences and a faster rate for tagging on an encoder trained from scratch."""
    token = any(get_kind(t.type).level == "token" for t in config.tasks)
    encoder = config.model.options.get("encoder", "tabular")
    changes: dict[str, Any] = {}
    if config.train.batch_size is None:
        changes["batch_size"] = DEFAULT_BATCH_SIZES["token" if token else "row"]
        if token:
            say(
                f"batch_size {changes['batch_size']} sentences (the default for tagging tasks; "
                "set train.batch_size, or train.batch_by: tokens for batches of about as many "
                "tokens)"
            )
    if config.train.lr is None:
        scratch = token and encoder in NO_POSITION_LIMIT
        changes["lr"] = DEFAULT_TAGGING_LR if scratch else DEFAULT_LR
        if scratch:
            say(f"lr {changes['lr']:g} (the default for tagging on a {encoder} encoder)")
    if not changes:
        return config
    return dataclasses.replace(config, train=dataclasses.replace(config.train, **changes))


def resolve_inputs(
    config: RunConfig, train: pd.DataFrame, log: Log | None = None
) -> dict[str, str]:
    """The configured inputs, or every non-label column with an inferred kind (and say so)."""
    if config.inputs is not None:
        return dict(config.inputs)
    labels = {c for t in config.tasks for c in t.label_columns}
    skip = labels | ({config.data.split_column} if config.data.split_column else set())
    inputs = {str(c): infer_kind(train[c]) for c in train.columns if c not in skip}
    if not inputs:
        raise DataError(
            "no input column left after removing the label columns.",
            path=str(train.attrs.get("path")),
        )
    if log is not None:
        log(
            "inferred inputs (set 'inputs' to override): "
            + ", ".join(f"{c}: {k}" for c, k in inputs.items())
        )
    return inputs


def check_run_output(
    config: RunConfig, *, resume: bool, overwrite: bool, protect: Sequence[str | Path] = ()
) -> Path | None:
    """Refuse an ``output`` that would put a user's files at risk, before any data is read.

    The rule (README, "Command line"; :mod:`manyheads._files`): a run goes into a folder of
    its own, marked by ``.manyheads-run``; never ``.``, a folder above the working directory,
    a folder holding the config or a data file, a file, an unwritable place, or a non-empty
    folder without the marker. A finished run is replaced only with ``--overwrite``, an
    unfinished one continued with ``--resume``.

    Raises:
        InvalidParameterError: naming the folder, what is wrong and the fix.
    """
    if config.output is None:
        return None
    directory = check_output_dir(
        config.output,
        protect=[*protect, *data_paths(config)],
        # an unfinished run of a version without the marker: --resume may continue it
        allow=lambda d: resume and (d / "checkpoint.json").exists(),
    )
    finished = (directory / "metrics.json").exists()
    started = (directory / "checkpoint.json").exists()
    if resume:  # the refusals of _resume_point, before the data is read
        _check_resume(directory, overwrite=overwrite)
    if finished and not overwrite:
        raise InvalidParameterError(
            f"The output directory '{directory}' already holds a finished run. Choose another "
            "'output', or pass --overwrite to replace it."
        )
    if started and not resume and not overwrite:
        raise InvalidParameterError(
            f"The output directory '{directory}' holds an unfinished run. Pass --resume to "
            "continue it, or --overwrite to start again."
        )
    return directory


def _prepare_output(directory: Path, *, resume: bool, overwrite: bool) -> None:
    """Clear the old run's files (``--overwrite``: only the files a run writes) and write the
    marker first. The folder was checked by :func:`check_run_output`."""
    if overwrite:
        clear_owned(directory)
    write_marker(directory)


def _in_folder(exc: OSError, directory: Path) -> bool:
    """Whether ``exc`` is about a file in the run directory."""
    if not exc.filename:
        return False
    try:
        return directory.resolve() in Path(str(exc.filename)).resolve().parents
    except (OSError, RuntimeError):
        return False


def _make_method(config: RunConfig) -> Any:
    options = dict(config.weighting_options)
    if config.weighting == "static" and "weights" not in options:
        options["weights"] = [t.weight for t in config.tasks]
    return create_weighting(config.weighting, len(config.tasks), **options)


def _model_options(config: RunConfig, say: Log) -> dict[str, Any]:
    from manyheads.architectures._registry import architecture_options

    valid = architecture_options(config.model.architecture)
    options = {k: v for k, v in config.model.options.items() if k in valid}
    ignored = sorted(set(config.model.options) - set(options))
    if ignored:
        say(f"model options not used by '{config.model.architecture}': {', '.join(ignored)}")
    if "kinds" in valid and "kinds" not in options:
        options["kinds"] = {t.name: t.type for t in config.tasks}
    return options


def train_config(
    config: RunConfig,
    *,
    splits: Splits | None = None,
    quiet: bool = True,
    resume: bool = False,
    overwrite: bool = False,
    log: Log | None = None,
    encodings: dict[str, Any] | None = None,
    keep_checkpoint: bool = False,
    protect: Sequence[str | Path] = (),
) -> Run:
    """Train from a typed configuration; write the run directory if ``config.output`` is set.

    Nothing is written before the data has been read and encoded without error, and
    ``metrics.json`` is written last, so a failed or killed run never looks finished.
    ``encodings`` is a cache shared by several trainings on the same ``splits`` (``compare``):
    the fitted preprocessor and encoded tables are reused when the inputs, tasks and text
    options agree (they are never modified by training). ``protect`` names files the output
    folder must not hold (the config file); the output folder is checked before any data is
    read (:func:`check_run_output`).

    With ``resume``, the checkpoint is read and checked against this run (its configuration,
    data and encodings: :func:`~manyheads.engine.checkpoint.fingerprint`) before anything in
    the run directory is written. A run that finishes deletes its checkpoint files unless
    ``keep_checkpoint`` (then ``checkpoint.json`` is kept as ``last_checkpoint.json``).
    """
    say: Log = log if log is not None else (lambda _msg: None)
    directory = check_run_output(config, resume=resume, overwrite=overwrite, protect=protect)
    if config.tasks:  # the method's options, before any data (a dataset brings its tasks)
        _make_method(config)
    if splits is None:
        splits, config = load_splits(config)
    _check_tasks(config.tasks, config.inputs)
    _check_monitor(config)
    config = _resolve_defaults(config, say)
    inputs = resolve_inputs(config, splits.train, say)
    config = dataclasses.replace(config, inputs=inputs)
    tasks = list(config.tasks)
    encoder = config.model.options.get("encoder", "tabular")
    text = text_options(str(encoder), config.model.options.get("encoder_options"))
    if encoder in NO_POSITION_LIMIT and text.get("mode") == "sequence":
        text.setdefault("max_length", None)  # fitted on the training rows (data/sequence.py)
    key = json.dumps(
        {
            "inputs": inputs,
            "tasks": [t.to_dict() for t in tasks],
            "text": text,
            "data": dataclasses.asdict(config.data),
        },
        sort_keys=True,
        default=str,
    )
    encoded = encodings.get(key) if encodings is not None else None
    if encoded is None:
        pre = TablePreprocessor(
            inputs, tasks, text_options=text, unseen_labels=config.data.unseen_labels
        )
        encoded = _encode(pre, splits, config, say)
        if encodings is not None:
            encodings[key] = encoded
    else:
        say("reusing the encoded data of an earlier run with the same inputs and tasks")
    pre, train_t, valid_t, test_t = encoded.pre, encoded.train, encoded.valid, encoded.test
    for col, tok in pre.sequence_.items():
        if tok.fitted_length:
            covers = "the longest row" if pre.inputs[col] == "tokens" else "99.9% of the rows"
            say(
                f"{col}: max_length {tok.max_length} pieces (covers {covers} of train, at least "
                f"128: {encoder} has no position limit; set model.encoder_options.max_length "
                "to change it)"
            )
    valid_path = splits.valid.attrs.get("path")
    where = f"the validation rows (from {valid_path})" if valid_path else "the validation rows"
    check_monitor(valid_t, tasks, pre.task_states_, config.train.monitor, where=where)
    s = config.train
    torch.manual_seed(s.seed)
    options = _model_options(config, say)
    model = build_model(config.model.architecture, pre.spec, tasks, pre.task_states_, options)
    method = _make_method(config)
    events = Events()
    attach_progress(events, quiet=quiet, log=say)
    stamp = _fingerprint(config, encoded) if directory else None
    restored = None
    if directory is not None and resume:  # checked before anything in it is written
        restored = _resume_point(directory, model, method, s, stamp, overwrite=overwrite)
    _attach_estimate(events, say)
    if directory is not None:
        _prepare_output(directory, resume=resume, overwrite=overwrite)
        atomic_write_text(
            directory / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False)
        )
        attach_history(events, directory / "history.csv")
        attach_tensorboard(events, directory)
        if s.relations_every:
            _attach_relations(events, directory, model, train_t, tasks, pre, s.relations_every)
    try:
        result = train_model(
            model,
            method,
            TrainInputs(train_t, valid_t, tasks, pre.task_states_),
            settings=s,
            events=events,
            checkpoints=None if directory is None else Checkpoints(directory, stamp, restored),
            resume=resume,
        )
    except OSError as exc:  # writing history, checkpoints or events: disk full, permissions
        if directory is None or not _in_folder(exc, directory):
            raise
        raise os_error(exc, exc.filename, "write the run's file") from None
    run = Run(
        model,
        tasks,
        pre,
        architecture=config.model.architecture,
        options=options,
        config=config,
        history=result.history,
        directory=directory,
    )
    run.metrics = _final_metrics(run, config, result, valid_t, test_t)
    if encoded.sources:
        run.metrics |= _source_metrics(run, config, encoded.sources, train_t)
    if directory is not None:
        _write_run(run, directory, keep_checkpoint=keep_checkpoint)
    return run


def _resume_point(
    directory: Path,
    model: MTLModel,
    method: Any,
    settings: TrainSettings,
    fingerprint: dict[str, Any] | None,
    *,
    overwrite: bool,
) -> ResumePoint:
    """The checkpoint ``--resume`` continues, read and checked (refuses a finished run)."""
    _check_resume(directory, overwrite=overwrite)
    return read_resume_point(
        directory, model=model, method=method, settings=settings, fingerprint=fingerprint
    )


def _check_resume(directory: Path, *, overwrite: bool) -> None:
    """Refuse ``--resume`` with ``--overwrite``, on a finished run, and with no checkpoint."""
    if overwrite:
        raise InvalidParameterError(
            "--resume and --overwrite exclude each other: --resume continues the run in "
            f"'{directory}', --overwrite replaces it. Pass one of them."
        )
    if (directory / "metrics.json").exists():
        raise InvalidParameterError(
            f"Nothing to resume in '{directory}': the run there has finished (metrics.json). "
            "Train into another 'output' to train again (or pass --overwrite to replace it)."
        )
    if not (directory / "checkpoint.json").is_file():  # said before any data is read
        raise InvalidParameterError(
            f"Nothing to resume in '{directory}': it holds no checkpoint.json (a run writes "
            "one after each epoch, and deletes it when it finishes unless --keep-checkpoint). "
            "Drop --resume to start the run."
        )


def _fingerprint(config: RunConfig, encoded: _Encoded) -> dict[str, Any]:
    """What a resume must share with the run: configuration, encoded data and encodings."""
    splits = {"train": encoded.train, "valid": encoded.valid, "test": encoded.test}
    if not encoded.digests:
        for name, table in splits.items():
            if table is None:
                encoded.digests[name] = None
                continue
            named = {f"x.{k}": v for k, v in table.x.items()}
            named |= {f"y.{k}": v for k, v in table.y.items()}
            named |= {f"mask.{k}": v for k, v in table.mask.items()}
            encoded.digests[name] = split_digest(table.n_rows, named)
    state = encoded.pre.to_dict()
    labels = state.pop("task_states")
    encodings = {f"labels.{t}": v for t, v in labels.items()}
    encodings |= {f"inputs.{k}": v for k, v in state.items()}
    data = config.data
    files = [f for f in (data.train, data.valid, data.test) if f]
    files += [f for src in data.sources for f in (src.train, src.valid, src.test) if f]
    return fingerprint(
        config.to_dict(),
        data=encoded.digests,
        encodings=encodings,
        files=files,
    )


def _attach_estimate(
    events: Events, say: Log, timed_steps: int = 10, warmup_steps: int = 5
) -> None:
    """Say the run's length before it starts (steps per epoch × epochs), then the time it
    will take as measured on ``timed_steps`` optimiser steps after the first
    ``warmup_steps`` (the first steps are slower: allocation, lazy initialisation)."""
    state: dict[str, float] = {}

    def start(n_epochs: int, n_batches: int, start_epoch: int, **_: Any) -> None:
        epochs = max(0, n_epochs - start_epoch + 1)
        state.update(per_epoch=n_batches, total=n_batches * epochs, done=0)
        say(
            f"{n_batches} optimiser steps per epoch × {epochs} epoch(s) = {n_batches * epochs} "
            "steps (fewer if train.patience stops early)"
        )

    def step(**_: Any) -> None:
        state["done"] += 1
        if state["done"] == warmup_steps:
            state["began"] = time.perf_counter()
        if state["done"] != warmup_steps + timed_steps:
            return
        per_step = (time.perf_counter() - state["began"]) / timed_steps
        say(
            f"up to about {_duration(per_step * state['per_epoch'])} per epoch and "
            f"{_duration(per_step * state['total'])} for the run (timed on steps "
            f"{warmup_steps + 1}-{warmup_steps + timed_steps}, which tend to be slower than "
            "later ones, e.g. while new batch shapes are first seen; validation passes come "
            "on top)"
        )

    events.connect("train_start", start)
    events.connect("step_end", step)


def _duration(seconds: float) -> str:
    """``42 s``, ``3.5 min`` or ``1.2 h``.

    Example:
        >>> _duration(42.0), _duration(210.0), _duration(6480.0)
        ('42 s', '3.5 min', '1.8 h')
    """
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


@dataclasses.dataclass(frozen=True)
class _Encoded:
    """A fitted preprocessor and the splits it encoded (each source's too, if any)."""

    pre: TablePreprocessor
    train: EncodedTable
    valid: EncodedTable
    test: EncodedTable | None
    sources: list[_SourceTables]
    #: split -> its digest for resume fingerprints, computed once per encoding (``compare``).
    digests: dict[str, Any] = dataclasses.field(default_factory=dict)


def _encode(pre: TablePreprocessor, splits: Splits, config: RunConfig, say: Log) -> _Encoded:
    """Fit ``pre`` on the training split(s) and encode every split."""
    sources: list[_SourceTables] = []
    if splits.sources:
        train_t, valid_t, test_t, sources = _encode_sources(pre, splits, config, say)
    else:
        pre.fit(splits.train)
        train_t = pre.transform(splits.train)
        valid_t = pre.transform(splits.valid)
        test_t = pre.transform(splits.test) if splits.test is not None else None
    for name, table in (("train", train_t), ("valid", valid_t), ("test", test_t)):
        if table is not None:
            counts = ", ".join(f"{k}={v}" for k, v in table.labelled_counts().items())
            say(f"{name}: {table.n_rows} rows; labelled per task: {counts}")
    return _Encoded(pre, train_t, valid_t, test_t, sources)


@dataclasses.dataclass(frozen=True)
class _SourceTables:
    name: str
    tasks: list[Task]
    valid: EncodedTable
    test: EncodedTable | None


def _with_labels(frame: pd.DataFrame, tasks: Sequence[Task]) -> pd.DataFrame:
    """``frame`` with every absent label column added as missing (another source's tasks)."""
    absent = [c for t in tasks for c in t.label_columns if c not in frame.columns]
    if not absent:
        return frame
    out = frame.assign(
        **{
            c: pd.Series([None] * len(frame), index=frame.index, dtype=object)
            for c in dict.fromkeys(absent)
        }
    )
    out.attrs.update(frame.attrs)
    return out


def _encode_sources(
    pre: TablePreprocessor, splits: Splits, config: RunConfig, say: Log
) -> tuple[EncodedTable, EncodedTable, EncodedTable | None, list[_SourceTables]]:
    """Fit on all sources' training rows (each task's labels from its own sources), encode
    every source's splits on their own, and stack them; the train table samples across sources
    as ``data.sampling`` says."""
    tasks = list(config.tasks)
    for src in splits.sources:
        pre.check_inputs(src.train)
    task_frames = {}
    for task in tasks:
        own = [s.train for s in splits.sources if task.name in s.tasks]
        task_frames[task.name] = own[0] if len(own) == 1 else pd.concat(own)
        task_frames[task.name].attrs.update(own[0].attrs)
    pre.fit(splits.train, task_frames=task_frames)
    pad = {f"ids:{col}": tok.pad_id_ for col, tok in pre.sequence_.items()}

    def encode(frame: pd.DataFrame) -> EncodedTable:
        return pre.transform(_with_labels(frame, tasks))

    by_name = {t.name: t for t in tasks}
    train_parts, valid_parts, test_parts, tables = [], [], [], []
    for src in splits.sources:
        train_parts.append(encode(src.train))
        valid = encode(src.valid)
        test = encode(src.test) if src.test is not None else None
        valid_parts.append(valid)
        if test is not None:
            test_parts.append(test)
        tables.append(_SourceTables(src.name, [by_name[t] for t in src.tasks], valid, test))
    train = EncodedTable.concat(train_parts, pad=pad)
    train.sampler = SourceSampler(
        [t.n_rows for t in train_parts], config.data.sampling, config.data.temperature
    )
    described = train.sampler.describe([s.name for s in splits.sources])
    say(
        f"sampling {config.data.sampling}"
        + (f" (T={config.data.temperature:g})" if config.data.sampling == "temperature" else "")
        + "; per epoch: "
        + ", ".join(f"{k} {v['examples_per_epoch']} of {v['rows']}" for k, v in described.items())
    )
    test_t = EncodedTable.concat(test_parts, pad=pad) if test_parts else None
    return train, EncodedTable.concat(valid_parts, pad=pad), test_t, tables


def _source_metrics(
    run: Run, config: RunConfig, sources: list[_SourceTables], train: EncodedTable
) -> dict[str, Any]:
    """Per source: its tasks scored on its own test split (valid when it has none)."""
    device = next(run.model.parameters()).device
    out: dict[str, Any] = {}
    for src in sources:
        split, table = ("test", src.test) if src.test is not None else ("valid", src.valid)
        outputs = predict_outputs(
            run.model, table, batch_size=config.train.eval_batch_size, device=device
        )
        states = run.preprocessor.task_states_
        scores = score_outputs(outputs, table, src.tasks, states)
        out[src.name] = {
            "split": split,
            "rows": table.n_rows,
            "tasks": task_metrics(src.tasks, scores),
        }
    assert train.sampler is not None
    sampling = {
        "mode": config.data.sampling,
        "temperature": config.data.temperature if config.data.sampling == "temperature" else None,
        "epoch_examples": train.sampler.n_rows,
        "sources": train.sampler.describe([s.name for s in sources]),
    }
    return {"sources": out, "sampling": sampling}


def _attach_relations(
    events: Events,
    directory: Path,
    model: MTLModel,
    table: Any,
    tasks: list[Task],
    pre: TablePreprocessor,
    every: int,
) -> None:
    """Record task relations every ``every`` epochs into ``task_relations_history.json``."""
    from manyheads.workflow._analysis import table_relations

    if not [p for p in model.shared_parameters() if p.requires_grad]:
        return  # nothing is shared: no gradients to compare
    path = directory / "task_relations_history.json"

    def epoch_end(epoch: int, **_: Any) -> None:
        if epoch % every:
            return
        history = json.loads(path.read_text()) if path.exists() else []
        rel = table_relations(model, table, tasks, pre.task_states_, max_batches=20)
        history = [h for h in history if h["epoch"] < epoch]  # a resumed run rewrites its tail
        history.append({"epoch": epoch, **json.loads(rel.to_json())})
        atomic_write_text(path, json.dumps(json_safe(history), indent=1, allow_nan=False))

    events.connect("epoch_end", epoch_end)


def _final_metrics(
    run: Run, config: RunConfig, result: TrainResult, valid_t: Any, test_t: Any
) -> dict[str, Any]:
    device = next(run.model.parameters()).device
    split, table = ("test", test_t) if test_t is not None else ("valid", valid_t)
    # the first pass warms up (allocator, caches, lazy initialisation) and gives the scores; then
    # up to 5 timed passes within 5 s, and their median (one pass is at the mercy of other
    # processes; a pass that takes seconds is timed once: big models are costly)
    outputs = predict_outputs(
        run.model, table, batch_size=config.train.eval_batch_size, device=device
    )
    timings: list[float] = []
    while len(timings) < 5 and sum(timings) < 5.0:
        began = time.perf_counter()
        predict_outputs(run.model, table, batch_size=config.train.eval_batch_size, device=device)
        timings.append(time.perf_counter() - began)
    infer_seconds = float(statistics.median(timings))
    scores = score_outputs(outputs, table, run.tasks, run.preprocessor.task_states_)
    valid_out = predict_outputs(
        run.model, valid_t, batch_size=config.train.eval_batch_size, device=device
    )
    valid_scores = score_outputs(valid_out, valid_t, run.tasks, run.preprocessor.task_states_)
    return {
        "split": split,
        "architecture": config.model.architecture,
        "weighting": config.weighting,
        "seed": config.train.seed,
        "train_seconds": round(result.train_seconds, 3),
        "inference_seconds": round(infer_seconds, 4),
        "inference_rows": table.n_rows,
        "n_parameters": run.n_parameters,
        "best_epoch": result.best_epoch,
        **(
            {"task_best_epochs": result.task_best_epochs}
            if result.task_best_epochs is not None
            else {}
        ),
        "epochs_run": len(result.history),
        "tasks": task_metrics(run.tasks, scores),
        "valid": task_metrics(run.tasks, valid_scores),
    }


def _write_run(run: Run, directory: Path, *, keep_checkpoint: bool = False) -> None:
    try:
        run.save(directory)
    except OSError as exc:
        raise os_error(exc, directory, "write the run") from None
    # metrics.json last among the run's results: its presence says the run finished
    atomic_write_text(
        directory / "metrics.json", json.dumps(json_safe(run.metrics), indent=2, allow_nan=False)
    )
    # after metrics.json, so that a run killed before it can still be resumed
    checkpoint = directory / "checkpoint.json"
    try:
        if keep_checkpoint and checkpoint.exists():  # kept for inspection; not resumed
            checkpoint.replace(directory / "last_checkpoint.json")
        elif not keep_checkpoint:
            remove_checkpoint(directory)
    except OSError as exc:
        raise os_error(exc, directory, "remove the finished run's checkpoint") from None
