"""bench/serve.py without load: the plain baseline endpoint, the summary, the targets, the table."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

import manyheads as mh

BENCH = Path(__file__).resolve().parents[2] / "bench"


def bench_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def serve() -> ModuleType:
    return bench_module("serve")


def result(server: str, users: int, rps: float, p99: float, model: str = "census") -> dict:
    return {
        "model": model, "server": server, "users": users, "rps": rps, "p50_ms": p99 / 2,
        "p99_ms": p99, "server_cpu_ms": 10.0, "failures": 0,
    }  # fmt: skip


def test_plain_endpoint_answers_what_run_predict_gives() -> None:
    from fastapi.testclient import TestClient

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(["a", "b"], 200)})
    frame["y"] = (frame.x > 0).astype(int)
    frame["z"] = 2.0 * frame.x
    tasks = [mh.Task("y", type="binary"), mh.Task("z", type="regression")]
    run = mh.fit(frame, tasks=tasks, epochs=1, batch_size=64, seed=0)
    rows = frame[["x", "c"]].head(3).to_dict(orient="records")
    client = TestClient(bench_module("_serve_plain").make_app("toy", run))
    assert client.get("/ready").status_code == 200
    answer = client.post("/v1/models/toy/predict", json={"rows": rows})
    assert answer.status_code == 200
    assert answer.json()["model"] == "toy"
    expected = run.predict(pd.DataFrame(rows)).to_dict(orient="records")
    assert answer.json()["predictions"] == expected  # JSON round-trips floats exactly
    assert client.post("/v1/models/other/predict", json={"rows": rows}).status_code == 404


def test_summary_averages_rounds_and_divides_by_plain(serve: ModuleType) -> None:
    results = [
        result("plain", 8, 10.0, 100.0), result("plain", 8, 30.0, 300.0),
        result("serve", 8, 40.0, 100.0) | {"rows_per_call": 3.0},
        result("serve", 8, 40.0, 100.0) | {"rows_per_call": 5.0},
    ]  # fmt: skip
    summary = {e["server"]: e for e in serve.summarise(results)}
    assert summary["serve"]["rows_per_call"] == 4.0
    assert "rows_per_call" not in summary["plain"]
    assert summary["plain"]["rps"] == 20.0
    assert summary["plain"]["rps_rounds"] == [10.0, 30.0]
    assert summary["serve"]["ratio"] == 2.0
    assert summary["serve"]["p99_ratio"] == 0.5


def test_targets_need_throughput_and_for_minilm_no_worse_p99(serve: ModuleType) -> None:
    results = [
        result("plain", 32, 10.0, 100.0), result("serve", 32, 9.9, 100.0),
        result("plain", 32, 10.0, 100.0, "reviews"),
        result("serve-batch", 32, 40.0, 120.0, "reviews"),
    ]  # fmt: skip
    targets = serve.verdict(serve.summarise(results))
    assert [(t["target"].split()[0], t["met"]) for t in targets] == [
        ("census", False),
        ("reviews", False),  # 4x the throughput, but a higher p99
    ]
    table = serve.markdown(
        {"machine": "m", "date": "d", "rounds": 1, "seconds": 20.0, "batch_options": "b"}
        | {"summary": serve.summarise(results), "targets": targets}
    )
    assert "**missed**" in table
    assert (
        "| reviews | 32 | serve-batch | 40.0 (40) | 60 | 120 | 0 | 10.00 | — | **4.00×** |" in table
    )
