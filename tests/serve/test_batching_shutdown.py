"""Micro-batching on a live server (concurrent single-row requests share a network call), then
a graceful shutdown: a request in flight when SIGTERM arrives still gets its 200."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from tests.serve._server import Server, as_records, predict_file

WAIT_MS = 1500  # long: a request waits this long in a batch that does not fill up


@pytest.fixture(scope="module")
def batching_server(serve_root: Path, census_run: Path) -> Iterator[Server]:
    args = ["--model", f"census={census_run}", "--max-batch-size", "8"]
    srv = Server([*args, "--max-wait-ms", str(WAIT_MS)], serve_root)
    yield srv
    srv.stop()


def _batch_rows(server: Server) -> tuple[float, float]:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{server.url}/metrics").text
    family = next(
        f for f in text_string_to_metric_families(text) if f.name == "manyheads_batch_rows"
    )
    values = {s.name: s.value for s in family.samples if s.labels.get("model") == "census"}
    return values["manyheads_batch_rows_count"], values["manyheads_batch_rows_sum"]


def test_concurrent_requests_share_a_call(
    batching_server: Server,
    census_run: Path,
    census_rows: list[dict[str, object]],
    tmp_path: Path,
) -> None:
    rows = census_rows[:8]
    expected = as_records(predict_file(census_run, rows, tmp_path / "b.parquet"))
    calls_before, rows_before = _batch_rows(batching_server)
    url = f"{batching_server.url}/v1/models/census/predict"
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda r: httpx.post(url, json={"rows": [r]}, timeout=30), rows))
    assert [a.status_code for a in answers] == [200] * 8
    served = [a.json()["predictions"][0] for a in answers]
    calls, n_rows = _batch_rows(batching_server)
    assert n_rows - rows_before == 8
    assert calls - calls_before < 8  # at least two requests were predicted in one call
    for got, want in zip(served, expected, strict=True):
        assert got.keys() == want.keys()
        assert got["income"] == want["income"] or abs(want["income_proba"] - 0.5) < 1e-6
        # another batch composition may change the last bits of a float32 matrix product
        np.testing.assert_allclose(got["income_proba"], want["income_proba"], rtol=1e-6)


def test_sigterm_lets_the_request_in_flight_finish(
    batching_server: Server, census_rows: list[dict[str, object]]
) -> None:
    url = f"{batching_server.url}/v1/models/census/predict"
    answer: dict[str, httpx.Response] = {}

    def ask() -> None:
        answer["r"] = httpx.post(url, json={"rows": census_rows[:1]}, timeout=30)

    thread = threading.Thread(target=ask)
    start = time.monotonic()
    thread.start()
    time.sleep(0.5)  # the request now waits in its batch (WAIT_MS)
    batching_server.proc.send_signal(signal.SIGTERM)
    thread.join(30)
    assert answer["r"].status_code == 200, answer["r"].text
    assert len(answer["r"].json()["predictions"]) == 1
    assert time.monotonic() - start >= WAIT_MS / 1000
    # uvicorn re-raises the signal once it has shut down, so that a supervisor sees it
    assert batching_server.proc.wait(30) in (0, -signal.SIGTERM)
    with pytest.raises(httpx.TransportError):  # nothing listens any more
        httpx.get(f"{batching_server.url}/health", timeout=2)
    log = batching_server.output()
    assert "Shutting down" in log
    assert "Finished server process" in log
    assert "Traceback" not in log
