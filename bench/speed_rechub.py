"""Training speed on full census-income: manyheads vs torch-rechub, side by side in one run.

The same MMoE and PLE configurations (experts, widths, batch 1024, Adam lr 1e-3, weight decay
1e-5, embedding width 4 for 31 categorical columns, 7 dense columns, batch-normalised MLPs as in
torch-rechub's MLP) are trained on the 199,523-row train split by each library, each in its own
subprocess (so peak RSS is per library) with the same number of intra-op threads. Reported per
epoch (median over epochs): wall seconds and process CPU seconds (``time.process_time``; with one
thread this is the compute cost and is robust to other jobs sharing the machine, which wall time
is not), samples per second (from CPU time), peak resident memory, and test AUC per task after the
last epoch.

Usage (needs the bench extra: pip install -c constraints.txt 'torch-rechub==0.9.0'):
    MANYHEADS_DATA=../shared/data python bench/speed_rechub.py --epochs 3 --json out.json
    # manyheads with other train: settings, alone (one candidate at a time):
    python bench/speed_rechub.py --libraries manyheads --train '{"fused_optimizer": true}'
    # three training seeds per library (the AUC as mean ± std):
    python bench/speed_rechub.py --seeds 0,1,2 --train '{"fused_optimizer": true}'
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")

MODELS: dict[str, dict[str, Any]] = {
    "mmoe": {"n_experts": 8, "expert_dims": [16], "tower": [8]},
    "ple": {"n_levels": 1, "specific": 2, "shared": 1, "expert_dims": [16], "tower": [8]},
}


def _census() -> Any:
    from manyheads.builtin_datasets import load_census_income

    return load_census_income()


def _rechub_arrays(ds: Any) -> tuple[dict[str, Any], list[str], list[str]]:
    import numpy as np

    cats = [c for c, k in ds.inputs.items() if k == "categorical"]
    nums = [c for c, k in ds.inputs.items() if k == "numeric"]
    frames = {"train": ds.train, "valid": ds.valid, "test": ds.test}
    out: dict[str, Any] = {name: {} for name in frames}
    for col in cats:  # label encoding over all splits, as the torch-rechub census example does
        vocab = {
            v: i
            for i, v in enumerate(
                sorted(set().union(*(f[col].astype(str) for f in frames.values())))
            )
        }
        for name, f in frames.items():
            out[name][col] = f[col].astype(str).map(vocab).to_numpy(np.int64)
    for col in nums:
        lo, hi = float(ds.train[col].min()), float(ds.train[col].max())
        for name, f in frames.items():
            out[name][col] = ((f[col].to_numpy(np.float32) - lo) / max(hi - lo, 1e-9)).astype(
                np.float32
            )
    ys = {
        name: np.stack([f["income"].to_numpy(), f["never_married"].to_numpy()], axis=1).astype(
            np.float32
        )
        for name, f in frames.items()
    }
    return (
        {"x": out, "y": ys, "vocab": {c: int(out["train"][c].max()) + 1 for c in cats}},
        cats,
        nums,
    )


def run_rechub(model: str, epochs: int, seed: int = 0) -> dict[str, Any]:
    """Train with torch-rechub's own model, DataGenerator and MTLTrainer."""
    import torch
    from torch_rechub.basic.features import DenseFeature, SparseFeature
    from torch_rechub.models.multi_task import MMOE, PLE
    from torch_rechub.trainers import MTLTrainer
    from torch_rechub.utils.data import DataGenerator

    ds = _census()
    data, cats, nums = _rechub_arrays(ds)
    vocab_sizes = {c: int(max(data["x"][s][c].max() for s in data["x"])) + 1 for c in cats}
    features = [SparseFeature(c, vocab_size=vocab_sizes[c], embed_dim=4) for c in cats]
    features += [DenseFeature(c) for c in nums]
    cfg = MODELS[model]
    types = ["classification", "classification"]
    torch.manual_seed(seed)  # the weights and the DataLoader's shuffle
    if model == "mmoe":
        net = MMOE(
            features,
            types,
            n_expert=cfg["n_experts"],
            expert_params={"dims": cfg["expert_dims"]},
            tower_params_list=[{"dims": cfg["tower"]}] * 2,
        )
    else:
        net = PLE(
            features,
            types,
            n_level=cfg["n_levels"],
            n_expert_specific=cfg["specific"],
            n_expert_shared=cfg["shared"],
            expert_params={"dims": cfg["expert_dims"]},
            tower_params_list=[{"dims": cfg["tower"]}] * 2,
        )
    gen = DataGenerator(data["x"]["train"], data["y"]["train"])
    train_dl, _, test_dl = gen.generate_dataloader(
        x_val=data["x"]["valid"],
        y_val=data["y"]["valid"],
        x_test=data["x"]["test"],
        y_test=data["y"]["test"],
        batch_size=1024,
    )
    with tempfile.TemporaryDirectory() as tmp:
        trainer = MTLTrainer(
            net,
            task_types=types,
            optimizer_params={"lr": 1e-3, "weight_decay": 1e-5},
            n_epoch=epochs,
            device="cpu",
            model_path=tmp,
        )
        times, cpu = [], []
        for _ in range(epochs):
            began, began_cpu = time.perf_counter(), time.process_time()
            trainer.train_one_epoch(train_dl)
            times.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
        aucs = trainer.evaluate(trainer.model, test_dl)
    n_params = sum(p.numel() for p in net.parameters())
    return {
        "epoch_seconds": times,
        "epoch_cpu_seconds": cpu,
        "rows": len(data["y"]["train"]),
        "n_parameters": n_params,
        "auc_income": float(aucs[0]),
        "auc_never_married": float(aucs[1]),
    }


