"""Compression measured per task (issue 18 §3): int8 quantisation and structured pruning.

Contract::

    MANYHEADS_DATA=../shared/data python bench/compress.py --json compress.json --markdown
    MANYHEADS_DATA=../shared/data python bench/compress.py --parts prune   # one part

(a) ``quantize``: the MiniLM-L6 clothing-reviews run at ``--minilm-run`` (``hps`` on the
``pretrained`` encoder, mean pooling, a 64-unit tower per task; trained with
``manyheads train`` from the config next to it). ``manyheads.compress.quantize`` with
``keep_fp32=1`` (per tensor, the most sensitive node kept in float32) writes the int8 bundle
(its report: per-task primary metric on validation and test, file sizes). Then the float32
graph is exported again and quantised with the default (``--keep-fp32 0``: every node int8),
and each int8 graph is timed against the float32 graph in onnxruntime on ONE thread,
alternating (fp32, int8, fp32, int8 ...) after a warm-up, median ms per batch at batch 1 and
64 (the same encoded reviews for both). Targets: >= 3.5x smaller, >= 1.5x faster at batch 64,
<= 0.005 (0.5 points) of primary metric lost per task (scored on the full splits by
``bench/quantize_eval.py``, which also chooses the setting on validation).

(b) ``prune``: a census-income ``mmoe`` with the census-quality settings (8 experts of 32
units, towers of 16, ``bench/census_quality.py``), trained ``--census-epochs`` epochs on the
full data (reused from ``--census-run`` when it is there). ``manyheads.compress.prune`` with
each setting of :data:`PRUNINGS` (50% of the hidden units: experts 32 -> 16, towers 16 -> 8;
with ``experts``, also that share of the experts, the least used by the gates) and one epoch
of fine-tune. Each pruned network is timed against the original on one thread, alternating,
in eager PyTorch and in onnxruntime (each exported with its parity check), at batch 1, 64 and
1024; its test AUC is compared with the run and with a control (the unpruned network
fine-tuned the same epoch). Target: >= 1.8x faster at <= 0.003 AUC lost per task.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import torch

import manyheads as mh
from manyheads.compress import prune, quantize
from manyheads.compress._int8 import Int8Settings, quantize_graph
from manyheads.compress._measure import encoded_batch, run_data, task_changes
from manyheads.compress._prune import _fine_tune
from manyheads.compress._quantize import _engine
from manyheads.export import export_onnx
from manyheads.export._onnx import Session, run_graph, trim_batch
from manyheads.workflow._run import Run

BATCHES = (1, 64)
CENSUS_CONFIG = """data: {{dataset: census-income}}
model: {{architecture: mmoe, n_experts: 8, expert_hidden: [32], tower: [16], embed_dim: 8}}
train: {{epochs: {epochs}, batch_size: 1024, lr: 0.001, optimizer: adam, monitor: income.auc}}
output: {output}
"""


def session(path: Path) -> Session:
    """An onnxruntime CPU session on one thread (as bench/export_speed.py)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    s: Session = onnxruntime.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"]
    )
    return s


def paired_ms(a: Callable[[], object], b: Callable[[], object], passes: int) -> tuple[float, float]:
    """Median wall ms of ``a`` and of ``b``, called in alternation after two warm-up calls."""
    for _ in range(2):
        a(), b()
    ta, tb = [], []
    for _ in range(passes):
        for f, out in ((a, ta), (b, tb)):
            began = time.perf_counter()
            f()
            out.append((time.perf_counter() - began) * 1000)
    return statistics.median(ta), statistics.median(tb)


def ort_latency(
    run: Run, fp32: Path, other: Path, passes: int, batches: tuple[int, ...] = BATCHES
) -> dict[str, Any]:
    """fp32 vs ``other`` graph, one thread each, per batch size."""
    data = run_data(run)
    s1, s2 = session(fp32), session(other)
    out = {}
    for size in batches:
        x = trim_batch(encoded_batch(run, data.valid, size))
        before, after = paired_ms(partial(run_graph, s1, x), partial(run_graph, s2, x), passes)
        out[str(size)] = {"before_ms": before, "after_ms": after, "speedup": before / after}
    return out


def quantize_part(run_dir: Path, out_dir: Path, passes: int) -> dict[str, Any]:
    run = mh.load(run_dir)
    began = time.perf_counter()
    report = quantize(run, out_dir, keep_fp32=1, overwrite=True, force=True)
    seconds = time.perf_counter() - began
    print("\n".join(report.lines()), flush=True)
    result: dict[str, Any] = {"run": str(run_dir), "default": report.to_dict(), "seconds": seconds}
    data = run_data(run)
    variants: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        export_onnx(run, fp32)
        fp32_size = fp32.stat().st_size
        kept = ", ".join(report.settings["fp32_nodes"])
        default = f"per tensor, keep 1 ({kept} in float32)"
        variants[default] = {
            "size_ratio": fp32_size / (out_dir / "model.onnx").stat().st_size,
            "latency": ort_latency(run, fp32, out_dir / "model.onnx", passes),
            "drop": {t: v["drop"] for t, v in report.to_dict()["tasks"].items()},
        }
        print("default", variants[default], flush=True)
        others: dict[str, Int8Settings] = {"per tensor, keep 0 (the default)": Int8Settings()}
        fp32_run = _engine(run, session(fp32))
        for name, settings in others.items():
            int8 = Path(tmp) / f"{len(variants)}.onnx"
            quantize_graph(fp32, int8, settings)
            changes = task_changes(fp32_run, _engine(run, session(int8)), data)
            variants[name] = {
                "size_ratio": fp32_size / int8.stat().st_size,
                "latency": ort_latency(run, fp32, int8, passes),
                "drop": {t: c.drop() for t, c in changes.items()},
            }
            print(name, variants[name], flush=True)
    result["variants"] = variants
    return result


