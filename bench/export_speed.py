"""Prediction speed of an exported ONNX graph in onnxruntime against eager PyTorch (issue 18 §2).

Contract::

    MANYHEADS_DATA=../shared/data python bench/export_speed.py --json out.json --markdown
    MANYHEADS_DATA=../shared/data python bench/export_speed.py --quick   # a smoke run, seconds
    MANYHEADS_DATA=../shared/data python bench/export_speed.py --traced  # + MiniLM's unfused graph

Four models, each trained briefly (the speed depends on the network, not on its weights):

- census-income ``mmoe`` and ``hps`` with the census-quality settings (``bench/census_quality.py``),
  one epoch on the packaged 24k-row sample (``--full`` for the full data);
- MultiMNIST ``hps`` on LeNet (Sener & Koltun's heads, ``bench/multimnist.py``), one epoch on
  2,000 training images;
- clothing reviews ``hps`` on the ``pretrained`` encoder (MiniLM-L6, mean pooling, no hidden
  layers, one linear layer per task) with two tasks on the review text (department, rating),
  one epoch on 64 reviews.

Each run is exported with :func:`manyheads.export.export_onnx` (parity checked there). Then, per
batch size, the same *encoded* batch (the preprocessor's tensors, cut to the longest real row as
the graph expects) goes to both engines: eager ``run.model(x)`` in eval mode under
``torch.inference_mode()``, and :func:`manyheads.export._onnx.run_graph` on an onnxruntime CPU
session (what ``predict --engine onnxruntime`` calls per batch). Both run on ONE thread
(``torch.set_num_threads(1)``; onnxruntime ``intra_op_num_threads=1``, ``inter_op_num_threads=1``),
timed in alternation (eager, ort, eager, ort ...) after a warm-up, so load on a shared machine
hits both alike. Reported: the median wall ms per batch, the median process CPU ms per batch
(``time.process_time()`` deltas), and ``ratio`` = eager wall / ort wall (> 1: onnxruntime faster).
Targets at batch 64: ratio >= 2 for the tabular MLPs, >= 1.5 for MiniLM.

MiniLM is exported with onnxruntime's fused BERT attention (``export_graph(fuse=True)``, the
default); ``--traced`` also exports it as traced (``fuse=False``, the graph before the fusion)
and times that graph in the same alternation, so the two graphs meet the same machine load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

import manyheads as mh
from manyheads.builtin_datasets import DatasetSplits, load_dataset
from manyheads.export import export_onnx
from manyheads.export._onnx import Session, run_graph, trim_batch
from manyheads.workflow._run import Run

#: The issue's targets: onnxruntime over eager at batch 64, by model family.
TARGETS = {"tabular": 2.0, "text": 1.5}


@dataclass(frozen=True)
class Case:
    """One model to measure: its name, family (for the target), run, rows and batch sizes."""

    name: str
    family: str
    run: Run
    rows: pd.DataFrame
    batch_sizes: tuple[int, ...]


# -- the models --------------------------------------------------------------------------------
def trained(
    data: DatasetSplits, n_train: int | None, options: dict[str, Any], **settings: Any
) -> Run:
    """One epoch of ``data``'s first ``n_train`` training rows (all with None), seed 0."""
    tasks = settings.pop("tasks", list(data.tasks))
    train = data.train if n_train is None else data.train.head(n_train)
    return mh.fit(
        train, tasks=tasks, inputs=data.inputs, valid=data.valid.head(2000), model_options=options,
        epochs=1, seed=0, **settings,
    )  # fmt: skip


def census_run(architecture: str, *, full: bool, quick: bool) -> tuple[Run, pd.DataFrame]:
    """A census-income model with bench/census_quality.py's network and settings."""
    data = load_dataset("census-income", sample=not full)
    options: dict[str, Any] = {"tower": [16], "embed_dim": 8}
    if architecture == "mmoe":
        options |= {"n_experts": 8, "expert_hidden": [32]}
    else:
        options |= {"hidden": [64]}
    settings = {"batch_size": 1024, "lr": 0.001, "optimizer": "adam"}
    run = trained(data, 2000 if quick else None, options, architecture=architecture, **settings)
    assert data.test is not None
    return run, data.test


def lenet_run(*, quick: bool) -> tuple[Run, pd.DataFrame]:
    """MultiMNIST ``hps`` on LeNet with Sener & Koltun's heads (bench/multimnist.py)."""
    data = load_dataset("multi-mnist", n_train=500 if quick else 2000, n_test=1024)
    options = {"encoder": "lenet", "hidden": [], "tower": [50]}
    run = trained(data, None, options, architecture="hps", batch_size=256, optimizer="adam")
    assert data.test is not None
    return run, data.test