def run_manyheads(
    model: str, epochs: int, train: dict[str, Any] | None = None, seed: int = 0
) -> dict[str, Any]:
    """Train the same configuration with manyheads' API (in-memory tensors, batch by index);
    ``train`` adds ``train:`` settings (e.g. ``{"fused_optimizer": True, "compile": True}``)."""
    from manyheads import train_config
    from manyheads.config.load import build_config

    cfg = MODELS[model]
    options: dict[str, Any] = {
        "architecture": model,
        "embed_dim": 4,
        "tower": cfg["tower"],
        "norm": "batch",
        "expert_hidden": cfg["expert_dims"],
    }
    if model == "mmoe":
        options["n_experts"] = cfg["n_experts"]
    else:
        options |= {
            "n_levels": cfg["n_levels"],
            "specific_experts": cfg["specific"],
            "shared_experts": cfg["shared"],
        }
    raw = {
        "data": {"dataset": "census-income"},
        "model": options,
        "train": {
            "epochs": epochs,
            "batch_size": 1024,
            "lr": 1e-3,
            "weight_decay": 1e-5,
            "optimizer": "adam",
            "seed": seed,
            **(train or {}),
        },
        "output": None,
    }
    epoch_times: list[float] = []
    epoch_cpu: list[float] = []
    from manyheads.engine import trainer as trainer_module

    original = trainer_module.train_one_epoch

    def timed(*args: Any, **kwargs: Any) -> Any:
        began, began_cpu = time.perf_counter(), time.process_time()
        out = original(*args, **kwargs)
        epoch_times.append(time.perf_counter() - began)
        epoch_cpu.append(time.process_time() - began_cpu)
        return out

    trainer_module.train_one_epoch = timed  # type: ignore[assignment]
    run = train_config(build_config(raw))
    metrics = run.metrics or {}
    return {
        "epoch_seconds": epoch_times,
        "epoch_cpu_seconds": epoch_cpu,
        "rows": 199523,
        "n_parameters": run.n_parameters,
        "auc_income": metrics["tasks"]["income"]["auc"],
        "auc_never_married": metrics["tasks"]["never_married"]["auc"],
    }


def worker(
    framework: str, model: str, epochs: int, threads: int, train: dict[str, Any], seed: int
) -> None:
    import torch

    torch.set_num_threads(threads)
    if framework == "torch-rechub":
        result = run_rechub(model, epochs, seed)
    else:
        result = run_manyheads(model, epochs, train, seed)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


