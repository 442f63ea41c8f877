"""int8 quantisation of the MiniLM clothing-reviews model, scored on the full validation and test
splits (issue 18 §3: primary metric within 0.5 points per task).

``bench/compress.py --parts quantize`` scores the model on the 500 validation and 500 test
reviews its run was trained with (where one prediction moves a class's F1 by about 0.002 and
macro-F1 by up to 0.01). This script takes the same run (``--run``; its splits are the first
500 rows of the dataset's), exports its float32 graph, quantises it with ``quantize``'s
defaults (dynamic int8, per tensor, every operator the quantiser supports) and scores both
graphs in onnxruntime on the dataset's full splits (2,268 validation and 2,261 test reviews):
each task's primary metric and the share of reviews whose predicted class the int8 graph
changes. The first-500 rows are scored too, to tie the numbers to the earlier ones.

    MANYHEADS_DATA=../shared/data OMP_NUM_THREADS=1 python bench/quantize_eval.py --markdown
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import manyheads as mh
from manyheads.compress._int8 import Int8Settings, quantize_graph
from manyheads.compress._measure import primary_scores
from manyheads.compress._quantize import _engine
from manyheads.export import export_onnx
from manyheads.export._onnx import open_session
from manyheads.workflow._run import Run


def _predicted(run: Run, frame: pd.DataFrame, tasks: list[str]) -> dict[str, np.ndarray]:
    out = run.predict(frame)
    return {t: out[t].to_numpy() for t in tasks}


def score(fp32: Run, int8: Run, frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per task: the primary metric with each graph and the share of changed predictions."""
    before, after = primary_scores(fp32, frame), primary_scores(int8, frame)
    tasks = list(before)
    a, b = _predicted(fp32, frame, tasks), _predicted(int8, frame, tasks)
    return {
        t: {
            "metric": before[t][0],
            "fp32": before[t][2],
            "int8": after[t][2],
            "change_points": 100 * (after[t][2] - before[t][2]),
            "changed_predictions": float(np.mean(a[t] != b[t])),
            "rows": len(frame),
        }
        for t in tasks
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="/work/bench-runs/reviews-minilm/run")
    parser.add_argument("--json", default=None)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    run = mh.load(args.run)
    data = mh.load_dataset("womens-clothing-reviews")
    splits = {
        "valid (first 500)": data.valid.head(500),
        "test (first 500)": data.test.head(500),
        f"valid (all {len(data.valid)})": data.valid,
        f"test (all {len(data.test)})": data.test,
    }
    with tempfile.TemporaryDirectory(prefix="quantize-eval-") as tmp:
        fp32_path, int8_path = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        export_onnx(run, fp32_path)
        quantize_graph(fp32_path, int8_path, Int8Settings())
        fp32, int8 = (_engine(run, open_session(p)) for p in (fp32_path, int8_path))
        results = {name: score(fp32, int8, frame) for name, frame in splits.items()}
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "run": args.run,
    }
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    if args.markdown:
        print(f"{meta}\n")
        print("| split | task (metric) | fp32 | int8 | change (points) | predictions changed |")
        print("|---|---|---:|---:|---:|---:|")
        for split, tasks in results.items():
            for task, r in tasks.items():
                print(
                    f"| {split} | {task} ({r['metric']}) | {r['fp32']:.4f} | {r['int8']:.4f} "
                    f"| {r['change_points']:+.2f} | {100 * r['changed_predictions']:.1f}% |"
                )


if __name__ == "__main__":
    main()
