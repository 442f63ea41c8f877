"""The baseline of bench/serve.py: a plain FastAPI endpoint around one loaded run's ``predict``.

    python bench/_serve_plain.py --model NAME=RUN --port P

What a user would write by hand: the same request body as ``manyheads serve``
(``{"rows": [{column: value, ...}]}``), a DataFrame built from the rows, :meth:`Run.predict` of
the loaded run, and the records back (``{"model": NAME, "predictions": [...]}``). The handler is a
plain ``def``, so FastAPI runs it in its thread pool (its documented way for blocking calls);
uvicorn with one worker, no access log. ``GET /ready`` answers 200 once the run is loaded.
"""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

import manyheads as mh


class Rows(BaseModel):
    """The request body: the rows to predict, one dict of input columns each."""

    rows: list[dict[str, Any]]


def make_app(name: str, run: mh.Run) -> FastAPI:
    """The app: ``GET /ready`` and ``POST /v1/models/{name}/predict`` around ``run.predict``."""
    app = FastAPI()

    @app.get("/ready")
    def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/v1/models/{model}/predict")
    def predict(model: str, body: Rows) -> dict[str, Any]:
        if model != name:
            raise HTTPException(status_code=404, detail=f"no model {model!r}")
        predictions = run.predict(pd.DataFrame.from_records(body.rows))
        return {"model": name, "predictions": predictions.to_dict(orient="records")}

    return app


def main(argv: list[str] | None = None) -> int:
    """Load the run and serve it on 127.0.0.1 until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="NAME=RUN")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    name, _, path = args.model.partition("=")
    run = mh.load(path)
    run.model.eval()
    uvicorn.run(
        make_app(name, run), host=args.host, port=args.port, workers=1, log_level="warning",
        access_log=False,
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
