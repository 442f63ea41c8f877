"""``tasks=[...]`` in a predict request computes only those heads, on a real server.

The server is the real application under uvicorn on 127.0.0.1, in this process, so that forward
hooks on the served model count which of its modules run for each request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.serve._server import free_port
from torch import nn

import manyheads as mh
from manyheads.architectures import MTLModel

OTHER = "never_married"


class _Calls:
    """Counts the forward calls of each module of a model, by task owning it."""

    def __init__(self, model: MTLModel) -> None:
        owner = {id(p): t for t in model.task_names for p in model.task_parameters(t)}
        self.counts = dict.fromkeys(model.task_names, 0)
        self._lock = threading.Lock()
        for module in model.modules():
            direct = {owner.get(id(p)) for p in module.parameters(recurse=False)}
            if len(direct) == 1 and None not in direct:
                module.register_forward_hook(self._hook(str(direct.pop())))

    def _hook(self, task: str):  # type: ignore[no-untyped-def]
        def hook(_m: nn.Module, _i: object, _o: object) -> None:
            with self._lock:
                self.counts[task] += 1

        return hook

    def reset(self) -> None:
        self.counts = dict.fromkeys(self.counts, 0)


@pytest.fixture(scope="module")
def served(census_run: Path) -> Iterator[tuple[str, _Calls]]:
    import uvicorn

    from manyheads.serve import create_app

    run = mh.load(census_run)
    calls = _Calls(run.model)
    port = free_port()
    config = uvicorn.Config(create_app({"census": run}), host="127.0.0.1", port=port)
    config.log_level = "warning"
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    else:
        server.should_exit = True
        pytest.fail("the in-process server did not get ready in 60 s")
    yield url, calls
    server.should_exit = True
    thread.join(timeout=30)


def _predict(url: str, body: dict[str, object]) -> list[dict[str, object]]:
    r = httpx.post(f"{url}/v1/models/census/predict", json=body, timeout=60)
    assert r.status_code == 200, r.text
    predictions: list[dict[str, object]] = r.json()["predictions"]
    return predictions


def test_asked_tasks_give_the_same_numbers_and_run_only_their_heads(
    served: tuple[str, _Calls], census_rows: list[dict[str, object]]
) -> None:
    url, calls = served
    rows = census_rows[:8]
    calls.reset()
    every = _predict(url, {"rows": rows})
    assert calls.counts["income"] > 0
    assert calls.counts[OTHER] > 0
    calls.reset()
    income = _predict(url, {"rows": rows, "tasks": ["income"]})
    assert calls.counts["income"] > 0
    assert calls.counts[OTHER] == 0  # its gate, tower and output layer never ran
    assert [sorted(p) for p in income] == [["income", "income_proba"]] * len(rows)
    assert income == [{k: p[k] for k in ("income", "income_proba")} for p in every]


def test_an_unknown_task_is_still_a_4xx_naming_it(
    served: tuple[str, _Calls], census_rows: list[dict[str, object]]
) -> None:
    url, calls = served
    calls.reset()
    r = httpx.post(
        f"{url}/v1/models/census/predict",
        json={"rows": census_rows[:1], "tasks": ["incme"]},
        timeout=60,
    )
    assert r.status_code == 422, r.text
    assert "tasks" in r.json()["error"]["field"]
    assert "incme" in r.text
    assert calls.counts == {"income": 0, OTHER: 0}


def test_the_onnxruntime_engine_runs_a_graph_cut_to_the_asked_outputs(
    serve_root: Path, census_run: Path, census_rows: list[dict[str, object]]
) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import json

    from manyheads.export import export_onnx, onnx_engine
    from manyheads.export._engine import OnnxModel
    from manyheads.serve._predictor import Predictor

    if not (census_run / "model.onnx").exists():
        sample = serve_root / "census-sample.jsonl"
        sample.write_text("".join(json.dumps(r) + "\n" for r in census_rows))
        export_onnx(mh.load(census_run), census_run / "model.onnx", data=sample)
    run = onnx_engine(mh.load(census_run))
    model = run.model
    assert isinstance(model, OnnxModel)
    predictor = Predictor("census", run, "onnxruntime")
    rows = census_rows[:16]
    every = predictor.predict_tasks(rows, ["income", OTHER])
    only = predictor.predict_tasks(rows, [OTHER])
    cut = model.session_for([OTHER])
    assert cut is not model.session
    assert [o.name for o in cut.get_outputs()] == [OTHER]  # the income head is not in it
    assert model.session_for(["income", OTHER]) is model.session
    assert list(only) == [OTHER]
    for column, values in only[OTHER].items():
        assert (values == every[OTHER][column]).all(), column
