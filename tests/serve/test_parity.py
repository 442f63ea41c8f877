"""A real ``manyheads serve`` on 127.0.0.1 answers exactly what ``manyheads predict`` writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.serve._server import Server, as_records, predict_file

httpx = pytest.importorskip("httpx")


@pytest.fixture(scope="module")
def server(serve_root: Path, census_run: Path) -> Iterator[Server]:
    srv = Server(["--model", f"census={census_run}", "--max-rows", "100"], serve_root)
    yield srv
    srv.stop()


def test_census_predictions_equal_the_prediction_file(
    server: Server, census_run: Path, census_rows: list[dict[str, object]], tmp_path: Path
) -> None:
    expected = as_records(predict_file(census_run, census_rows, tmp_path / "census.parquet"))
    r = httpx.post(f"{server.url}/v1/models/census/predict", json={"rows": census_rows}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "census"
    assert body["predictions"] == expected  # every key and value, floats to the last bit
    assert list(body["predictions"][0]) == [
        "income",
        "income_proba",
        "never_married",
        "never_married_proba",
    ]

    # one row at a time: the same values
    one = httpx.post(
        f"{server.url}/v1/models/census/predict", json={"rows": census_rows[3:4]}, timeout=30
    )
    assert one.json()["predictions"] == expected[3:4]


def test_census_some_tasks(
    server: Server, census_run: Path, census_rows: list[dict[str, object]], tmp_path: Path
) -> None:
    expected = as_records(predict_file(census_run, census_rows, tmp_path / "census.parquet"))
    body = {"rows": census_rows[:5], "tasks": ["never_married"]}
    r = httpx.post(f"{server.url}/v1/models/census/predict", json=body, timeout=30)
    assert r.status_code == 200, r.text
    wanted = [{k: v for k, v in e.items() if k.startswith("never_married")} for e in expected[:5]]
    assert r.json()["predictions"] == wanted
