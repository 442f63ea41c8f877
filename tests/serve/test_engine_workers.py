"""``--engine onnxruntime`` with ``--workers 2``: parity within the export tolerance, the body
limit on chunked uploads, and metrics summed over the workers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from tests.serve._server import Server, as_records, predict_file

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
LIMIT = 4096


@pytest.fixture(scope="module")
def onnx_server(
    serve_root: Path, census_run: Path, census_rows: list[dict[str, object]]
) -> Iterator[Server]:
    import manyheads as mh
    from manyheads.export import export_onnx

    if not (census_run / "model.onnx").exists():
        sample = serve_root / "census-sample.jsonl"  # a run fitted on frames has no data files
        sample.write_text("".join(json.dumps(r) + "\n" for r in census_rows))
        export_onnx(mh.load(census_run), census_run / "model.onnx", data=sample)
    args = ["--model", f"census={census_run}", "--engine", "onnxruntime", "--workers", "2"]
    srv = Server([*args, "--max-body-bytes", str(LIMIT)], serve_root)
    yield srv
    srv.stop()


def _predict(server: Server, content: object) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/models/census/predict",
        content=content,  # type: ignore[arg-type]
        headers={"content-type": "application/json"},
        timeout=60,
    )


def test_onnxruntime_parity(
    onnx_server: Server, census_run: Path, census_rows: list[dict[str, object]], tmp_path: Path
) -> None:
    rows = census_rows[:3]  # three rows fit in the 4 KiB body limit
    r = httpx.post(f"{onnx_server.url}/v1/models/census/predict", json={"rows": rows})
    assert r.status_code == 200, r.text
    served = r.json()["predictions"]
    onnx = as_records(
        predict_file(census_run, rows, tmp_path / "o.parquet", "--engine", "onnxruntime")
    )
    assert served == onnx  # the same graph behind the same preprocessing
    eager = as_records(predict_file(census_run, rows, tmp_path / "t.parquet"))
    for task in ("income", "never_married"):
        got = np.array([p[f"{task}_proba"] for p in served])
        want = np.array([p[f"{task}_proba"] for p in eager])
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)  # the export's tolerance
    info = httpx.get(f"{onnx_server.url}/v1/models/census").json()
    assert info["engine"] == "onnxruntime"


def test_chunked_upload_cannot_pass_the_body_limit(
    onnx_server: Server, census_rows: list[dict[str, object]]
) -> None:
    body = json.dumps({"rows": census_rows[:2]}).encode()
    assert len(body) < LIMIT

    def chunks(data: bytes, size: int = 500) -> Iterator[bytes]:
        for start in range(0, len(data), size):
            yield data[start : start + size]

    ok = _predict(onnx_server, chunks(body))  # no Content-Length: Transfer-Encoding chunked
    assert ok.request.headers.get("transfer-encoding") == "chunked"
    assert ok.status_code == 200, ok.text

    big = json.dumps({"rows": census_rows[:5]}).encode()
    assert LIMIT < len(big) < 2 * LIMIT
    r = _predict(onnx_server, chunks(big))
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert r.status_code == 413, r.text
    assert r.json()["error"] == {
        "code": "body_too_large",
        "message": f"the request body is larger than {LIMIT} bytes (--max-body-bytes). Send "
        "fewer rows per request.",
        "field": None,
    }


def _samples(server: Server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{server.url}/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_add_up_over_the_workers(
    onnx_server: Server, census_rows: list[dict[str, object]]
) -> None:
    ok = (("model", "census"), ("route", "predict"), ("status", "200"))
    bad = (("model", "census"), ("route", "predict"), ("status", "422"))
    before = _samples(onnx_server)
    for i in range(6):  # a new connection each: the kernel spreads them over the workers
        r = httpx.post(
            f"{onnx_server.url}/v1/models/census/predict", json={"rows": census_rows[i : i + 1]}
        )
        assert r.status_code == 200
    r = httpx.post(f"{onnx_server.url}/v1/models/census/predict", json={"rows": [{"x": 1}]})
    assert r.status_code == 422
    after = _samples(onnx_server)

    def delta(name: str, labels: tuple[tuple[str, str], ...]) -> float:
        return after.get((name, labels), 0.0) - before.get((name, labels), 0.0)

    assert delta("manyheads_requests_total", ok) == 6
    assert delta("manyheads_requests_total", bad) == 1
    assert delta("manyheads_errors_total", (("code", "missing_column"),)) == 1
    latency = (("model", "census"), ("route", "predict"))
    assert delta("manyheads_request_seconds_count", latency) == 7
    assert delta("manyheads_batch_rows_count", (("model", "census"),)) == 6
    assert delta("manyheads_batch_rows_bucket", (("le", "1.0"), ("model", "census"))) == 6
    assert onnx_server.output().count("Started server process") == 2  # two worker processes
