"""The typed request and response models of one served model, built from its inputs and tasks.

FastAPI validates each request with them and ``/openapi.json`` shows them (docs/serving.md,
"Requests"). A row holds every input column, typed by its kind (:data:`CELL_TYPES`): the JSON
types a ``manyheads predict`` JSONL row may hold there, with a value (``null``) for a missing
cell. A column the model does not read is refused (a misspelt column would otherwise be
predicted as missing).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr
from pydantic import create_model as pydantic_model

from manyheads.workflow._run import Run

__all__ = ["CELL_TYPES", "EXPECTED", "example_row", "request_model", "response_model"]

Number = StrictInt | StrictFloat

#: Input kind -> the type of its cell in a request row (images: :func:`_image_type`).
CELL_TYPES: dict[str, object] = {
    "numeric": Number | None,
    "categorical": StrictStr | StrictInt | StrictFloat | StrictBool | None,
    "text": StrictStr | None,
    "tokens": list[StrictStr] | None,
}

#: Input kind -> what its cell must be, as error messages say it.
EXPECTED: dict[str, str] = {
    "numeric": "a JSON number, or null for a missing value",
    "categorical": "a string (or a number or boolean, as in the training file), or null",
    "text": "a string, or null",
    "tokens": "a list of words (strings), or null",
    "image": "nested lists of numbers, H x W or C x H x W",
}

_FORBID = ConfigDict(extra="forbid", populate_by_name=True)


def _schema_name(name: str, suffix: str) -> str:
    """A schema name from a model name: ``census-v2`` -> ``census_v2_Row``."""
    return f"{re.sub(r'[^0-9A-Za-z_]', '_', name)}_{suffix}"


def _exactly(item: object, n: int) -> object:
    """A list of ``n`` items."""
    return Annotated[list[item], Field(min_length=n, max_length=n)]  # type: ignore[valid-type]


def _image_type(shape: list[int]) -> object:
    """Nested lists of the image's shape; one channel may drop its axis (``H x W``)."""
    c, h, w = shape
    chw = _exactly(_exactly(_exactly(Number, w), h), c)
    if c != 1:
        return chw
    return _exactly(_exactly(Number, w), h) | chw  # type: ignore[operator]


def _cell_type(run: Run, column: str, kind: str) -> object:
    if kind == "image":
        return _image_type([int(v) for v in run.preprocessor.image_[column]["shape"]])
    return CELL_TYPES.get(kind, Any)


def row_model(name: str, run: Run) -> type[BaseModel]:
    """One request row: every input column, typed by its kind (fields by index, aliased to the
    column, so that any column name works)."""
    fields: dict[str, Any] = {}
    for i, (column, kind) in enumerate(run.preprocessor.inputs.items()):
        fields[f"c{i}"] = (_cell_type(run, column, kind), Field(alias=column))
    model: type[BaseModel] = pydantic_model(_schema_name(name, "Row"), __config__=_FORBID, **fields)
    return model


def request_model(name: str, run: Run, *, max_rows: int) -> type[BaseModel]:
    """The body of ``POST /v1/models/{name}/predict``: ``rows`` and optional ``tasks``."""
    task_name: Any = Literal[tuple(t.name for t in run.tasks)]
    row: Any = row_model(name, run)
    example: Any = {"rows": [example_row(run)]}
    fields: dict[str, Any] = {
        "rows": (
            list[row],
            Field(min_length=1, max_length=max_rows, description="input rows, one object each"),
        ),
        "tasks": (
            list[task_name] | None,
            Field(default=None, min_length=1, description="tasks to predict (default: all)"),
        ),
    }
    model: type[BaseModel] = pydantic_model(
        _schema_name(name, "PredictRequest"),
        __config__=ConfigDict(extra="forbid", json_schema_extra={"example": example}),
        **fields,
    )
    return model


def response_model(name: str, run: Run) -> type[BaseModel]:
    """The body of a prediction: ``model`` and one record per row with each task's columns (a
    field is absent when its task was not asked for)."""
    fields: dict[str, Any] = {}
    for fitted in run.fitted_tasks:
        for column, kind in prediction_columns(run, fitted.name).items():
            fields[f"p{len(fields)}"] = (kind, Field(default=None, alias=column))
    record: Any = pydantic_model(
        _schema_name(name, "Prediction"), __config__=ConfigDict(populate_by_name=True), **fields
    )
    model: type[BaseModel] = pydantic_model(
        _schema_name(name, "PredictResponse"), model=(str, ...), predictions=(list[record], ...)
    )
    return model


def prediction_columns(run: Run, task: str) -> dict[str, Any]:
    """Column -> Python type of the columns ``task`` predicts, found by decoding a zero output
    (a token-level task: a list of tags)."""
    fitted = next(t for t in run.fitted_tasks if t.name == task)
    if fitted.task_type.level == "token":
        return {task: list[str]}
    columns = fitted.predict(torch.zeros(1, fitted.out_dim))
    return {column: _json_type(values) for column, values in columns.items()}


def _json_type(values: np.ndarray) -> Any:  # noqa: ANN401 - a type object, for pydantic
    if values.dtype == bool:
        return bool
    if np.issubdtype(values.dtype, np.integer):
        return int
    if np.issubdtype(values.dtype, np.floating):
        return float
    return str


def example_row(run: Run) -> dict[str, object]:
    """A valid row of typical values: numeric means, the first category, a word of text, a
    zero image. The service's warm-up predicts it, and the OpenAPI example shows it."""
    pre = run.preprocessor
    row: dict[str, object] = {}
    for column, kind in pre.inputs.items():
        if kind == "numeric":
            row[column] = float((pre.numeric_ or {})[column]["mean"])
        elif kind == "categorical":
            values: list[str | None] = [*pre.categorical_[column], None]
            row[column] = values[0]
        elif kind == "text":
            row[column] = "good"
        elif kind == "tokens":
            row[column] = ["good"]
        elif kind == "image":
            c, h, w = (int(v) for v in pre.image_[column]["shape"])
            row[column] = np.zeros((c, h, w)).tolist()
        else:
            row[column] = None
    return row
