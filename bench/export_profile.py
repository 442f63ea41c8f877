"""Where one batch's time goes, per operator, in eager PyTorch and in onnxruntime (issue 18 §2).

Contract::

    MANYHEADS_DATA=../shared/data python bench/export_profile.py --json out.json

For the MiniLM reviews model of ``bench/export_speed.py`` (one batch of ``--text-batch`` reviews
at 128 pieces) and the census ``mmoe`` (one batch of ``--batch`` rows), both on one thread:

- onnxruntime's profiler over ``--runs`` runs of each exported graph (MiniLM: the fused graph,
  and the graph as traced, ``fuse=False``): the mean kernel ms per batch of each operator type;
- ``torch.autograd.profiler`` over the same number of eager forwards: the mean self CPU ms per
  batch, and the calls per forward, of each PyTorch operator.

Profilers add their own cost: compare the proportions, and take speeds from export_speed.py.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import onnxruntime
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_speed import census_run, encoded_batch, minilm_run
from manyheads.export import export_onnx
from manyheads.export._onnx import run_graph
from manyheads.workflow._run import Run


def ort_profile(graph: Path, x: dict[str, torch.Tensor], runs: int, prefix: str) -> dict[str, Any]:
    """Mean kernel ms per run of each operator type in onnxruntime (one thread)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.enable_profiling = True
    options.profile_file_prefix = prefix
    session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
    for _ in range(runs):
        run_graph(session, x)
    events = json.loads(Path(session.end_profiling()).read_text())
    ms: collections.Counter[str] = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            ms[e["args"]["op_name"]] += e["dur"] / runs / 1e3
    per_op = {k: round(v, 3) for k, v in ms.most_common()}
    return {"per_op_ms": per_op, "total_ms": round(sum(ms.values()), 3)}


def eager_profile(run: Run, x: dict[str, torch.Tensor], runs: int) -> dict[str, Any]:
    """Mean self CPU ms per forward of each PyTorch operator, and its calls per forward."""
    model = run.model.eval()
    with torch.inference_mode():
        model(x)  # warm-up
        with torch.autograd.profiler.profile() as prof:
            for _ in range(runs):
                model(x)
    rows = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    per_op = {
        e.key: {"ms": round(e.self_cpu_time_total / runs / 1e3, 3), "calls": e.count / runs}
        for e in rows
    }
    total = sum(v["ms"] for v in per_op.values())
    return {"per_op": per_op, "total_ms": round(total, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--text-batch", type=int, default=16, help="MiniLM reviews per batch")
    parser.add_argument("--batch", type=int, default=64, help="census rows per batch")
    parser.add_argument("--runs", type=int, default=4, help="MiniLM runs profiled (census: 50x)")
    parser.add_argument("--json", default=None, help="write the report to this file")
    args = parser.parse_args(argv)
    if not os.environ.get("MANYHEADS_DATA"):
        raise SystemExit("Set MANYHEADS_DATA to the shared data folder (../shared/data).")
    torch.set_num_threads(1)
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        run, rows = minilm_run(quick=False, max_length=128)
        x = encoded_batch(run, rows, args.text_batch)
        minilm: dict[str, Any] = {"batch": list(x["ids:review"].shape)}
        for name, fuse in (("fused", True), ("traced", False)):
            graph = Path(tmp) / f"minilm-{name}.onnx"
            export_onnx(run, graph, data=rows, n_rows=64, fuse=fuse)
            minilm[name] = ort_profile(graph, x, args.runs, str(Path(tmp) / name))
        minilm["eager"] = eager_profile(run, x, args.runs)
        report["minilm"] = minilm
        run, rows = census_run("mmoe", full=False, quick=True)
        x = encoded_batch(run, rows, args.batch)
        graph = Path(tmp) / "mmoe.onnx"
        export_onnx(run, graph, data=rows, n_rows=64)
        runs = 50 * args.runs
        report["census-mmoe"] = {
            "batch": args.batch,
            "onnxruntime": ort_profile(graph, x, runs, str(Path(tmp) / "mmoe")),
            "eager": eager_profile(run, x, runs),
        }
    print(json.dumps(report, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
