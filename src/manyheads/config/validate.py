"""Checks of a configuration against its data, every problem collected (``manyheads validate``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from manyheads._registry import did_you_mean
from manyheads.config.schema import RunConfig
from manyheads.errors import DataError, ManyheadsError

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from manyheads.data.preprocess import InputSpec
    from manyheads.encoders._registry import EncoderInfo
    from manyheads.workflow._splits import Splits

__all__ = ["dry_run", "method_problems", "validate_data"]


def validate_data(config: RunConfig) -> tuple[list[str], list[str]]:
    """Return (problems, summary lines) for ``config`` and its data; never trains.

    The builders and the data layer are imported here, not with the module: reading a config
    (:mod:`manyheads.config.load`) needs neither.
    """
    from manyheads.workflow._inferred import infer_inputs, inference_notes
    from manyheads.workflow._splits import load_splits

    summary: list[str] = []
    try:
        splits, config = load_splits(config, preview=True)  # a streamed train: its first rows
    except ManyheadsError as exc:
        return [str(exc)], summary
    if splits.stream is not None:  # data.stream: only the first rows are read here
        source = splits.stream.source
        summary.append(
            f"streamed train: {source.n_rows} rows in {len(source.files)} Parquet file(s); "
            f"the checks below read its first {len(splits.train)} rows"
            + (" and the rows held out among them" if splits.stream.holdout else "")
            + " (training reads and checks every row)"
        )
    inputs = config.inputs
    if inputs is None:
        inputs = infer_inputs(config, splits.train)
        summary.append("inferred inputs: " + ", ".join(f"{c}: {k}" for c, k in inputs.items()))
        summary.extend(inference_notes(config, splits.train))
    problems = _input_problems(inputs, splits)
    problems.extend(_label_problems(config, splits, summary))
    try:  # data.group_by names a column of every split
        from manyheads.workflow._ranking import check_group_column

        check_group_column(config, splits)
    except ManyheadsError as exc:
        problems.append(str(exc))
    return problems, summary


def _columns(splits: Splits) -> tuple[set[str], str]:
    """The training columns and the training data's path (for messages)."""
    return set(map(str, splits.train.columns)), str(splits.train.attrs.get("path", "<train>"))


def _input_problems(inputs: dict[str, str], splits: Splits) -> list[str]:
    """Each input column present, and encodable in every split by what train fits."""
    from manyheads.data.preprocess import TablePreprocessor

    columns, path = _columns(splits)
    problems = []
    for col, input_kind in inputs.items():
        if col not in columns:
            problems.append(
                f"{path}: input column '{col}' not found.{did_you_mean(col, sorted(columns))}"
            )
            continue
        try:
            pre = TablePreprocessor({col: input_kind}, []).fit(splits.train)
            for other in (splits.valid, splits.test):  # their cells are encoded by train too
                if other is not None:
                    pre.transform(other, labels=False)
        except DataError as exc:
            problems.append(str(exc))
    return problems


def _label_problems(config: RunConfig, splits: Splits, summary: list[str]) -> list[str]:
    """Each task's label columns present and encodable in every split (and a summary line)."""
    from manyheads.tasks._fitted import fit_task

    columns, path = _columns(splits)
    frames = [("train", splits.train), ("valid", splits.valid), ("test", splits.test)]
    problems: list[str] = []
    for task in config.tasks:
        missing = [c for c in task.label_columns if c not in columns]
        if missing:
            problems.extend(
                f"{path}: label column '{c}' of task '{task.name}' not found."
                f"{did_you_mean(c, sorted(columns))}"
                for c in missing
            )
            continue
        try:
            fitted = fit_task(task, splits.train, path)
            for name, frame in _present(frames):
                where = str(frame.attrs.get("path", name))
                _, mask = fitted.encode(frame, where, unseen=config.data.unseen_labels)
                if name == "train":
                    summary.append(
                        f"task {task.name} ({task.type}): {int(mask.sum())} of "
                        f"{len(mask)} train rows labelled"
                    )
        except DataError as exc:
            problems.append(str(exc))
    return problems


def _present(
    frames: list[tuple[str, pd.DataFrame | None]],
) -> list[tuple[str, pd.DataFrame]]:
    return [(name, frame) for name, frame in frames if frame is not None]


def dry_run(config: RunConfig) -> list[str]:
    """Build what ``train`` builds before it reads data, and return every problem found.

    The balancing method with its options, the text encoding options and the model (from the
    declared ``inputs``, or a stand-in input of each kind the encoder reads when they are
    inferred from the data; heads of a stand-in size): whatever raises here would stop
    ``train``. Each problem names its key path (``model.dropout``,
    ``train.method_options.c``). The settings' ranges and the device were checked when the
    config was loaded.

    Args:
        config: a loaded configuration.

    Returns:
        One line per problem (empty when ``train`` will build everything).

    Example:
        >>> from manyheads.config.load import build_config
        >>> raw = {"data": {"train": "t.csv"}, "tasks": {"y": {"type": "binary"}},
        ...        "train": {"method": "cagrad", "method_options": {"c": -5}}}
        >>> dry_run(build_config(raw))
        ["'train.method_options.c': The 'c' option of CAGrad must be a float >= 0. Got -5 instead."]
    """
    problems = method_problems(config)
    problems.extend(_model_problems(config))
    return problems