def minilm_run(*, quick: bool, max_length: int) -> tuple[Run, pd.DataFrame]:
    """Clothing reviews on MiniLM-L6 (``hps``, one linear layer per task), two text tasks."""
    data = load_dataset("womens-clothing-reviews", limit=1200)
    tasks = [t for t in data.tasks if t.name in ("department", "rating")]
    encoder = {"encoder": "pretrained", "encoder_options": {"max_length": max_length}}
    options = {**encoder, "hidden": [], "tower": []}
    run = trained(data, 16 if quick else 64, options, tasks=tasks, batch_size=16, lr=2e-5)
    return run, data.train


# -- timing ------------------------------------------------------------------------------------
def ort_session(path: Path) -> Session:
    """An onnxruntime CPU session on ONE intra-op and one inter-op thread."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session: Session = onnxruntime.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"]
    )
    return session


def encoded_batch(run: Run, rows: pd.DataFrame, size: int) -> dict[str, Tensor]:
    """The first ``size`` rows (repeated if too few), encoded and cut as the graph expects."""
    picked = rows.iloc[np.arange(size) % len(rows)]
    return trim_batch(run.preprocessor.transform(picked, labels=False).x)


def measure(
    calls: list[Callable[[], object]], budget_s: float, max_repeats: int
) -> list[dict[str, float]]:
    """Median wall and CPU ms of each call, timed in alternation after two warm-up rounds.

    The number of rounds fills ``budget_s`` (as estimated from the warm-up), between 5 and
    ``max_repeats``.
    """
    began = time.perf_counter()
    for _ in range(2):
        for call in calls:
            call()
    per_round = (time.perf_counter() - began) / 2
    repeats = int(min(max_repeats, max(5, budget_s / max(per_round, 1e-9))))
    wall: list[list[float]] = [[] for _ in calls]
    cpu: list[list[float]] = [[] for _ in calls]
    for _ in range(repeats):
        for k, call in enumerate(calls):
            w0, c0 = time.perf_counter(), time.process_time()
            call()
            cpu[k].append(time.process_time() - c0)
            wall[k].append(time.perf_counter() - w0)
    pairs = zip(wall, cpu, strict=True)
    return [{"wall_ms": _ms(w), "cpu_ms": _ms(c), "repeats": repeats} for w, c in pairs]


def _ms(seconds: list[float]) -> float:
    return round(1e3 * statistics.median(seconds), 3)


def max_difference(run: Run, session: Session, x: dict[str, Tensor]) -> float:
    """The largest absolute output difference of the two engines on ``x`` (a sanity check)."""
    with torch.inference_mode():
        eager = run.model(x)
    ort = run_graph(session, x)
    return max(float(np.abs(eager[t].float().numpy() - ort[t]).max()) for t in ort)


def time_case(
    case: Case, graph: Path, budget_s: float, traced: Path | None = None, max_rounds: int = 300
) -> list[dict[str, Any]]:
    """Both engines at each batch size of ``case``; with ``traced``, also that graph (the
    same network exported without the fused attention), timed in the same alternation."""
    session = ort_session(graph)
    old = ort_session(traced) if traced is not None else None
    model = case.run.model.eval()
    out = []
    for size in case.batch_sizes:
        x = encoded_batch(case.run, case.rows, size)

        def eager(x: dict[str, Tensor] = x) -> object:
            with torch.inference_mode():
                return model(x)

        def ort(x: dict[str, Tensor] = x) -> object:
            return run_graph(session, x)

        def ort_traced(x: dict[str, Tensor] = x) -> object:
            assert old is not None
            return run_graph(old, x)

        calls = [eager, ort] if old is None else [eager, ort, ort_traced]
        e, o, *t = measure(calls, budget_s, max_repeats=max_rounds)
        pieces = next((int(v.shape[1]) for k, v in x.items() if k.startswith("ids:")), None)
        row = {"model": case.name, "family": case.family, "batch": size, "pieces": pieces}
        row |= {f"eager_{k}": v for k, v in e.items() if k != "repeats"}
        row |= {f"ort_{k}": v for k, v in o.items() if k != "repeats"}
        row["repeats"] = e["repeats"]
        row["ratio"] = round(e["wall_ms"] / o["wall_ms"], 3)
        row["cpu_ratio"] = round(e["cpu_ms"] / o["cpu_ms"], 3)
        row["max_abs_diff"] = max_difference(case.run, session, x)
        if old is not None:
            row |= {f"traced_{k}": v for k, v in t[0].items() if k != "repeats"}
            row["traced_ratio"] = round(e["wall_ms"] / t[0]["wall_ms"], 3)
            row["traced_cpu_ratio"] = round(e["cpu_ms"] / t[0]["cpu_ms"], 3)
            row["traced_max_abs_diff"] = max_difference(case.run, old, x)
        out.append(row)
        print(json.dumps(row), flush=True)
    return out


# -- report ------------------------------------------------------------------------------------
def build_cases(args: argparse.Namespace) -> list[Case]:
    """Train the models of ``--models``, in the order given."""
    quick, cases = args.quick, []
    sizes = (1, 8, 32) if quick else (1, 64, 1024)
    text_sizes = (1, 8) if quick else (1, 64, args.text_max_batch)
    for name in args.models.split(","):
        began = time.perf_counter()
        if name in ("census-mmoe", "census-hps"):
            run, rows = census_run(name.split("-")[1], full=args.full, quick=quick)
            cases.append(Case(name, "tabular", run, rows, sizes))
        elif name == "lenet":
            run, rows = lenet_run(quick=quick)
            cases.append(Case(name, "image", run, rows, sizes))
        elif name == "minilm":
            run, rows = minilm_run(quick=quick, max_length=args.max_length)
            cases.append(Case(name, "text", run, rows, text_sizes))
        else:
            raise SystemExit(f"Unknown model {name!r}: census-mmoe, census-hps, lenet, minilm.")
        print(f"# trained {name} in {time.perf_counter() - began:.1f} s", flush=True)
    return cases


def verdict(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batch-64 ratio of each model against its family's target."""
    out = []
    for r in rows:
        target = TARGETS.get(r["family"])
        if r["batch"] == 64 and target is not None:
            met = {"met": r["ratio"] >= target}
            out.append({"model": r["model"], "ratio": r["ratio"], "target": target} | met)
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Machine: {report['machine']}; {report['date']}",
        "",
        "| model | batch | eager ms | ort ms | eager CPU ms | ort CPU ms | eager / ort |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        batch = f"{r['batch']} ({r['pieces']} pieces)" if r["pieces"] else str(r["batch"])
        lines.append(
            f"| {r['model']} | {batch} | {r['eager_wall_ms']:,.3f} | {r['ort_wall_ms']:,.3f} | "
            f"{r['eager_cpu_ms']:,.3f} | {r['ort_cpu_ms']:,.3f} | **{r['ratio']:.2f}** |"
        )
    traced = [r for r in report["results"] if "traced_ratio" in r]
    if traced:
        lines += [
            "",
            "| model | batch | traced graph ort ms | its CPU ms | eager / traced ort |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in traced:
            lines.append(
                f"| {r['model']} | {r['batch']} | {r['traced_wall_ms']:,.3f} | "
                f"{r['traced_cpu_ms']:,.3f} | {r['traced_ratio']:.2f} |"
            )
    lines += ["", "| model | ratio at batch 64 | target | met? |", "|---|---:|---|---|"]
    for v in report["targets"]:
        met = "**met**" if v["met"] else "**missed**"
        lines.append(f"| {v['model']} | {v['ratio']:.2f} | ≥ {v['target']} | {met} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Train, export and time every model; print JSON (and Markdown with ``--markdown``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="census-mmoe,census-hps,lenet,minilm")
    parser.add_argument("--budget", type=float, default=6.0, help="seconds of timing per cell")
    parser.add_argument("--max-length", type=int, default=128, help="MiniLM pieces per review")
    parser.add_argument("--text-max-batch", type=int, default=256, help="MiniLM's largest batch")
    parser.add_argument("--full", action="store_true", help="census: the full data, not the sample")
    parser.add_argument("--quick", action="store_true", help="tiny data and batches: a smoke run")
    parser.add_argument(
        "--traced",
        action="store_true",
        help="MiniLM: also time the graph exported without fused attention (fuse=False)",
    )
    parser.add_argument("--max-rounds", type=int, default=300, help="most timed rounds per cell")
    parser.add_argument("--json", default=None, help="write the report to this file")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    if not os.environ.get("MANYHEADS_DATA"):
        raise SystemExit("Set MANYHEADS_DATA to the shared data folder (../shared/data).")
    torch.set_num_threads(1)
    began = time.perf_counter()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in build_cases(args):
            graph = Path(tmp) / f"{case.name}.onnx"
            export_onnx(case.run, graph, data=case.rows, n_rows=64)
            traced = None
            if args.traced and case.family == "text":
                traced = Path(tmp) / f"{case.name}-traced.onnx"
                export_onnx(case.run, traced, data=case.rows, n_rows=64, fuse=False)
            budget = 1.0 if args.quick else args.budget
            results += time_case(case, graph, budget, traced, args.max_rounds)
    import onnxruntime

    report = {
        "machine": f"{platform.machine()}, torch {torch.__version__} on "
        f"{torch.get_num_threads()} thread, onnxruntime {onnxruntime.__version__} on 1 thread",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_s": round(time.perf_counter() - began, 1),
        "results": results,
        "targets": verdict(results),
    }
    print(json.dumps(report), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    if args.markdown:
        print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
