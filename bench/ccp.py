"""Click + conversion on synthetic-ccp: ESMM vs clicked-only CVR vs MMoE / PLE, and vs torch-rechub.

Part ``quality`` runs ``examples/click-conversion/run.py``'s comparison (ESMM = ``cascade`` with
``funnel: true``; a CVR model trained on clicked rows only; MMoE and PLE with ``conversion``
labelled on clicked rows) for several seeds on one synthetic-ccp draw, and scores every pCVR on
*all* test impressions against ``conversion_if_clicked`` (the whole-space CVR AUC, known only
because the data are synthetic; docs/ranking.md).

Part ``generate`` times writing ``--generate-impressions`` rows of synthetic-ccp to Parquet (a
temporary file, removed afterwards). Part ``rechub`` trains torch-rechub's ``ESMM`` with its
``DataGenerator`` and ``MTLTrainer`` and the same network in manyheads (``cascade``, funnel, no
shared bottom, towers [16, 8] with batch norm, embeddings of width 8 for the 8 categorical
columns, batch 1024, Adam lr 1e-3, weight decay 1e-5), each library in its own subprocess with
one intra-op thread, the two runs interleaved (rechub, manyheads, rechub, ...) when
``--repeats`` > 1, as ``bench/speed_rechub.py`` does. Throughput is training rows per process-
CPU second (median epoch); AUCs are computed by the same code on the same test impressions.

Usage (bench extra for torch-rechub: pip install -c constraints.txt 'torch-rechub==0.9.0'):
    python bench/ccp.py --part quality --impressions 1000000 --seeds 0,1,2 --epochs 3
    python bench/ccp.py --part rechub --impressions 1000000 --rechub-epochs 2 --json ccp.json
    # manyheads with torch-rechub-like small embeddings and the fused optimiser step:
    python bench/ccp.py --part rechub --init-std 0.01 --train '{"fused_optimizer": true}'
    python bench/ccp.py --part generate --generate-impressions 10000000
"""

from __future__ import annotations

import argparse
import importlib.util
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
from pathlib import Path
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")

ROOT = Path(__file__).resolve().parents[1]
USER = ["user_id", "user_segment", "user_age", "user_gender", "position"]
ITEM = ["item_id", "item_category", "item_brand"]
TOWER = [16, 8]
EMBED = 8