def _attributed(
    build: Callable[..., object],
    options: dict[str, Any],
    where: str,
    fixed: dict[str, Any] | None = None,
    together: tuple[str, ...] = (),
) -> list[str]:
    """Problems of ``build(**fixed, **options)``, each option tried on its own so that every
    bad one is named; the options in ``together`` are tried as one (named by the last of them
    present). A failure no single option explains is reported for ``where``."""
    fixed = fixed or {}
    try:
        build(**fixed, **options)
        return []
    except ManyheadsError as exc:
        whole = str(exc)
    except Exception as exc:  # train would stop on it too: say what it was
        whole = f"{type(exc).__name__}: {exc}"
    units = [(k, {k: v}) for k, v in options.items() if k not in together]
    joint = {k: options[k] for k in together if k in options}
    if joint:
        units.append((list(joint)[-1], joint))
    problems = []
    for key, unit in units:
        try:
            build(**fixed, **unit)
        except ManyheadsError as exc:
            problems.append(f"'{where}.{key}': {exc}")
        except Exception:  # not this option alone: reported as a whole
            continue
    return problems or [f"'{where}': {whole}"]


def method_problems(config: RunConfig) -> list[str]:
    """Every problem of building the balancing method with its options (``compare`` checks
    each method before any training)."""
    from manyheads._methods import create_method
    from manyheads.workflow._builders import static_weights

    n_tasks = len(config.tasks)
    if not n_tasks:  # a built-in dataset brings its tasks: a per-task option says how many
        sizes = [len(v) for v in config.method_options.values() if isinstance(v, list)]
        n_tasks = sizes[0] if sizes else 2

    def build(**options: object) -> object:
        return create_method(config.method, n_tasks, **options)

    fixed = static_weights(config, n_tasks)
    problems = _attributed(build, dict(config.method_options), "train.method_options", fixed)
    if config.train.compile and not problems:  # train would refuse it when it builds the step
        from manyheads.engine._compile import compile_problem

        method = create_method(config.method, n_tasks, **fixed, **config.method_options)
        problem = compile_problem(method, config.train.resolve_device())
        problems.extend([f"'train.compile': {problem}"] if problem else [])
    return problems


def _model_problems(config: RunConfig) -> list[str]:
    import warnings

    from manyheads.architectures._registry import build_model
    from manyheads.encoders._registry import ENCODERS, EncoderInfo, encoder_info, text_options
    from manyheads.tasks._fitted import FittedTask
    from manyheads.workflow._builders import model_options

    options = model_options(config)
    encoder = str(options.get("encoder", "tabular"))
    try:
        text = text_options(encoder, options.get("encoder_options"))
    except ManyheadsError as exc:
        return [f"'model.encoder_options': {exc}"]
    # An encoder that loads pretrained weights: only its options and files are checked (the
    # weights are read when ``train`` builds the model). Image inputs: the dry run needs their
    # size, which comes from the data.
    info = encoder_info(encoder) if encoder in ENCODERS else EncoderInfo(reads=())
    spec = _stand_in_spec(config, info, sequence=text.get("mode") == "sequence")
    if spec is None or not config.tasks:
        return []
    state = {"classes": [0, 1, 2], "tags": ["O", "B", "I"], "labels": ["a", "b"]}
    tasks = [FittedTask(t, dict(state)) for t in config.tasks]  # stand-in label encodings

    def build(**opts: object) -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. torch on zero-width stand-in layers
            return build_model(config.model.architecture, spec, tasks, opts)

    return _attributed(build, options, "model", together=("encoder", "encoder_options"))


def _stand_in_spec(config: RunConfig, info: EncoderInfo, *, sequence: bool) -> InputSpec | None:
    """The input sizes the dry run builds the model for: the declared inputs, or a stand-in
    input of a kind the encoder reads when they are inferred; None when the sizes come from
    the data (pretrained weights, images)."""
    from manyheads.data.preprocess import InputSpec, SequenceSpec
    from manyheads.tasks._registry import get_task_type

    inputs = config.inputs
    if info.loads_weights:
        return None
    if inputs is None and ("image" in info.reads or config.model.architecture == "mtan"):
        return None  # image inputs inferred from the data: their size comes from the data
    if inputs is None:  # inferred from the data: stand in with what the encoder reads
        token_level = any(get_task_type(t.type).level == "token" for t in config.tasks)
        kind = ("tokens" if token_level else "text") if sequence else "numeric"
        inputs = {"input": kind}
    if "image" in inputs.values():
        return None  # the image size comes from the data
    kinds = list(inputs.values())
    texts = [(c, 16) for c, k in inputs.items() if k in ("text", "tokens") and not sequence]
    seqs = [
        (c, SequenceSpec(16, 0, k == "tokens", 8, "word"))
        for c, k in inputs.items()
        if k in ("text", "tokens") and sequence
    ]
    cards = (3,) * kinds.count("categorical")
    return InputSpec(kinds.count("numeric"), cards, tuple(texts), (), tuple(seqs))
