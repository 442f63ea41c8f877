"""Latency of ``Run.predict`` on one row (what a served request costs), with the small-frame
categorical lookup against the vectorised path it replaces for frames of up to 64 rows.

A census-income ``mmoe`` is trained briefly on the package's sample (or ``--run RUN`` is loaded);
both paths predict the same test rows, interleaved, one thread, median of ``--repeats`` calls per
round over ``--rounds`` rounds; wall and process CPU milliseconds.

Usage (from the repository root)::

    MANYHEADS_DATA=../shared/data OMP_NUM_THREADS=1 python bench/predict_latency.py

``--heads`` measures instead what ``tasks=[one]`` saves against every task (issue 18 §1, the
served ``tasks`` field): the median wall time of the network call ``model(x)`` against
``model(x, tasks=[first])`` in eager PyTorch, and of onnxruntime fetching every output against
fetching one (``run_graph(..., outputs=[first])``) and against a graph cut to that one output
(``onnx.utils.Extractor``), at batch 1 and 64; and the per-request time of the served path
without HTTP (:meth:`Predictor.predict_tasks <manyheads.serve._predictor.Predictor>`:
encoding, network, decoding). Models: the census ``mmoe`` above (2 tasks), and ``mmoe``,
``hps`` and ``stl`` with 8 synthetic binary heads, towers ``[64, 64]``, on the same census
inputs (untrained: the time depends on the network, not on its weights). One thread, the
variants timed in alternation::

    MANYHEADS_DATA=../shared/data OMP_NUM_THREADS=1 python bench/predict_latency.py --heads
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

import manyheads as mh
from manyheads.data._columns import _categorical


def _run(path: str | None, tmp: Path) -> mh.Run:
    if path:
        return mh.load(path)
    data = mh.load_dataset("census-income", sample=True)
    return mh.fit(
        data.train,
        tasks=data.tasks,
        inputs=data.inputs,
        valid=data.valid,
        architecture="mmoe",
        epochs=1,
        output=tmp / "run",
    )


def _median_ms(run: mh.Run, rows: object, repeats: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        run.predict(rows)
        walls.append((time.perf_counter() - w) * 1000)
        cpus.append((time.process_time() - c) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a census-income run to load (default: train one)")
    parser.add_argument("--rows", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--heads", action="store_true", help="tasks=[one] against every task")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.heads:
        from _heads import heads_bench

        with tempfile.TemporaryDirectory() as tmp:
            heads_bench(_run(args.run, Path(tmp)), Path(tmp), args.repeats)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run = _run(args.run, Path(tmp))
        test = mh.load_dataset("census-income", sample=True).test
        rows = test[list(run.preprocessor.inputs)].head(args.rows)
        small = _categorical.SMALL_FRAME
        results: dict[str, list[tuple[float, float]]] = {"cell by cell": [], "vectorised": []}
        _median_ms(run, rows, 3)  # warm-up
        for _ in range(args.rounds):
            for name, limit in (("cell by cell", small), ("vectorised", 0)):
                _categorical.SMALL_FRAME = limit
                results[name].append(_median_ms(run, rows, args.repeats))
        _categorical.SMALL_FRAME = small
    print("| path | rows | wall ms (median of rounds) | CPU ms |")
    print("|---|---|---|---|")
    for name, values in results.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        print(f"| {name} | {args.rows} | {wall:.2f} | {cpu:.2f} |")


if __name__ == "__main__":
    main()
