"""Every error of the service as ``{"error": {"code", "message", "field"}}`` with a 4xx status
naming the field at fault; a real bug is a generic 500 whose details go to the server log only.

The codes (docs/serving.md, "Errors"): ``invalid_json``, ``invalid_input``, ``unknown_column``,
``missing_column``, ``unknown_task``, ``too_many_rows``, ``body_too_large``, ``unknown_model``,
``not_found``, ``method_not_allowed``, ``timeout``, ``not_ready``, ``internal``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from manyheads._registry import did_you_mean
from manyheads.errors import DataError
from manyheads.serve._predictor import REQUEST
from manyheads.serve._schema import EXPECTED

__all__ = ["CODE_HEADER", "ServeError", "error_response", "install_handlers"]

#: The response header that carries an error's code (the metrics count errors by it).
CODE_HEADER = "x-manyheads-error"
_LOG = logging.getLogger("manyheads.serve")
_STATUS_CODES = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}


class ServeError(Exception):
    """An error answered as JSON: its status, code, message and the field at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    """The JSON error body with ``status``.

    Example:
        >>> error_response(404, "unknown_model", "no model 'x'.").body
        b'{"error":{"code":"unknown_model","message":"no model \\'x\\'.","field":null}}'
    """
    body = {"error": {"code": code, "message": message, "field": field}}
    return JSONResponse(body, status_code=status, headers={CODE_HEADER: code})


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _row_field(loc: Sequence[int | str]) -> str:
    """``rows[3].age`` from a location ``("body", "rows", 3, "age", "int", ...)``."""
    field = "rows" if len(loc) < 3 else f"rows[{loc[2]}]"
    return field if len(loc) < 4 else f"{field}.{loc[3]}"


def validation_error(errors: Sequence[Any], inputs: dict[str, str], tasks: list[str]) -> ServeError:
    """The first problem of a request that failed validation, as a :class:`ServeError`."""
    err = errors[0]
    loc = tuple(err.get("loc", ()))
    kind = err.get("type", "")
    # a cell of a union type fails once per member: count the fields at fault
    n_fields = len({tuple(e.get("loc", ()))[:4] for e in errors})
    more = f" ({n_fields - 1} more problem(s) in this request.)" if n_fields > 1 else ""
    if kind in ("json_invalid", "json_type"):
        return ServeError(400, "invalid_json", f"the body is not valid JSON: {err.get('msg')}.")
    if loc[:2] == ("body", "rows") and len(loc) >= 3:
        return _row_error(err, loc, inputs, more)
    if loc[:2] == ("body", "tasks"):
        got = err.get("input")
        return ServeError(
            422,
            "unknown_task",
            f"'tasks' must be a non-empty list of this model's tasks ({', '.join(tasks)}); got "
            f"{_short(got)}.{did_you_mean(str(got), tasks)}{more}",
            "tasks" if len(loc) < 3 else f"tasks[{loc[2]}]",
        )
    if loc[:2] == ("body", "rows") and kind == "too_long":
        n = err.get("ctx", {}).get("actual_length")
        limit = err.get("ctx", {}).get("max_length")
        return ServeError(
            413, "too_many_rows", f"{n} rows; a request holds at most {limit} (--max-rows). "
            "Send the rows in several requests.", "rows",
        )  # fmt: skip
    if len(loc) == 2 and kind == "extra_forbidden":
        return ServeError(
            422, "invalid_input", f"unknown key '{loc[1]}': the body holds 'rows' and "
            "optionally 'tasks'.", str(loc[1]),
        )  # fmt: skip
    return ServeError(
        422,
        "invalid_input",
        'the body must be a JSON object {"rows": [{<input column>: value, ...}, ...], "tasks": '
        f"[...]}} with at least one row; {err.get('msg', '').lower()}.{more}",
        ".".join(str(p) for p in loc[1:]) or "body",
    )


def _row_error(err: Any, loc: tuple[Any, ...], inputs: dict[str, str], more: str) -> ServeError:  # noqa: ANN401 - a pydantic error dict
    field, kind = _row_field(loc), err.get("type", "")
    names = ", ".join(inputs)
    if len(loc) == 3:
        return ServeError(
            422, "invalid_input", f"{field} must be a JSON object of the input columns "
            f"({names}); got {_short(err.get('input'))}.{more}", field,
        )  # fmt: skip
    column = str(loc[3])
    if kind == "missing":
        return ServeError(
            422, "missing_column", f"{field}: the input column '{column}' is missing. Send every "
            f"input column ({names}); null is a missing value.{more}", field,
        )  # fmt: skip
    if kind == "extra_forbidden":
        return ServeError(
            422, "unknown_column", f"{field}: '{column}' is not an input of this model "
            f"({names}).{did_you_mean(column, list(inputs))}{more}", field,
        )  # fmt: skip
    expected = EXPECTED.get(inputs.get(column, ""), "another value")
    return ServeError(
        422, "invalid_input", f"{field}: {inputs.get(column, 'input')} input expected "
        f"({expected}); got {_short(_cell(err, loc))}.{more}", field,
    )  # fmt: skip


def _cell(err: Any, loc: tuple[Any, ...]) -> object:  # noqa: ANN401 - a pydantic error dict
    """The offending value: the cell itself when the error sits deeper (a pixel, a word)."""
    return err.get("input") if len(loc) <= 5 else f"{_short(err.get('input'))} inside the cell"


def data_error(exc: DataError) -> ServeError:
    """A cell the preprocessing refused (:class:`DataError` whose line is the row)."""
    where = [str(p) for p in (exc.path,) if p is not None]
    where += [f"line {exc.line}"] if exc.line is not None else []
    where += [f"column '{exc.column}'"] if exc.column is not None else []
    prefix = ", ".join(where) + ": "
    message = str(exc)
    message = message[len(prefix) :] if where and message.startswith(prefix) else message
    field = None
    if exc.path == REQUEST and exc.line is not None:
        field = f"rows[{exc.line}]" + (f".{exc.column}" if exc.column is not None else "")
    elif exc.column is not None:
        field = f"rows[*].{exc.column}"
    return ServeError(422, "invalid_input", f"{field}: {message}" if field else message, field)


def install_handlers(app: FastAPI, inputs: dict[str, dict[str, str]]) -> None:
    """Answer every error as JSON (``inputs``: model -> its input columns' kinds)."""

    async def serve_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServeError)
        return error_response(exc.status, exc.code, exc.message, exc.field)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        model = request.path_params.get("name") or request.url.path.split("/")[3]
        served = request.app.state.serve.predictors.get(model)
        tasks = served.task_names if served is not None else []
        err = validation_error(exc.errors(), inputs.get(model, {}), tasks)
        return error_response(err.status, err.code, err.message, err.field)

    async def bug(request: Request, exc: Exception) -> JSONResponse:
        _LOG.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal", "internal error; the server log has the details.")

    app.add_exception_handler(ServeError, serve_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, bug)
