"""Serve trained runs over HTTP: ``manyheads serve`` (docs/serving.md).

:func:`create_app` builds the FastAPI application for loaded runs; :func:`serve` loads runs
from their folders and runs it with uvicorn. Needs the ``serve`` extra (``pip install
'manyheads[serve]'``: fastapi, starlette, uvicorn, prometheus_client).
"""

from manyheads.serve._app import create_app
from manyheads.serve._server import load_models, serve
from manyheads.serve._settings import ENGINES, ServeSettings

__all__ = ["ENGINES", "ServeSettings", "create_app", "load_models", "serve"]
