"""The routes of the service, added to the application by :func:`add_routes`.

Each model gets its own ``GET /v1/models/<name>`` and ``POST /v1/models/<name>/predict`` with
its typed request and response models; a hidden ``{name}`` route answers unknown names (404
``unknown_model``, listing the served ones).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from manyheads._registry import did_you_mean
from manyheads.errors import DataError
from manyheads.serve._errors import ServeError, data_error
from manyheads.serve._schema import request_model, response_model

if TYPE_CHECKING:
    from manyheads.serve._app import ServeState

__all__ = ["ErrorBody", "add_routes"]


class ErrorDetail(BaseModel):
    """What went wrong: a code, a message and the field at fault (``rows[3].age``)."""

    code: str
    message: str
    field: str | None


class ErrorBody(BaseModel):
    """Every error response of the service."""

    error: ErrorDetail


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "The body is not JSON."),
        (404, "No model of that name."),
        (413, "Too many rows, or a body too large."),
        (422, "A row or task the model cannot take (the field is named)."),
        (503, "Not ready yet."),
        (504, "The prediction took longer than the timeout."),
    )
}


def add_routes(app: FastAPI, state: ServeState) -> None:
    """Add the service's routes for the models of ``state``."""

    @app.get("/health", tags=["service"])
    async def health() -> dict[str, str]:
        """Live: the process answers."""
        return {"status": "ok"}

    @app.get("/ready", tags=["service"], responses={503: _ERRORS[503]})
    async def ready() -> dict[str, object]:
        """Ready: every model is loaded and has made one prediction."""
        if not state.ready:
            raise ServeError(503, "not_ready", state.problem or "warming up the models.")
        return {"status": "ready", "models": list(state.predictors)}

    @app.get("/v1/models", tags=["models"])
    async def models() -> dict[str, list[dict[str, object]]]:
        """The served models: name, engine and tasks."""
        return {
            "models": [
                {"name": n, "engine": p.engine, "tasks": p.task_names}
                for n, p in state.predictors.items()
            ]
        }

    @app.get("/metrics", tags=["service"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics: requests, latency, batch sizes, errors."""
        return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    for name in state.predictors:
        _add_model_routes(app, state, name)
    _add_unknown_model_routes(app, state)


def _add_model_routes(app: FastAPI, state: ServeState, name: str) -> None:
    predictor = state.predictors[name]
    batcher = state.batchers[name]
    settings = state.settings
    info = predictor.info()
    body_type = request_model(name, predictor.run, max_rows=settings.max_rows)

    async def describe() -> dict[str, Any]:
        return info

    async def predict(body: BaseModel) -> Response:
        tasks = predictor.ordered(getattr(body, "tasks", None))
        rows = body.model_dump(by_alias=True)["rows"]
        try:
            predictions = await asyncio.wait_for(batcher.predict(rows, tasks), settings.timeout_s)
        except TimeoutError:
            raise ServeError(
                504,
                "timeout",
                f"the prediction took longer than {settings.timeout_s:g} s (--timeout-s). "
                "Send fewer rows per request, or retry later.",
            ) from None
        except DataError as exc:
            raise data_error(exc) from None
        return JSONResponse({"model": name, "predictions": predictions})

    predict.__annotations__["body"] = body_type  # FastAPI reads the body's type from here
    predicted = {200: {"model": response_model(name, predictor.run)}, **_ERRORS}
    # the model's routes: path under /v1/models/<name>, endpoint, method, summary, options;
    # each operation is named <endpoint>_<name> in the OpenAPI schema
    routes: list[tuple[str, Callable[..., Any], str, str, dict[str, Any]]] = [
        ("", describe, "GET", f"Model '{name}': tasks, inputs, metrics", {}),
        (
            "/predict",
            predict,
            "POST",
            f"Predict with model '{name}'",
            {"response_class": JSONResponse, "responses": predicted},
        ),
    ]
    for path, endpoint, method, summary, options in routes:
        app.add_api_route(
            f"/v1/models/{name}{path}",
            endpoint,
            methods=[method],
            tags=["models"],
            summary=summary,
            operation_id=f"{endpoint.__name__}_{name}",
            **options,
        )


def _add_unknown_model_routes(app: FastAPI, state: ServeState) -> None:
    names = list(state.predictors)

    async def unknown(name: str) -> Response:
        if name in names:  # a served model's route, asked with another method
            raise ServeError(405, "method_not_allowed", "method not allowed on this route.")
        raise ServeError(
            404,
            "unknown_model",
            f"no model '{name}'; this service serves: {', '.join(names)}."
            f"{did_you_mean(name, names)}",
            "name",
        )

    for path in ("/v1/models/{name}", "/v1/models/{name}/predict"):
        app.add_api_route(path, unknown, methods=["GET", "POST"], include_in_schema=False)
