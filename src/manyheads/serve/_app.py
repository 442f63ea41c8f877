"""The HTTP application: :func:`create_app` serves loaded runs under their names.

Routes (docs/serving.md): ``GET /health``, ``GET /ready``, ``GET /v1/models``,
``GET /v1/models/{name}``, ``POST /v1/models/{name}/predict``, ``GET /metrics``; the OpenAPI
schema (``/openapi.json``, ``/docs``) has one typed request and response model per model.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import re
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI

from manyheads.errors import InvalidParameterError
from manyheads.serve._batching import MicroBatcher
from manyheads.serve._errors import install_handlers
from manyheads.serve._limits import BodyLimit
from manyheads.serve._metrics import MetricsMiddleware, ServeMetrics
from manyheads.serve._predictor import Predictor
from manyheads.serve._routes import add_routes
from manyheads.serve._schema import example_row
from manyheads.serve._settings import ServeSettings
from manyheads.workflow._run import Run

__all__ = ["NAME_PATTERN", "ServeState", "check_model_name", "create_app"]

#: What a model's name may hold: it is a path segment of its routes.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: Threads that run predictions: a few, so that concurrent requests overlap their Python
#: (parsing, decoding) without every request's network fighting for the same cores.
N_THREADS = min(4, os.cpu_count() or 1)
_LOG = logging.getLogger("manyheads.serve")


@dataclasses.dataclass(eq=False)
class ServeState:
    """What the routes share: the models, their batchers, the settings and the metrics."""

    predictors: dict[str, Predictor]
    batchers: dict[str, MicroBatcher]
    settings: ServeSettings
    metrics: ServeMetrics
    executor: ThreadPoolExecutor
    ready: bool = False
    problem: str | None = None


def check_model_name(name: str) -> None:
    """Refuse a name that cannot be a path segment of the routes.

    Example:
        >>> check_model_name("census-v2")
        >>> check_model_name("my model")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: The model name 'my model' must be 1-64 ...
    """
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidParameterError(
            f"The model name {name!r} must be 1-64 letters, digits, '_', '.' or '-', starting "
            "with a letter or digit (it is part of the URL /v1/models/NAME/predict)."
        )


def create_app(models: Mapping[str, Run], settings: ServeSettings | None = None) -> FastAPI:
    """The application serving ``models`` (name -> loaded run).

    Args:
        models: the runs by the name their routes use (at least one).
        settings: limits, micro-batching and engine (default :class:`ServeSettings`). With
            ``engine="onnxruntime"`` each run predicts with its exported ``model.onnx``.

    Raises:
        InvalidParameterError: no model, or a name that cannot be in a URL.
        DataError: ``onnxruntime`` for a run without its exported graph.

    Example:
        >>> import manyheads as mh, numpy as np, pandas as pd
        >>> from fastapi.testclient import TestClient
        >>> df = pd.DataFrame({"x": np.arange(40.0), "y": np.arange(40) % 2})
        >>> run = mh.fit(df, tasks=[mh.Task("y", type="binary")], epochs=1)
        >>> with TestClient(create_app({"toy": run})) as client:
        ...     body = client.post("/v1/models/toy/predict", json={"rows": [{"x": 3.0}]}).json()
        >>> sorted(body["predictions"][0])
        ['y', 'y_proba']
    """
    settings = settings or ServeSettings()
    if not models:
        raise InvalidParameterError("create_app needs at least one model to serve.")
    for name in models:
        check_model_name(name)
    state = _state(models, settings)
    app = FastAPI(
        title="manyheads",
        version=_version(),
        summary="Predictions of trained manyheads multi-task models.",
        lifespan=_lifespan(state),
    )
    app.state.serve = state
    install_handlers(app, {n: dict(r.preprocessor.inputs) for n, r in models.items()})
    add_routes(app, state)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics, models=set(models))  # outermost
    return app


def _version() -> str:
    from manyheads import __version__

    return __version__


def _state(models: Mapping[str, Run], settings: ServeSettings) -> ServeState:
    if settings.engine == "onnxruntime":
        from manyheads.export import onnx_engine

        models = {name: onnx_engine(run) for name, run in models.items()}
    predictors = {name: Predictor(name, run, settings.engine) for name, run in models.items()}
    metrics = ServeMetrics()
    executor = ThreadPoolExecutor(max_workers=N_THREADS, thread_name_prefix="manyheads-predict")
    batchers = {
        name: MicroBatcher(
            p,
            executor,
            max_batch_size=settings.max_batch_size,
            max_wait_ms=settings.max_wait_ms,
            on_batch=metrics.batch_rows.labels(name).observe,
        )
        for name, p in predictors.items()
    }
    return ServeState(predictors, batchers, settings, metrics, executor)


def _lifespan(state: ServeState):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for batcher in state.batchers.values():
            batcher.start()
        warm = asyncio.get_running_loop().create_task(_warm_up(state))
        try:
            yield
        finally:
            warm.cancel()
            for batcher in state.batchers.values():
                await batcher.stop()
            state.executor.shutdown(wait=False, cancel_futures=True)

    return lifespan


async def _warm_up(state: ServeState) -> None:
    """Predict one typical row with every model, then say ready (``GET /ready``)."""
    loop = asyncio.get_running_loop()
    for name, predictor in state.predictors.items():
        row = example_row(predictor.run)
        try:
            await loop.run_in_executor(
                state.executor, predictor.predict_tasks, [row], predictor.task_names
            )
        except Exception as exc:
            state.problem = f"model '{name}' failed its warm-up prediction: {exc}"
            _LOG.error("%s", state.problem, exc_info=exc)
            return
    state.ready = True
