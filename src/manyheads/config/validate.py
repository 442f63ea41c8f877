"""Checks of a configuration against its data, every problem collected (``manyheads validate``)."""

from __future__ import annotations

from typing import Any

from manyheads.config.schema import RunConfig
from manyheads.data.preprocess import TablePreprocessor, infer_kind
from manyheads.errors import DataError, ManyheadsError
from manyheads.tasks._registry import get_kind
from manyheads.workflow._splits import load_splits

__all__ = ["dry_run", "validate_data"]


def validate_data(config: RunConfig) -> tuple[list[str], list[str]]:
    """Return (problems, summary lines) for ``config`` and its data; never trains."""
    problems: list[str] = []
    summary: list[str] = []
    try:
        splits, config = load_splits(config)
    except ManyheadsError as exc:
        return [str(exc)], summary
    train = splits.train
    columns = set(map(str, train.columns))
    path = str(train.attrs.get("path", "<train>"))
    labels = {c for t in config.tasks for c in t.label_columns}
    inputs = config.inputs
    if inputs is None:
        skip = labels | ({config.data.split_column} if config.data.split_column else set())
        inputs = {str(c): infer_kind(train[c]) for c in train.columns if c not in skip}
        summary.append("inferred inputs: " + ", ".join(f"{c}: {k}" for c, k in inputs.items()))
    from manyheads._registry import did_you_mean

    for col, input_kind in inputs.items():
        if col not in columns:
            problems.append(
                f"{path}: input column '{col}' not found.{did_you_mean(col, sorted(columns))}"
            )
            continue
        try:
            pre = TablePreprocessor({col: input_kind}, []).fit(train)
            for other in (splits.valid, splits.test):  # their cells are encoded by train too
                if other is not None:
                    pre.transform(other, labels=False)
        except DataError as exc:
            problems.append(str(exc))
    frames = [("train", train), ("valid", splits.valid), ("test", splits.test)]
    for task in config.tasks:
        kind = get_kind(task.type)
        missing = [c for c in task.label_columns if c not in columns]
        if missing:
            problems.extend(
                f"{path}: label column '{c}' of task '{task.name}' not found."
                f"{did_you_mean(c, sorted(columns))}"
                for c in missing
            )
            continue
        try:
            state = kind.fit(task, train, path)
            for name, frame in frames:
                if frame is None:
                    continue
                where = str(frame.attrs.get("path", name))
                _, mask = kind.encode(task, state, frame, where, unseen=config.data.unseen_labels)
                if name == "train":
                    summary.append(
                        f"task {task.name} ({task.type}): {int(mask.sum())} of "
                        f"{len(mask)} train rows labelled"
                    )
        except DataError as exc:
            problems.append(str(exc))
    return problems, summary


def dry_run(config: RunConfig) -> list[str]:
    """Build what ``train`` builds before it reads data, and return every problem found.

    The balancing method with its options, the text encoding options and the model (from the
    declared ``inputs``, or a stand-in input of each kind the encoder reads when they are
    inferred from the data; heads of a stand-in size): whatever raises here would stop
    ``train``. Each problem names its key path (``model.dropout``,
    ``train.weighting_options.c``). The settings' ranges and the device were checked when the
    config was loaded.

    Args:
        config: a loaded configuration.

    Returns:
        One line per problem (empty when ``train`` will build everything).

    Example:
        >>> from manyheads.config.load import build_config
        >>> raw = {"data": {"train": "t.csv"}, "tasks": {"y": {"type": "binary"}},
        ...        "train": {"weighting": "cagrad", "weighting_options": {"c": -5}}}
        >>> dry_run(build_config(raw))
        ["'train.weighting_options.c': The 'c' parameter of CAGrad must be a float in [0, inf). Got -5."]
    """  # noqa: E501
    problems = _weighting_problems(config)
    problems.extend(_model_problems(config))
    return problems


def _attributed(
    build: Any,
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


def _weighting_problems(config: RunConfig) -> list[str]:
    from manyheads.weighting._registry import create_weighting

    n_tasks = len(config.tasks)
    if not n_tasks:  # a built-in dataset brings its tasks: a per-task option says how many
        sizes = [len(v) for v in config.weighting_options.values() if isinstance(v, list)]
        n_tasks = sizes[0] if sizes else 2
    fixed: dict[str, Any] = {}
    if config.weighting == "static" and "weights" not in config.weighting_options:
        fixed["weights"] = [t.weight for t in config.tasks] if config.tasks else [1.0] * n_tasks

    def build(**options: Any) -> Any:
        return create_weighting(config.weighting, n_tasks, **options)

    return _attributed(build, dict(config.weighting_options), "train.weighting_options", fixed)


def _model_problems(config: RunConfig) -> list[str]:
    import warnings

    from manyheads.architectures._registry import architecture_options, build_model
    from manyheads.data.preprocess import InputSpec, SequenceSpec
    from manyheads.encoders._registry import ENCODERS, EncoderInfo, encoder_info, text_options

    model = config.model
    valid = architecture_options(model.architecture)
    options = {k: v for k, v in model.options.items() if k in valid}
    encoder = str(options.get("encoder", "tabular"))
    try:
        text = text_options(encoder, options.get("encoder_options"))
    except ManyheadsError as exc:
        return [f"'model.encoder_options': {exc}"]
    # An encoder that loads pretrained weights: only its options and files are checked (the
    # weights are read when ``train`` builds the model). Image inputs: the dry run needs their
    # size, which comes from the data.
    info = encoder_info(encoder) if encoder in ENCODERS else EncoderInfo(reads=())
    if info.loads_weights:
        return []
    sequence = text.get("mode") == "sequence"
    inputs = config.inputs
    if inputs is None and ("image" in info.reads or model.architecture == "mtan"):
        return []  # image inputs inferred from the data: their size comes from the data
    if inputs is None:  # inferred from the data: stand in with what the encoder reads
        token_level = any(get_kind(t.type).level == "token" for t in config.tasks)
        kind = ("tokens" if token_level else "text") if sequence else "numeric"
        inputs = {"input": kind}
    if "image" in inputs.values():
        return []  # the image size comes from the data
    n_numeric, cards, texts, seqs = 0, [], [], []
    for col, kind in inputs.items():
        if kind == "numeric":
            n_numeric += 1
        elif kind == "categorical":
            cards.append(3)
        elif kind in ("text", "tokens") and sequence:
            seqs.append((col, SequenceSpec(16, 0, kind == "tokens", 8, "word")))
        elif kind in ("text", "tokens"):
            texts.append((col, 16))
    spec = InputSpec(n_numeric, tuple(cards), tuple(texts), (), tuple(seqs))
    if "kinds" in valid and "kinds" not in options:
        options["kinds"] = {t.name: t.type for t in config.tasks}
    state = {"classes": [0, 1, 2], "tags": ["O", "B", "I"], "labels": ["a", "b"]}
    states = {t.name: dict(state) for t in config.tasks}
    tasks = list(config.tasks)

    def build(**opts: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. torch on zero-width stand-in layers
            return build_model(model.architecture, spec, tasks, states, opts)

    if not tasks:
        return []
    return _attributed(build, options, "model", together=("encoder", "encoder_options"))
