"""Class + box on Fashion-MNIST localisation: stl and hps (LeNet) against MTAN, over seeds.

    MANYHEADS_DATA=../shared/data python bench/fashion_box.py --seeds 0,1,2 --epochs 10 \\
        --json bench/results/fashion_box.json            # then --resume after an interruption
    python bench/fashion_box.py --n-train 600 --n-test 200 --epochs 1 --seeds 0   # smoke run
    python bench/fashion_box.py --markdown bench/results/fashion_box.json        # the table

Every run trains on ``fashion-mnist-loc`` (one item on a cluttered 64 x 64 canvas; tasks
``label``, 10 classes, and ``box``), selects the epoch with the lowest validation loss (10% of
train) and reports test accuracy, mean IoU and the share of boxes with IoU >= 0.5 (acc50).

* ``stl``: one encoder and head per task.
* ``hps``: one shared encoder, a tower per task (``hidden: []``, ``tower: [50]``).
* ``mtan``: MTAN (Liu et al., CVPR 2019) with ``--mtan-channels`` and a ``--mtan-grid`` x grid
  average pooling before the heads (1 is the paper's global pooling; a box needs positions).

The encoder of ``stl``/``hps`` is Sener & Koltun's LeNet by default, the MultiMNIST
benchmark's, so both image benchmarks share one protocol. It fits a 2-core CPU: one step of 128
images at 64 x 64 takes about 0.12 s on one thread, where ResNet-18 at full width takes 1.35 s
(10x). ``--encoder resnet18`` uses ResNet-18 at width 0.25 (16-128 channels), as cheap as LeNet
(0.13 s); in a 4-epoch check on 2,700 items it matched LeNet's box IoU (0.57 vs 0.56) with a
higher accuracy (0.41 vs 0.37). MTAN runs its first stage at full resolution and one attention
branch per task, so it costs about 8x LeNet per step; ``--n-train`` defaults to 20,000 items
(18,000 train): three seeds of the three variants then take about 3 hours on one thread.

The summary holds mean ± std over seeds of each metric (in %) and Δm% against ``stl``: the mean
relative change over the three metrics with the sign flipped so that negative is better
(Maninis et al., CVPR 2019). Runs are written to ``--json`` as they finish; ``--resume`` keeps
them (if that report used the same settings) and runs only the missing (variant, seed) pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from typing import Any

import torch

import manyheads as mh
from _common import mean_std as _mean_std
from manyheads.builtin_datasets import DatasetSplits, load_dataset
from manyheads.workflow._compare import delta_m

METRICS = (("label", "accuracy"), ("box", "iou"), ("box", "acc50"))


def model_of(variant: str, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """(architecture, model options) of a variant."""
    if variant in ("stl", "hps"):
        if args.encoder == "lenet":
            encoder = {"encoder": "lenet", "encoder_options": {"dropout": args.dropout}}
        else:
            encoder = {"encoder": "resnet18", "encoder_options": {"width": 0.25}}
        return variant, {**encoder, "hidden": [], "tower": [50], "dropout": args.dropout}
    if variant == "mtan":
        channels = [int(c) for c in args.mtan_channels.split(",")]
        return "mtan", {"channels": channels, "grid": args.mtan_grid, "tower": [50]}
    raise SystemExit(f"unknown variant {variant!r}; choose among stl, hps, mtan")


def run_one(
    data: DatasetSplits, variant: str, seed: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Train one (variant, seed) and return its test metrics (in %) and timing."""
    architecture, options = model_of(variant, args)
    began = time.perf_counter()
    run = mh.fit(
        data.train,
        tasks=list(data.tasks),
        inputs=data.inputs,
        valid=data.valid,
        test=data.test,
        architecture=architecture,
        model_options=options,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        optimizer="adam",
        seed=seed,
    )
    assert run.metrics is not None
    tasks = run.metrics["tasks"]
    return {
        "variant": variant,
        "seed": seed,
        "scores": {metric: 100.0 * tasks[task][metric] for task, metric in METRICS},
        "best_epoch": run.metrics["best_epoch"],
        "n_parameters": run.n_parameters,
        "seconds": round(time.perf_counter() - began, 1),
    }


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean ± std per variant, and Δm% per seed against the mean ``stl`` scores."""
    stl = [r["scores"] for r in rows if r["variant"] == "stl"]
    names = [metric for _, metric in METRICS]
    base = {m: statistics.mean(s[m] for s in stl) for m in names} if stl else None
    out = []
    for variant in dict.fromkeys(r["variant"] for r in rows):
        runs = [r for r in rows if r["variant"] == variant]
        entry: dict[str, Any] = {"variant": variant, "n_seeds": len(runs)}
        for m in names:
            entry[m] = _mean_std([r["scores"][m] for r in runs])
        if base is not None:
            higher = dict.fromkeys(names, True)
            entry["delta_m"] = _mean_std([delta_m(r["scores"], base, higher) for r in runs])
        entry["seconds"] = statistics.mean(r["seconds"] for r in runs)
        entry["n_parameters"] = runs[0]["n_parameters"]
        out.append(entry)
    return out


def markdown(report: dict[str, Any]) -> str:
    """The Markdown table of a report."""
    rows = [
        "| variant | label acc % | box IoU % | box acc50 % | Δm% vs stl | params | s/run | seeds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in report["summary"]:
        cells = [f"{e[m]['mean']:.2f} ± {e[m]['std']:.2f}" for _, m in METRICS]
        dm = e.get("delta_m")
        dm_cell = "—" if dm is None else f"{dm['mean']:+.2f} ± {dm['std']:.2f}"
        rows.append(
            f"| {e['variant']} | {' | '.join(cells)} | {dm_cell} | {e['n_parameters']:,} "
            f"| {e['seconds']:.0f} | {e['n_seeds']} |"
        )
    return "\n".join(rows)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--variants", default="stl,hps,mtan", help="comma-separated")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--encoder", choices=("lenet", "resnet18"), default="lenet")
    parser.add_argument("--dropout", type=float, default=0.0, help="LeNet and head dropout")
    parser.add_argument("--mtan-channels", default="8,16,32", help="MTAN stage widths")
    parser.add_argument("--mtan-grid", type=int, default=4, help="MTAN pooling grid side")
    parser.add_argument("--n-train", type=int, default=20000, help="train items; 0: all 60,000")
    parser.add_argument("--n-test", type=int, default=None, help="test items (default all)")
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the dataset build")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--json", default=None, help="write the report to this file")
    parser.add_argument("--markdown", default=None, help="print the table of a saved report")
    parser.add_argument(
        "--resume", action="store_true", help="keep the runs already in --json, run the rest"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the grid, write the JSON report after every run and print the table."""
    args = _parser().parse_args(argv)
    if args.markdown:
        with open(args.markdown) as fh:
            print(markdown(json.load(fh)))
        return 0
    torch.set_num_threads(args.threads)  # more than one thread per core spin-waits badly
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    variants = args.variants.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = _resumed(args) if args.resume and args.json and os.path.exists(args.json) else []
    n_train = args.n_train if args.n_train else None
    data = load_dataset(
        "fashion-mnist-loc", n_train=n_train, n_test=args.n_test, seed=args.data_seed
    )
    done = {(r["variant"], r["seed"]) for r in rows}
    began = time.perf_counter()
    report: dict[str, Any] = {}
    for seed in seeds:
        for variant in variants:
            if (variant, seed) in done:
                continue
            rows.append(run_one(data, variant, seed, args))
            print(json.dumps(rows[-1]), flush=True)
            report = _report(rows, args, began)
            if args.json:
                with open(args.json, "w") as fh:
                    json.dump(report, fh, indent=1)
    report = report or _report(rows, args, began)
    print(markdown(report))
    print(f"wall time {report['wall_seconds']} s for {len(rows)} runs")
    return 0


