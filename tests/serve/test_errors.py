"""Bad requests to a live server are 4xx JSON errors naming the field; never a 5xx."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
from tests.serve._server import Server


def _post(server: Server, model: str, body: Any) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/models/{model}/predict", json=body, timeout=60)


def _error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    error: dict[str, Any] = r.json()["error"]
    assert error["code"] == code
    assert "Traceback" not in r.text
    return error


@pytest.fixture
def row(census_rows: list[dict[str, object]]) -> dict[str, object]:
    return dict(census_rows[0])


def test_missing_column(server: Server, row: dict[str, object]) -> None:
    del row["age"]
    error = _error(_post(server, "census", {"rows": [row, row]}), 422, "missing_column")
    assert error["field"] == "rows[0].age"
    assert error["message"].startswith("rows[0].age: the input column 'age' is missing.")
    assert "null is a missing value" in error["message"]


def test_wrong_type(server: Server, row: dict[str, object]) -> None:
    rows = [dict(row), dict(row, age="forty")]
    error = _error(_post(server, "census", {"rows": rows}), 422, "invalid_input")
    assert error["field"] == "rows[1].age"
    assert error["message"] == (
        "rows[1].age: numeric input expected (a JSON number, or null for a missing value); "
        "got 'forty'."
    )
    error = _error(_post(server, "census", {"rows": [dict(row, age=True)]}), 422, "invalid_input")
    assert "got True" in error["message"]


def test_unknown_column(server: Server, row: dict[str, object]) -> None:
    error = _error(_post(server, "census", {"rows": [dict(row, agee=3)]}), 422, "unknown_column")
    assert error["field"] == "rows[0].agee"
    assert "'agee' is not an input of this model" in error["message"]
    assert "Did you mean 'age'?" in error["message"]


def test_value_the_preprocessing_refuses(server: Server, row: dict[str, object]) -> None:
    # a finite JSON number that standardised overflows float32: refused as `predict` does
    error = _error(
        _post(server, "census", {"rows": [row, dict(row, age=1e308)]}), 422, "invalid_input"
    )
    assert error["field"] == "rows[1].age"
    assert "overflows float32" in error["message"]


def test_too_many_rows(server: Server, row: dict[str, object]) -> None:
    error = _error(_post(server, "census", {"rows": [row] * 51}), 413, "too_many_rows")
    assert error["message"].startswith("51 rows; a request holds at most 50 (--max-rows).")


def test_no_rows_and_bad_bodies(server: Server, row: dict[str, object]) -> None:
    error = _error(_post(server, "census", {"rows": []}), 422, "invalid_input")
    assert error["field"] == "rows"
    assert "at least one row" in error["message"]
    error = _error(_post(server, "census", {"rows": [row], "extra": 1}), 422, "invalid_input")
    assert error["message"].startswith("unknown key 'extra'")
    error = _error(_post(server, "census", {"rows": [3]}), 422, "invalid_input")
    assert error["field"] == "rows[0]"
    r = httpx.post(
        f"{server.url}/v1/models/census/predict",
        content=b'{"rows": [',
        headers={"content-type": "application/json"},
    )
    assert _error(r, 400, "invalid_json")["message"].startswith("the body is not valid JSON")


def test_unknown_task_and_model(server: Server, row: dict[str, object]) -> None:
    error = _error(
        _post(server, "census", {"rows": [row], "tasks": ["incme"]}), 422, "unknown_task"
    )
    assert error["field"] == "tasks[0]"
    assert "(income, never_married)" in error["message"]
    assert "Did you mean 'income'?" in error["message"]
    error = _error(_post(server, "cencus", {"rows": [row]}), 404, "unknown_model")
    assert error["message"] == (
        "no model 'cencus'; this service serves: census, reviews, tagging, image. "
        "Did you mean 'census'?"
    )
    _error(httpx.get(f"{server.url}/v1/models/cencus"), 404, "unknown_model")
    _error(httpx.get(f"{server.url}/v1/models/census/predict"), 405, "method_not_allowed")
    _error(httpx.get(f"{server.url}/nowhere"), 404, "not_found")


def test_image_and_tokens_cells(server: Server) -> None:
    error = _error(
        _post(server, "image", {"rows": [{"image": [[0.0] * 64] * 63}]}), 422, "invalid_input"
    )
    assert error["field"] == "rows[0].image"
    assert "image input expected (nested lists of numbers, H x W or C x H x W)" in error["message"]
    error = _error(
        _post(server, "tagging", {"rows": [{"tokens": "Anna visits Rome"}]}), 422, "invalid_input"
    )
    assert error["field"] == "rows[0].tokens"
    assert "a list of words" in error["message"]


def test_declared_body_too_large_is_refused_before_reading(server: Server) -> None:
    # a Content-Length above the limit (1 MiB by default) is answered without reading the body
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(
            b"POST /v1/models/census/predict HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 5000000\r\n\r\n"
        )
        answer = ""
        while not answer.endswith("}}"):  # the headers, then the JSON body
            chunk = conn.recv(65536).decode()
            if not chunk:
                break
            answer += chunk
    assert answer.startswith("HTTP/1.1 413")
    assert '"code":"body_too_large"' in answer
    assert "larger than 1048576 bytes (--max-body-bytes)" in answer