def census_run(path: Path, epochs: int) -> Path:
    from manyheads.config.load import load_config
    from manyheads.workflow._fit import train_config

    if (path / "metrics.json").exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg = path.parent / "census-mmoe.yaml"
    cfg.write_text(CENSUS_CONFIG.format(epochs=epochs, output=path))
    train_config(load_config(cfg), log=print, quiet=False)
    return path


#: The pruning settings timed: name -> keywords of ``prune`` (all with 1 epoch of fine-tune).
PRUNINGS: dict[str, dict[str, float]] = {
    "units 50%": {"amount": 0.5},
    "units 50% + experts 50%": {"amount": 0.5, "experts": 0.5},
    "units 50% + experts 75%": {"amount": 0.5, "experts": 0.75},
}


def prune_part(run_dir: Path, out_dir: Path, passes: int) -> dict[str, Any]:
    run = mh.load(run_dir)
    data = run_data(run)
    # control: the unpruned network fine-tuned the same epoch, so that the AUC change of
    # pruning is not mistaken for the gain of one more epoch of training
    control = dataclasses.replace(run, model=copy.deepcopy(run.model))
    _fine_tune(control, data, 1)
    control_changes = task_changes(run, control, data)
    result: dict[str, Any] = {
        "control_test_auc": {t: c.test[1] for t, c in control_changes.items() if c.test},
        "run": str(run_dir),
        "variants": {},
    }
    for i, (name, options) in enumerate(PRUNINGS.items()):
        began = time.perf_counter()
        where = out_dir.with_name(f"{out_dir.name}-{i}")
        report = prune(run, where, epochs=1, overwrite=True, force=True, **options)
        seconds = time.perf_counter() - began
        print(name, "\n".join(report.lines()), flush=True)
        pruned = mh.load(where)
        eager = {}
        with torch.inference_mode():
            for size in (*BATCHES, 1024):
                x = encoded_batch(run, data.valid, size)
                before, after = paired_ms(partial(run.model, x), partial(pruned.model, x), passes)
                eager[str(size)] = {
                    "before_ms": before,
                    "after_ms": after,
                    "speedup": before / after,
                }
        with tempfile.TemporaryDirectory() as tmp:
            a, b = Path(tmp) / "a.onnx", Path(tmp) / "b.onnx"
            export_onnx(run, a)
            export_onnx(pruned, b)
            ort = ort_latency(run, a, b, passes, (*BATCHES, 1024))
        result["variants"][name] = {
            "report": report.to_dict(),
            "seconds": seconds,
            "eager": eager,
            "onnxruntime": ort,
        }
        print(name, json.dumps({"eager": eager, "onnxruntime": ort}), flush=True)
    return result


def markdown(result: dict[str, Any]) -> str:
    rows = []
    q = result.get("quantize")
    if q:
        rows += [
            "| int8 setting (MiniLM reviews) | size ratio | speed-up b1 | speed-up b64 | "
            "largest drop per task |",
            "|---|---|---|---|---|",
        ]
        for name, v in q["variants"].items():
            lat = v["latency"]
            drops = ", ".join(f"{t} {d:+.4f}" for t, d in v["drop"].items())
            rows.append(
                f"| {name} | {v['size_ratio']:.2f}x | {lat['1']['speedup']:.2f}x | "
                f"{lat['64']['speedup']:.2f}x | {drops} |"
            )
    p = result.get("prune")
    if p:
        rows += [
            "",
            "| census mmoe, pruned + 1 epoch | widths | eager b1 | eager b64 | eager b1024 | "
            "ort b1 | ort b64 | params | test AUC change vs run (vs control) |",
            "|---|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for name, v in p["variants"].items():
            r = v["report"]
            auc = ", ".join(
                f"{t} {t_['test']['after'] - t_['test']['before']:+.4f} "
                f"({t_['test']['after'] - p['control_test_auc'][t]:+.4f})"
                for t, t_ in r["tasks"].items()
            )
            e, o = v["eager"], v["onnxruntime"]
            rows.append(
                f"| {name} | {r['settings']['widths']} | {e['1']['speedup']:.2f}x | "
                f"{e['64']['speedup']:.2f}x | {e['1024']['speedup']:.2f}x | "
                f"{o['1']['speedup']:.2f}x | {o['64']['speedup']:.2f}x | "
                f"{r['n_parameters']['before']} -> {r['n_parameters']['after']} | {auc} |"
            )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", default="quantize,prune")
    parser.add_argument("--minilm-run", default="/work/bench-runs/reviews-minilm/run")
    parser.add_argument("--census-run", default="/work/bench-runs/census-mmoe/run")
    parser.add_argument("--census-epochs", type=int, default=2)
    parser.add_argument("--out", default="/work/bench-runs/compress", help="bundles go here")
    parser.add_argument("--passes", type=int, default=30, help="timed passes per engine")
    parser.add_argument("--json", default=None)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
    }
    parts = args.parts.split(",")
    if "quantize" in parts:
        result["quantize"] = quantize_part(Path(args.minilm_run), out / "minilm-int8", args.passes)
    if "prune" in parts:
        run_dir = census_run(Path(args.census_run), args.census_epochs)
        result["prune"] = prune_part(run_dir, out / "census-mmoe-pruned", args.passes)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str) + "\n")
    if args.markdown:
        print(markdown(result))


if __name__ == "__main__":
    main()
