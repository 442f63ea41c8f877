"""Checks of a configuration against its data, every problem collected (``manyheads validate``)."""

from __future__ import annotations

from manyheads._splits import load_splits
from manyheads.config.schema import RunConfig
from manyheads.data.preprocess import TablePreprocessor, infer_kind
from manyheads.errors import DataError, ManyheadsError
from manyheads.tasks._registry import get_kind

__all__ = ["validate_data"]


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
            TablePreprocessor({col: input_kind}, []).fit(train)
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
