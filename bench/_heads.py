"""``tasks=[one]`` against every task: network-call and per-request times (``predict_latency.py
--heads``; the protocol is in that script's docstring)."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import torch

import manyheads as mh
from manyheads.architectures import MTLModel, create_model
from manyheads.export._cut import cut_graph
from manyheads.export._onnx import Session, run_graph
from manyheads.serve._predictor import Predictor

BATCHES = (1, 64)
SYNTHETIC = 8


def _median_ms(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall ms of each call, the calls timed in alternation after a warm-up."""
    for call in calls.values():
        for _ in range(3):
            call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(v) for name, v in times.items()}


def _session(path: Path | bytes) -> Session:
    """An onnxruntime CPU session on one thread, as ``bench/export_speed.py`` opens them."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session: Session = onnxruntime.InferenceSession(
        path if isinstance(path, bytes) else str(path),
        options,
        providers=["CPUExecutionProvider"],
    )
    return session


def _cut_session(graph: Path, output: str) -> Session:
    """A one-thread session on the graph cut to ``output`` (what the onnxruntime engine runs
    for ``tasks=[output]``, :func:`~manyheads.export._cut.cut_session`)."""
    import onnx

    return _session(cut_graph(onnx.load(str(graph)), [output]).SerializeToString())


def _models(run: mh.Run) -> dict[str, MTLModel]:
    spec = run.preprocessor.spec
    heads = {f"t{i}": 1 for i in range(SYNTHETIC)}
    models = {f"census mmoe ({len(run.model.task_names)} tasks)": run.model}
    for arch in ("mmoe", "hps", "stl"):
        torch.manual_seed(0)
        models[f"{arch}, {SYNTHETIC} heads"] = create_model(arch, spec, heads, tower=[64, 64])
    return models


def _network_rows(run: mh.Run, tmp: Path, repeats: int) -> list[str]:
    from manyheads.export._onnx import export_graph

    test = mh.load_dataset("census-income", sample=True).test
    encoded = run.preprocessor.transform(test.head(max(BATCHES)), labels=False).x
    lines = []
    for label, model in _models(run).items():
        model.eval()
        first = model.task_names[0]
        graph = tmp / f"m{len(lines)}.onnx"
        export_graph(model, {k: v[:2] for k, v in encoded.items()}, graph)
        session, cut = _session(graph), _cut_session(graph, first)
        for batch in BATCHES:
            x = {k: v[:batch] for k, v in encoded.items()}
            with torch.inference_mode():
                ms = _median_ms(
                    {
                        "all": lambda m=model, x=x: m(x),
                        "one": lambda m=model, x=x, t=first: m(x, tasks=[t]),
                        "ort all": lambda s=session, x=x: run_graph(s, x),
                        "ort one": lambda s=session, x=x, t=first: run_graph(s, x, [t]),
                        "ort cut": lambda s=cut, x=x, t=first: run_graph(s, x, [t]),
                    },
                    repeats,
                )
            lines.append(
                f"| {label} | {batch} | {ms['all']:.3f} | {ms['one']:.3f} | "
                f"{ms['all'] / ms['one']:.2f} | {ms['ort all']:.3f} | {ms['ort one']:.3f} | "
                f"{ms['ort cut']:.3f} | {ms['ort all'] / ms['ort cut']:.2f} |"
            )
            print(lines[-1], flush=True)
    return lines


def _request_rows(run: mh.Run, repeats: int) -> list[str]:
    predictor = Predictor("census", run, "torch")
    test = mh.load_dataset("census-income", sample=True).test
    inputs = list(run.preprocessor.inputs)
    every, first = predictor.task_names, predictor.task_names[:1]
    lines = []
    for batch in BATCHES:
        rows = test[inputs].head(batch).to_dict(orient="records")
        ms = _median_ms(
            {
                "all": lambda r=rows: predictor.predict_tasks(r, every),
                "one": lambda r=rows: predictor.predict_tasks(r, first),
            },
            repeats,
        )
        lines.append(
            f"| {batch} | {ms['all']:.3f} | {ms['one']:.3f} | {ms['all'] / ms['one']:.2f} |"
        )
        print(lines[-1], flush=True)
    return lines


def heads_bench(run: mh.Run, tmp: Path, repeats: int) -> None:
    """Print the two tables of the ``--heads`` mode as Markdown."""
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}")
    print(
        "| model | batch | eager all ms | eager one ms | all ÷ one | ort all ms | "
        "ort one output ms | ort cut graph ms | ort all ÷ cut |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    _network_rows(run, tmp, repeats)
    print()
    print("| census mmoe, Predictor.predict_tasks rows | all tasks ms | one task ms | all ÷ one |")
    print("|---|---|---|---|")
    _request_rows(run, repeats)