def summary(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per model and library over the seeds: median samples/s, the median of the per-seed
    throughput ratios, and each task's test AUC as mean ± std."""
    out = []
    for model in dict.fromkeys(r["model"] for r in results):
        rows = [r for r in results if r["model"] == model]
        ratios = [r["throughput_ratio"] for r in rows if "throughput_ratio" in r]
        for fw in ("torch-rechub", "manyheads"):
            runs = [r[fw] for r in rows if fw in r]
            if not runs:
                continue
            auc = {}
            for task in ("income", "never_married"):
                values = [x[f"auc_{task}"] for x in runs]
                spread = statistics.stdev(values) if len(values) > 1 else 0.0
                auc[task] = (statistics.mean(values), spread)
            speed = statistics.median(x["samples_per_second"] for x in runs)
            ratio = f"{statistics.median(ratios):.2f}x" if ratios and fw == "manyheads" else ""
            out.append(
                {
                    "model": model,
                    "library": fw,
                    "n_seeds": len(runs),
                    "samples_per_second": speed,
                    "ratio_median": statistics.median(ratios) if ratios else None,
                    "auc": auc,
                    "row": f"| {model} | {fw} | {len(runs)} | {speed:,.0f} | {ratio} | "
                    + " | ".join(f"{m:.4f} ± {sd:.4f}" for m, sd in auc.values())
                    + " |",
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--models", default="mmoe,ple")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument(
        "--train",
        default="{}",
        help="manyheads train: settings as JSON, e.g. '{\"fused_optimizer\": true}'",
    )
    parser.add_argument(
        "--libraries",
        default="torch-rechub,manyheads",
        help="which to run (the ratio needs both)",
    )
    parser.add_argument(
        "--seeds",
        default="0",
        help="training seeds, e.g. 0,1,2: each model and seed trains once per library "
        "(interleaved); the summary gives the median ratio and the AUC mean ± std",
    )
    parser.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    train = json.loads(args.train)
    if args.worker:
        worker(args.worker[0], args.worker[1], args.epochs, args.threads, train, int(args.seeds))
        return
    import torch

    results = []
    for model, seed in [(m, s) for m in args.models.split(",") for s in args.seeds.split(",")]:
        row: dict[str, Any] = {"model": model, "seed": int(seed)}
        for framework in args.libraries.split(","):
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--epochs",
                    str(args.epochs),
                    "--threads",
                    str(args.threads),
                    "--train",
                    args.train,
                    "--seeds",
                    seed,
                    "--worker",
                    framework,
                    model,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
            r = json.loads(line[len("RESULT ") :])
            cpu = statistics.median(r["epoch_cpu_seconds"])
            r |= {
                "seconds_per_epoch": statistics.median(r["epoch_seconds"]),
                "cpu_seconds_per_epoch": cpu,
                "samples_per_second": r["rows"] / cpu,
            }
            row[framework] = r
        if "manyheads" in row and "torch-rechub" in row:
            row["throughput_ratio"] = (
                row["manyheads"]["samples_per_second"] / row["torch-rechub"]["samples_per_second"]
            )
        results.append(row)
        print(json.dumps(row, indent=1), flush=True)
    meta = {
        "date": str(date.today()),
        "machine": f"{platform.machine()} CPU, "
        f"{os.cpu_count()} cores, torch {torch.__version__}, "
        f"{args.threads} torch thread(s), no GPU",
        "epochs": args.epochs,
        "manyheads_train": train,
        "seeds": args.seeds,
        "summary": summary(results),
    }
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"meta": meta, "results": results}, fh, indent=1)
    print(
        "| model | library | CPU s/epoch | wall s/epoch | samples/s (CPU) | peak RSS MB | params | "
        "test AUC income | test AUC never-married |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in results:
        for fw in (f for f in ("torch-rechub", "manyheads") if f in row):
            r = row[fw]
            print(
                f"| {row['model']} | {fw} | {r['cpu_seconds_per_epoch']:.2f} | "
                f"{r['seconds_per_epoch']:.2f} | "
                f"{r['samples_per_second']:,.0f} | {r['peak_rss_mb']:.0f} | "
                f"{r['n_parameters']:,} | {r['auc_income']:.4f} | "
                f"{r['auc_never_married']:.4f} |"
            )
        if "throughput_ratio" in row:
            ratio = row["throughput_ratio"]
            print(f"| {row['model']} | **ratio** | | | **{ratio:.2f}x** | | | | |")
    print(json.dumps(meta))
    print(
        "| model | library | seeds | samples/s (CPU, median) | ratio (median) | "
        "test AUC income | test AUC never-married |"
    )
    print("|---|---|---|---|---|---|---|")
    for line in meta["summary"]:
        print(line["row"])


if __name__ == "__main__":
    main()
