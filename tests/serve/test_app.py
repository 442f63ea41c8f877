"""The application in-process (FastAPI's TestClient): timeouts, bugs, readiness, the batcher,
the settings and the command line's checks before a server starts."""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import manyheads as mh
from manyheads.errors import DataError, InvalidParameterError
from manyheads.serve import ServeSettings, create_app
from manyheads.serve._batching import MicroBatcher
from manyheads.serve._predictor import Predictor


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> mh.Run:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=120), "c": rng.choice(["a", "b"], 120)})
    frame["y"] = (frame.x > 0).astype(int)
    frame["z"] = frame.x * 2.0
    return mh.fit(
        frame,
        tasks=[mh.Task("y", type="binary"), mh.Task("z", type="regression")],
        epochs=1,
        output=tmp_path_factory.mktemp("toy") / "run",
    )


ROW = {"x": 0.5, "c": "a"}


def test_predict_in_process_equals_run_predict(toy: mh.Run) -> None:
    with TestClient(create_app({"toy": toy})) as client:
        r = client.post("/v1/models/toy/predict", json={"rows": [ROW, {"x": None, "c": "zzz"}]})
    assert r.status_code == 200
    expected = toy.predict(pd.DataFrame([ROW, {"x": None, "c": "zzz"}]))
    got = pd.DataFrame(r.json()["predictions"])
    assert got["y_proba"].tolist() == expected["y_proba"].astype(float).tolist()
    assert got["z"].tolist() == expected["z"].astype(float).tolist()


def test_timeout_is_504(toy: mh.Run) -> None:
    with TestClient(create_app({"toy": toy}, ServeSettings(timeout_s=1e-6))) as client:
        r = client.post("/v1/models/toy/predict", json={"rows": [ROW] * 200})
    assert r.status_code == 504
    assert r.json()["error"]["code"] == "timeout"
    assert r.json()["error"]["message"].startswith("the prediction took longer than 1e-06 s")