#: settings that change the results: a resumed report must have been run with the same ones
_PROTOCOL = ("epochs", "batch_size", "lr", "encoder", "dropout", "mtan_channels", "mtan_grid")
_PROTOCOL_DATA = ("n_train", "n_test", "data_seed")


def _resumed(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The runs of the saved report (all variants), if it used the same protocol."""
    with open(args.json) as fh:
        saved = json.load(fh)
    differ = [
        k for k in (*_PROTOCOL, *_PROTOCOL_DATA) if saved["settings"].get(k) != getattr(args, k)
    ]
    if differ:
        raise SystemExit(
            f"--resume: {args.json} was run with other settings ({', '.join(differ)}); "
            "use the same ones or another --json file."
        )
    return list(saved["runs"])


def _report(rows: list[dict[str, Any]], args: argparse.Namespace, began: float) -> dict[str, Any]:
    settings = {k: v for k, v in vars(args).items() if k not in ("json", "markdown", "resume")}
    return {
        "dataset": "fashion-mnist-loc",
        "settings": settings,
        "machine": f"{platform.machine()} CPU, {torch.get_num_threads()} torch thread(s)",
        "wall_seconds": round(time.perf_counter() - began, 1),
        "runs": rows,
        "summary": summarise(rows),
    }


if __name__ == "__main__":
    raise SystemExit(main())