def _example() -> Any:
    path = ROOT / "examples" / "click-conversion" / "run.py"
    spec = importlib.util.spec_from_file_location("click_conversion_run", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _data(impressions: int) -> Any:
    from manyheads.builtin_datasets import load_dataset

    return load_dataset("synthetic-ccp", n_impressions=impressions, seed=0)


def _scores(test: Any, p_ctr: Any, p_cvr: Any) -> dict[str, float]:
    return dict(_example().score(test, p_ctr, p_cvr))


def run_rechub(impressions: int, epochs: int) -> dict[str, Any]:
    """torch-rechub's ESMM, DataGenerator and MTLTrainer."""
    import numpy as np
    import torch
    from torch_rechub.basic.features import SparseFeature
    from torch_rechub.models.multi_task import ESMM
    from torch_rechub.trainers import MTLTrainer
    from torch_rechub.utils.data import DataGenerator

    ds = _data(impressions)
    frames = {"train": ds.train, "valid": ds.valid, "test": ds.test}
    x = {s: {c: f[c].to_numpy(np.int64) for c in USER + ITEM} for s, f in frames.items()}
    y = {
        s: np.stack(
            [f["conversion"].fillna(0).to_numpy(), f["click"].to_numpy(), f["purchase"].to_numpy()],
            axis=1,
        ).astype(np.float32)
        for s, f in frames.items()
    }
    vocab = {c: int(max(x[s][c].max() for s in x)) + 1 for c in USER + ITEM}
    torch.manual_seed(0)
    net = ESMM(
        [SparseFeature(c, vocab_size=vocab[c], embed_dim=EMBED) for c in USER],
        [SparseFeature(c, vocab_size=vocab[c], embed_dim=EMBED) for c in ITEM],
        cvr_params={"dims": TOWER},
        ctr_params={"dims": TOWER},
    )
    gen = DataGenerator(x["train"], y["train"])
    train_dl, _, test_dl = gen.generate_dataloader(
        x_val=x["valid"], y_val=y["valid"], x_test=x["test"], y_test=y["test"], batch_size=1024
    )
    types = ["classification"] * 3
    with tempfile.TemporaryDirectory() as tmp:
        trainer = MTLTrainer(
            net,
            task_types=types,
            optimizer_params={"lr": 1e-3, "weight_decay": 1e-5},
            n_epoch=epochs,
            device="cpu",
            model_path=tmp,
        )
        cpu, wall = [], []
        for _ in range(epochs):
            began, began_cpu = time.perf_counter(), time.process_time()
            trainer.train_one_epoch(train_dl)
            wall.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
    net.eval()
    with torch.no_grad():
        out = torch.cat([net({k: v for k, v in xb.items()}) for xb, _ in test_dl]).numpy()
    return {
        "epoch_cpu_seconds": cpu,
        "epoch_seconds": wall,
        "rows": len(ds.train),
        "n_parameters": sum(p.numel() for p in net.parameters()),
        **_scores(ds.test, out[:, 1], out[:, 0]),
    }


def run_manyheads(
    impressions: int,
    epochs: int,
    init_std: float | None = None,
    train: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The same network in manyheads: ``train_config`` on the same frames; ``init_std`` is the
    ``tabular`` encoder's option (embeddings start at N(0, init_std²); None: N(0, 1)) and
    ``train`` adds ``train:`` settings (e.g. ``{"fused_optimizer": true}``)."""
    from manyheads import train_config
    from manyheads.config.load import build_config
    from manyheads.engine import trainer as trainer_module
    from manyheads.workflow._splits import Splits

    ds = _data(impressions)
    raw = {
        "data": {"dataset": "synthetic-ccp"},
        "inputs": dict.fromkeys(USER + ITEM, "categorical"),
        "tasks": {"click": {"type": "binary"}, "purchase": {"type": "binary"}},
        "model": {
            "architecture": "cascade",
            "funnel": True,
            "hidden": [],
            "tower": TOWER,
            "norm": "batch",
            "embed_dim": EMBED,
            **({"encoder_options": {"init_std": init_std}} if init_std is not None else {}),
        },
        "train": {
            "epochs": epochs,
            "batch_size": 1024,
            "lr": 1e-3,
            "weight_decay": 1e-5,
            "optimizer": "adam",
            **(train or {}),
        },
        "output": None,
    }
    cpu: list[float] = []
    wall: list[float] = []
    original = trainer_module.train_one_epoch

    def timed(*args: Any, **kwargs: Any) -> Any:
        began, began_cpu = time.perf_counter(), time.process_time()
        out = original(*args, **kwargs)
        wall.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
        return out

    trainer_module.train_one_epoch = timed  # type: ignore[assignment]
    run = train_config(build_config(raw), splits=Splits(ds.train, ds.valid, ds.test))
    pred = run.predict(ds.test)
    return {
        "epoch_cpu_seconds": cpu,
        "epoch_seconds": wall,
        "rows": len(ds.train),
        "n_parameters": run.n_parameters,
        **_scores(ds.test, pred["pCTR"].to_numpy(), pred["pCVR"].to_numpy()),
    }


def worker(
    framework: str, impressions: int, epochs: int, init_std: float | None, train: dict[str, Any]
) -> None:
    import torch

    torch.set_num_threads(1)
    if framework == "torch-rechub":
        result = run_rechub(impressions, epochs)
    else:
        result = run_manyheads(impressions, epochs, init_std, train)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


def side_by_side(
    impressions: int,
    epochs: int,
    repeats: int,
    init_std: float | None = None,
    train: str = "{}",
) -> dict[str, Any]:
    """Each library in its own subprocess, interleaved; the median epoch of every run."""
    runs: dict[str, list[dict[str, Any]]] = {"torch-rechub": [], "manyheads": []}
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for _ in range(repeats):
        for framework in runs:
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    framework,
                    "--impressions",
                    str(impressions),
                    "--epochs",
                    str(epochs),
                    *(["--init-std", str(init_std)] if init_std is not None else []),
                    "--train",
                    train,
                ],
                capture_output=True,
                text=True,
                check=False,
                env=env,
            )
            if done.returncode != 0:
                raise RuntimeError(f"{framework} worker failed:\n{done.stderr[-3000:]}")
            line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
            r = json.loads(line[len("RESULT ") :])
            r["samples_per_second"] = r["rows"] / statistics.median(r["epoch_cpu_seconds"])
            runs[framework].append(r)
            print(framework, json.dumps(r), flush=True)
    speed = {f: statistics.median(r["samples_per_second"] for r in rs) for f, rs in runs.items()}
    return {"runs": runs, "ratio": speed["manyheads"] / speed["torch-rechub"]}


def generate(impressions: int) -> dict[str, Any]:
    """Seconds (wall and CPU) and peak memory to write ``impressions`` rows to Parquet."""
    from manyheads.builtin_datasets._synthetic_ccp import write_synthetic_ccp

    with tempfile.TemporaryDirectory() as tmp:
        began, began_cpu = time.perf_counter(), time.process_time()
        path = write_synthetic_ccp(Path(tmp) / "ccp.parquet", impressions, seed=0)
        out = {
            "impressions": impressions,
            "seconds": time.perf_counter() - began,
            "cpu_seconds": time.process_time() - began_cpu,
            "parquet_mb": path.stat().st_size / 2**20,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    print(json.dumps(out), flush=True)
    return out


def _quality_table(result: dict[str, Any]) -> str:
    return str(_example().report(result["summary"], result["claim"], result["meta"]))


def _rechub_table(result: dict[str, Any]) -> str:
    lines = [
        "| library | CPU s/epoch | wall s/epoch | samples/s (CPU) | peak RSS MB | params | "
        "whole-space CVR AUC | CVR AUC (clicked) | CTR AUC | CTCVR AUC |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for framework, runs in result["runs"].items():
        for r in runs:
            lines.append(
                f"| {framework} | {statistics.median(r['epoch_cpu_seconds']):.2f} | "
                f"{statistics.median(r['epoch_seconds']):.2f} | {r['samples_per_second']:,.0f} | "
                f"{r['peak_rss_mb']:.0f} | {r['n_parameters']:,} | "
                f"{r['cvr_auc_whole_space']:.4f} | {r['cvr_auc_clicked']:.4f} | "
                f"{r['ctr_auc']:.4f} | {r['ctcvr_auc']:.4f} |"
            )
    lines.append(f"| **ratio** | | | **{result['ratio']:.2f}x** | | | | | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("quality", "rechub", "generate", "all"), default="all")
    parser.add_argument("--generate-impressions", type=int, default=10_000_000)
    parser.add_argument("--impressions", type=int, default=1_000_000)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rechub-epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="interleaved runs per library")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument(
        "--init-std",
        type=float,
        help="manyheads' model.encoder_options.init_std: its embeddings start at N(0, this²) "
        "(default N(0, 1); torch-rechub's are N(0, 1e-4))",
    )
    parser.add_argument(
        "--train",
        default="{}",
        help="manyheads train: settings as JSON, e.g. '{\"fused_optimizer\": true}'",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.impressions, args.epochs, args.init_std, json.loads(args.train))
        return
    import torch

    began = time.perf_counter()
    out: dict[str, Any] = {
        "meta": {
            "date": str(date.today()),
            "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores, torch "
            f"{torch.__version__}, no GPU",
            "impressions": args.impressions,
        }
    }
    if args.part in ("generate", "all"):
        out["generate"] = generate(args.generate_impressions)
    if args.part in ("quality", "all"):
        torch.set_num_threads(1)
        example = _example()
        from manyheads.config.load import read_yaml

        base = read_yaml(example.HERE / "config.yaml")
        base.setdefault("train", {})["epochs"] = args.epochs
        seeds = [int(s) for s in args.seeds.split(",")]
        out["quality"] = example.compare(base, impressions=args.impressions, seeds=seeds)
        print(_quality_table(out["quality"]), flush=True)
    if args.part in ("rechub", "all"):
        out["rechub"] = side_by_side(
            args.impressions, args.rechub_epochs, args.repeats, args.init_std, args.train
        )
        out["rechub"]["init_std"], out["rechub"]["train"] = args.init_std, json.loads(args.train)
        print(_rechub_table(out["rechub"]), flush=True)
    out["meta"]["seconds"] = time.perf_counter() - began
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    print(json.dumps(out["meta"]))


if __name__ == "__main__":
    main()
