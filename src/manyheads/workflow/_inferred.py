"""The inputs of a config that names none: every usable column but the labels, kind inferred."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from manyheads.config.schema import RunConfig
from manyheads.data.preprocess import infer_kind
from manyheads.errors import DataError

__all__ = [
    "infer_inputs",
    "inference_notes",
    "resolve_inputs",
    "skipped_inputs",
    "suspect_inputs",
]

Log = Callable[[str], None]


def infer_inputs(config: RunConfig, train: pd.DataFrame) -> dict[str, str]:
    """Every column of ``train`` but the labels, the split column and the columns of no use
    (:func:`skipped_inputs`), with its inferred kind."""
    skipped = skipped_inputs(config, train)
    return {str(c): infer_kind(train[c]) for c in _candidates(config, train) if c not in skipped}


def skipped_inputs(config: RunConfig, train: pd.DataFrame) -> dict[str, str]:
    """The columns a config without ``inputs`` leaves out, and why (empty, a named row id)."""
    return {c: why for c, (why, out) in _notes(config, train).items() if out}


def suspect_inputs(config: RunConfig, train: pd.DataFrame) -> dict[str, str]:
    """The inferred inputs that look like a row id but are used (their name does not say so)."""
    return {c: why for c, (why, out) in _notes(config, train).items() if not out}


def inference_notes(config: RunConfig, train: pd.DataFrame) -> list[str]:
    """What to tell the user of the columns left out or kept with a doubt (none: [])."""
    lines = []
    notes = _notes(config, train)
    skipped = {c: why for c, (why, out) in notes.items() if out}
    suspect = [c for c, (_, out) in notes.items() if not out]
    if skipped:
        lines.append(
            "not used as inputs (list them under 'inputs' to use them): "
            + ", ".join(f"{c} ({why})" for c, why in skipped.items())
        )
    if suspect:
        lines.append(
            "used as inputs, but they look like row ids (every value distinct); a model can "
            "only memorise an id, and a file sorted by the label leaks it through one: "
            + ", ".join(suspect)
            + ". Set 'inputs' without them if they are ids."
        )
    return lines


def _notes(config: RunConfig, train: pd.DataFrame) -> dict[str, tuple[str, bool]]:
    from manyheads.data._unused import column_note

    notes = {c: column_note(c, train[c]) for c in _candidates(config, train)}
    return {c: note for c, note in notes.items() if note is not None}


def _candidates(config: RunConfig, train: pd.DataFrame) -> list[str]:
    labels = {c for t in config.tasks for c in t.label_columns}
    skip = labels | ({config.data.split_column} if config.data.split_column else set())
    return [str(c) for c in train.columns if c not in skip]


def resolve_inputs(
    config: RunConfig, train: pd.DataFrame, log: Log | None = None
) -> dict[str, str]:
    """The configured inputs, or every non-label column with an inferred kind (and say so)."""
    if config.inputs is not None:
        return dict(config.inputs)
    inputs = infer_inputs(config, train)
    if not inputs:
        skipped = skipped_inputs(config, train)
        left_out = (
            " and the columns of no use ("
            + ", ".join(f"{c}: {why}" for c, why in skipped.items())
            + "; list them under 'inputs' to use them anyway)"
            if skipped
            else ""
        )
        raise DataError(
            f"no input column left after removing the label columns{left_out}.",
            path=str(train.attrs.get("path")),
        )
    if log is not None:
        log(
            "inferred inputs (set 'inputs' to override): "
            + ", ".join(f"{c}: {k}" for c, k in inputs.items())
        )
        for line in inference_notes(config, train):
            log(line)
    return inputs