def test_a_bug_is_a_generic_500(toy: mh.Run, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app({"toy": toy})
    with TestClient(app, raise_server_exceptions=False) as client:
        predictor = app.state.serve.predictors["toy"]

        def broken(*args: object) -> None:
            raise RuntimeError("secret internals")

        monkeypatch.setattr(predictor, "predict_tasks", broken)
        r = client.post("/v1/models/toy/predict", json={"rows": [ROW]})
        metrics = client.get("/metrics").text
    assert r.status_code == 500
    assert r.json() == {
        "error": {
            "code": "internal",
            "message": "internal error; the server log has the details.",
            "field": None,
        }
    }
    assert "secret" not in r.text
    assert 'manyheads_errors_total{code="internal"} 1.0' in metrics


def test_not_ready_when_the_warm_up_fails(toy: mh.Run, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Predictor, *args: object) -> None:
        raise ValueError("no luck")

    monkeypatch.setattr(Predictor, "predict_tasks", broken)
    with TestClient(create_app({"toy": toy})) as client:
        for _ in range(50):
            r = client.get("/ready")
            if "warm-up" in r.text:
                break
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "not_ready"
    assert r.json()["error"]["message"] == "model 'toy' failed its warm-up prediction: no luck"
    assert client.get("/health").status_code == 200


def test_openapi_has_typed_models(toy: mh.Run) -> None:
    with TestClient(create_app({"toy": toy, "toy2": toy})) as client:
        schema = client.get("/openapi.json").json()
    schemas = schema["components"]["schemas"]
    row = schemas["toy_Row"]
    assert row["required"] == ["x", "c"]
    assert row["additionalProperties"] is False
    assert {"type": "number"} in row["properties"]["x"]["anyOf"]
    request = schemas["toy_PredictRequest"]
    assert request["properties"]["rows"]["maxItems"] == 1000
    assert request["example"] == {
        "rows": [{"x": pytest.approx(toy.preprocessor.numeric_["x"]["mean"]), "c": "a"}]
    }  # type: ignore[index]
    prediction = schemas["toy_Prediction"]["properties"]
    assert prediction["y"]["type"] == "integer"
    assert prediction["y_proba"]["type"] == "number"
    operation = schema["paths"]["/v1/models/toy2/predict"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "toy2_PredictRequest"
    )
    assert set(operation["responses"]) >= {"200", "413", "422", "504"}
    assert "/v1/models/{name}" not in schema["paths"]


def test_batcher_gathers_and_isolates_a_bad_request(toy: mh.Run) -> None:
    predictor = Predictor("toy", toy, "torch")
    sizes: list[int] = []

    async def main() -> list[object]:
        batcher = MicroBatcher(
            predictor,
            ThreadPoolExecutor(1),
            max_batch_size=64,
            max_wait_ms=200,
            on_batch=sizes.append,
        )
        batcher.start()
        bad = [{"x": 1e308, "c": "a"}]  # refused by the preprocessing (float32 overflow)
        jobs = [batcher.predict([ROW] * 3, ["y", "z"]), batcher.predict([ROW], ["z"])]
        jobs.append(batcher.predict(bad, ["y"]))
        out = await asyncio.gather(*jobs, return_exceptions=True)
        await batcher.stop()
        return out

    three, one, failed = asyncio.run(main())
    # the three requests' call failed on the bad row: then each request alone, the bad one fails
    assert sizes == [3, 1]
    assert isinstance(failed, DataError)
    assert isinstance(three, list)
    assert isinstance(one, list)
    assert len(three) == 3
    assert list(three[0]) == ["y", "y_proba", "z"]
    # one row alone vs three in a batch: a matrix product of another shape (last bits may move)
    assert one == [{"z": pytest.approx(three[0]["z"], rel=1e-5)}]


def test_batcher_full_batch_and_held_request(toy: mh.Run) -> None:
    predictor = Predictor("toy", toy, "torch")
    sizes: list[int] = []

    async def main() -> None:
        batcher = MicroBatcher(
            predictor,
            ThreadPoolExecutor(1),
            max_batch_size=4,
            max_wait_ms=50,
            on_batch=sizes.append,
        )
        batcher.start()
        await asyncio.gather(*(batcher.predict([ROW] * 2, ["y"]) for _ in range(3)))
        await batcher.predict([ROW] * 9, ["y"])  # more rows than a batch: predicted alone
        await batcher.stop()

    asyncio.run(main())
    assert sizes == [4, 2, 9]  # two requests fill a batch, the third waits for the next


def test_settings_checked_and_round_trip() -> None:
    settings = ServeSettings(engine="onnxruntime", max_batch_size=16, max_wait_ms=5, timeout_s=2.5)
    assert ServeSettings.from_json(settings.to_json()) == settings
    with pytest.raises(InvalidParameterError, match="'engine' setting of serve must be one of"):
        ServeSettings(engine="tf")
    with pytest.raises(InvalidParameterError, match=r"'timeout_s' setting .* > 0\. Got 0"):
        ServeSettings(timeout_s=0)
    with pytest.raises(InvalidParameterError, match=r"'max_wait_ms' setting .* Got -1"):
        ServeSettings(max_wait_ms=-1)
    with pytest.raises(InvalidParameterError, match=r"'max_body_bytes' .* Got True"):
        ServeSettings(max_body_bytes=True)
    with pytest.raises(InvalidParameterError, match="at least one model"):
        create_app({})


def test_cli_refuses_before_serving(toy: mh.Run, capsys: pytest.CaptureFixture[str]) -> None:
    from manyheads.cli.main import main

    assert toy.directory is not None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert main(["serve", str(toy.directory), "--port", port]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert main(["serve", "--model", f"a={toy.directory}", "--model", "a=elsewhere"]) == 2
    assert "the model name 'a' is given twice" in capsys.readouterr().err
    assert main(["serve", "--model", "m=/no/such/run", "--port", "0"]) == 2
    assert "/no/such/run" in capsys.readouterr().err
    assert main(["serve"]) == 2
    assert "no model to serve" in capsys.readouterr().err
    assert (
        main(["serve", "--model", f"m={toy.directory}", "--engine", "onnxruntime", "--port", "0"])
        == 2
    )
    assert "Export it first: manyheads export RUN --format onnx" in capsys.readouterr().err
    assert main(["serve", str(toy.directory), "--max-batch-size", "0"]) == 2
    assert "'max_batch_size' setting of serve must be an int >= 1" in capsys.readouterr().err


def test_model_name_from_run_folder(toy: mh.Run) -> None:
    from manyheads.cli.serve import model_paths

    assert toy.directory is not None
    assert model_paths(str(toy.directory), []) == {"run": str(toy.directory)}
    assert model_paths(None, ["a=x", "b=y"]) == {"a": "x", "b": "y"}
    assert Path(model_paths(str(toy.directory) + "/", [])["run"]).name == "run"


def test_every_row_task_type_answers_the_prediction_columns(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """binary (string classes), multiclass (int classes), multilabel and regression: the
    described columns, the OpenAPI record and the answer have predict's names, values, types."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=90), "c": rng.choice(["a", "b", "c"], 90)})
    frame["yes"] = np.where(frame.x > 0, "yes", "no")
    frame["grade"] = rng.integers(1, 4, 90)
    frame["red"] = (frame.c == "a").astype(int)
    frame["blue"] = (frame.x > 1).astype(int)
    frame["z"] = frame.x * 3.0
    tasks = [
        mh.Task("yes", type="binary"),
        mh.Task("grade", type="multiclass"),
        mh.Task("colour", type="multilabel", columns=("red", "blue")),
        mh.Task("z", type="regression"),
    ]
    run = mh.fit(frame, tasks=tasks, epochs=1, output=tmp_path_factory.mktemp("types") / "run")
    rows = [{"x": 0.3, "c": "b"}, {"x": -2.0, "c": "a"}]
    expected = run.predict(pd.DataFrame(rows))
    with TestClient(create_app({"types": run})) as client:
        described = client.get("/v1/models/types").json()["tasks"]
        record = client.get("/openapi.json").json()["components"]["schemas"]["types_Prediction"]
        answer = client.post("/v1/models/types/predict", json={"rows": rows}).json()
    columns = [c for task in described for c in task["columns"]]
    assert columns == list(expected.columns)
    assert list(record["properties"]) == columns
    kinds = {"integer": int, "number": float, "string": str}
    for column in columns:
        values = [p[column] for p in answer["predictions"]]
        assert values == expected[column].tolist()
        assert all(type(v) is kinds[record["properties"][column]["type"]] for v in values)
    assert described[2]["labels"] == ["red", "blue"]
    assert described[1]["classes"] == ["1", "2", "3"]
