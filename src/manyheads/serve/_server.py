"""Load runs and run the service with uvicorn (``manyheads serve``).

Every model is loaded, and the port checked, before the server starts, so that a bad path or
name is an error message (exit 2) rather than a server that fails later. With ``workers`` > 1
uvicorn starts that many processes, each building the application from an import string
(:func:`app_from_env`): the models' paths and the settings reach them as JSON in the
:data:`ENV_VAR` environment variable, and their metrics are summed over a
``PROMETHEUS_MULTIPROC_DIR`` that lives as long as the server.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from collections.abc import Mapping
from pathlib import Path

from fastapi import FastAPI

from manyheads.errors import DataError
from manyheads.serve._app import check_model_name, create_app
from manyheads.serve._settings import ServeSettings
from manyheads.workflow._run import Run, load

__all__ = ["ENV_VAR", "app_from_env", "check_port", "load_models", "serve"]

#: The environment variable that carries the models and settings to uvicorn's workers.
ENV_VAR = "MANYHEADS_SERVE_CONFIG"


def load_models(paths: Mapping[str, str | Path], engine: str = "torch") -> dict[str, Run]:
    """Load each run (name -> run directory or bundle); with ``engine`` ``onnxruntime``, check
    that each has its exported graph.

    Raises:
        InvalidParameterError: a name that cannot be in a URL.
        DataError: a path that holds no model (naming it), or no exported graph.
    """
    models = {}
    for name, path in paths.items():
        check_model_name(name)
        run = load(path)
        if engine == "onnxruntime":
            from manyheads.export import onnx_engine

            onnx_engine(run)  # refuses a missing or stale graph now, not in a worker
        models[name] = run
    return models


def check_port(host: str, port: int) -> None:
    """Refuse a host that does not resolve or a port already taken, before loading anything.

    Raises:
        DataError: naming the address and the reason.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as exc:
        raise DataError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}). Choose another --port, "
            "stop the program that holds it, or fix --host."
        ) from None


def serve(
    paths: Mapping[str, str | Path],
    settings: ServeSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    access_log: bool = False,
) -> None:
    """Load the runs of ``paths`` (name -> folder) and serve them until SIGINT or SIGTERM, after
    which the requests in flight are answered before the process ends.

    Raises:
        DataError: a path without a model, a taken port.
        InvalidParameterError: a name that cannot be in a URL.
    """
    import uvicorn

    check_port(host, port)
    models = load_models(paths, settings.engine)
    options = {"host": host, "port": port, "access_log": access_log, "log_level": "info"}
    if workers == 1:
        uvicorn.run(create_app(models, settings), **options)  # type: ignore[arg-type]
        return
    absolute = {name: str(Path(p).resolve()) for name, p in paths.items()}
    os.environ[ENV_VAR] = json.dumps({"models": absolute, "settings": settings.to_json()})
    with tempfile.TemporaryDirectory(prefix="manyheads-metrics-") as metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        uvicorn.run(
            "manyheads.serve._server:app_from_env",
            factory=True,
            workers=workers,
            **options,  # type: ignore[arg-type]
        )


def app_from_env() -> FastAPI:
    """The application of one uvicorn worker, from :data:`ENV_VAR` (set by :func:`serve`)."""
    config = json.loads(os.environ[ENV_VAR])
    settings = ServeSettings.from_json(config["settings"])
    return create_app(load_models(config["models"]), settings)
