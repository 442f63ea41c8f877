"""POS + NER on uner-en-ewt: single-task (``stl``) vs hard parameter sharing (``hps``) per encoder.

    python bench/uner.py --seeds 0,1,2 --epochs 10 --json uner.json
    python bench/uner.py --encoders bilstm --seeds 0 --epochs 1 --limit 1000   # smoke run
    python bench/uner.py --markdown uner.json [more.json ...]
    python bench/uner.py --encoders pretrained --architectures hps --weighting uw --crf ner ...

For each encoder (``bilstm``, ``pretrained`` = the bundled MiniLM-L6), architecture and seed it
trains both tagging tasks of ``uner-en-ewt`` with :func:`manyheads.fit` (linear heads on the
encoder, the default on text encoders) on the train split, keeps
the epoch with the best validation (UD dev) score (``--monitor``, the summed validation loss by
default) and reports test UPOS accuracy and NER entity F1 (seqeval, conlleval rules). The summary
is the mean and standard deviation over seeds and Δm% of each variant against the mean of ``stl``
with the same encoder (per seed, then mean ± std; Maninis et al. 2019): negative is better, as
everywhere in manyheads. Note that the NER training labels are UNER's pre-release v0 (see the data
README), so the F1 is not exactly the paper's setting. ``--weighting`` (and ``--task-weights``
with ``static``) sets the loss weighting of the multi-task variants, which are then labelled by
it (``hps uw``); ``stl`` trains each task alone. ``--resume`` keeps the runs already stored
in ``--json`` and trains only the missing ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch

import manyheads as mh
from manyheads.builtin_datasets import load_dataset
from manyheads.workflow._compare import delta_m

#: Per encoder: encoder options and training settings (overridable from the command line).
SETUPS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "bilstm": (
        {"embedding_dim": 128, "hidden": 128, "dropout": 0.3, "min_count": 1},
        {"lr": 2e-3, "batch_size": 32},
    ),
    # the encoder (shared, or each task's own in stl) at lr_encoder, the linear heads at lr;
    # constant: in one epoch a cosine decay with warm-up halved NER F1 (0.64 -> 0.31-0.34 on
    # 3,000 sentences, hps, NER alone)
    "pretrained": ({"max_length": 192}, {"lr": 1e-3, "lr_encoder": 1e-4, "batch_size": 32}),
}
METRICS = (("pos", "accuracy"), ("ner", "f1"))


def run_one(data: Any, encoder: str, architecture: str, seed: int, args: Any) -> dict[str, Any]:
    """Train one (encoder, architecture, seed) and return its test scores and timing."""
    options, settings = SETUPS[encoder]
    settings = dict(settings)
    if args.lr is not None:
        settings["lr"] = args.lr
    if args.batch_size is not None:
        settings["batch_size"] = args.batch_size
    began = time.perf_counter()
    tasks = [dataclasses.replace(t, crf=True) if t.name in args.crf else t for t in data.tasks]
    weighting = _weighting(architecture, args)
    if architecture != "stl" and args.task_weights:
        tasks = [dataclasses.replace(t, weight=args.task_weights.get(t.name, 1.0)) for t in tasks]
    run = mh.fit(
        data.train,
        tasks=tasks,
        inputs=data.inputs,
        valid=data.valid,
        test=data.test,
        architecture=architecture,
        method=weighting,
        model_options={"encoder": encoder, "encoder_options": options},
        epochs=args.epochs,
        seed=seed,
        monitor=args.monitor,
        device=args.device,
        eval_batch_size=256,
        group_by_length=args.group_by_length,
        batch_by=args.batch_by,
        precision=args.precision,
        schedule=args.schedule,
        warmup_epochs=args.warmup_epochs,
        **settings,
    )
    assert run.metrics is not None
    tasks = run.metrics["tasks"]
    return {
        "encoder": encoder,
        "architecture": architecture,
        "variant": _variant(architecture, weighting, args.task_weights),
        "seed": seed,
        "scores": {f"{t}_{m}": tasks[t][m] for t, m in METRICS},
        "best_epoch": run.metrics.get("best_epoch"),
        # per epoch: validation losses and primary metrics, to see where each task peaks
        "history": [
            {k: round(v, 5) for k, v in record.items() if k == "epoch" or k.startswith("valid_")}
            for record in run.history
        ],
        "seconds": round(time.perf_counter() - began, 1),
    }


def _weighting(architecture: str, args: Any) -> str:
    """The loss weighting of a variant: ``--weighting``, or ``ew`` for stl (each task alone)."""
    return "ew" if architecture == "stl" else str(args.weighting)


def _variant(architecture: str, weighting: str, task_weights: dict[str, float]) -> str:
    """The row label: the architecture, with its weighting and task weights where not plain."""
    if architecture == "stl":
        return architecture
    label = architecture if weighting == "ew" else f"{architecture} {weighting}"
    if task_weights:
        label += " " + ",".join(f"{k}={v:g}" for k, v in sorted(task_weights.items()))
    return label


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return row["encoder"], row.get("variant", row["architecture"])


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and std per (encoder, variant) and Δm% of each variant against stl (same encoder)."""
    out = []
    for encoder, architecture in dict.fromkeys(_key(r) for r in rows):
        runs = [r for r in rows if _key(r) == (encoder, architecture)]
        entry: dict[str, Any] = {
            "encoder": encoder,
            "architecture": architecture,
            "n_seeds": len(runs),
            "seconds": statistics.mean(r["seconds"] for r in runs),
        }
        for key in runs[0]["scores"]:
            values = [r["scores"][key] for r in runs]
            entry[key] = {
                "mean": statistics.mean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            }
        out.append(entry)
    for entry in out:
        base = next(
            (e for e in out if e["encoder"] == entry["encoder"] and e["architecture"] == "stl"),
            None,
        )
        keys = [f"{t}_{m}" for t, m in METRICS]
        runs = [r for r in rows if _key(r) == (entry["encoder"], entry["architecture"])]
        if base is None or any(base[k]["mean"] == 0 for k in keys):
            entry["delta_m"] = None
            continue
        per_seed = [
            delta_m(
                {k: r["scores"][k] for k in keys},
                {k: base[k]["mean"] for k in keys},
                dict.fromkeys(keys, True),
            )
            for r in runs
        ]
        entry["delta_m"] = {
            "mean": statistics.mean(per_seed),
            "std": statistics.stdev(per_seed) if len(per_seed) > 1 else 0.0,
        }
    return out


def markdown(report: dict[str, Any]) -> str:
    """A Markdown table of a report: test UPOS accuracy, NER F1, Δm% vs stl, time per run."""
    rows = [
        "| encoder | architecture | UPOS acc (test) | NER F1 (test) | Δm% vs stl | s/run | seeds |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in report["summary"]:
        cells = [
            f"{100 * e[k]['mean']:.2f} ± {100 * e[k]['std']:.2f}"
            for k in ("pos_accuracy", "ner_f1")
        ]
        dm = e["delta_m"]
        delta = "—" if dm is None else f"{dm['mean']:+.2f} ± {dm['std']:.2f}"
        rows.append(
            f"| {e['encoder']} | {e['architecture']} | {' | '.join(cells)} | {delta} "
            f"| {e['seconds']:.0f} | {e['n_seeds']} |"
        )
    return "\n".join(rows)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoders", default="bilstm,pretrained", help="comma-separated")
    parser.add_argument("--architectures", default="stl,hps", help="comma-separated")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=None, help="override every encoder's lr")
    parser.add_argument("--batch-size", type=int, default=None, help="override the batch size")
    parser.add_argument("--monitor", default="loss", help="loss or TASK.METRIC, e.g. ner.f1")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto")
    parser.add_argument("--limit", type=int, default=None, help="first N sentences per split")
    parser.add_argument(
        "--group-by-length",
        action="store_true",
        help="train on batches of sentences of similar length (train.group_by_length)",
    )
    parser.add_argument(
        "--batch-by",
        default="rows",
        choices=("rows", "tokens"),
        help="tokens: length-grouped batches of about batch-size x mean length pieces",
    )
    parser.add_argument(
        "--precision",
        default="fp32",
        choices=("fp32", "bf16"),
        help="bf16: the training forward under bfloat16 autocast (train.precision)",
    )
    parser.add_argument(
        "--schedule", default="constant", help="train.schedule: constant, cosine, linear, step"
    )
    parser.add_argument("--warmup-epochs", type=float, default=0.0, help="train.warmup_epochs")
    parser.add_argument(
        "--crf",
        default="",
        type=lambda text: [t for t in text.split(",") if t],
        help="comma-separated tasks with a CRF output layer (tagging crf: true), e.g. ner",
    )
    parser.add_argument(
        "--weighting", default="ew", help="loss weighting of the multi-task variants (stl: ew)"
    )
    parser.add_argument(
        "--task-weights",
        default={},
        type=lambda text: {k: float(v) for k, v in (p.split("=") for p in text.split(",") if p)},
        help="static task weights of the multi-task variants, e.g. ner=2 (with --weighting static)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--json", default=None, help="write the results to this file")
    parser.add_argument(
        "--markdown",
        nargs="+",
        default=None,
        help="print the table of saved JSON reports (their runs merged, e.g. seeds run apart)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the runs already in --json and run only the missing ones",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the grid, writing the JSON report after every run."""
    args = _parser().parse_args(argv)
    if args.markdown:
        runs = [r for path in args.markdown for r in json.loads(Path(path).read_text())["runs"]]
        print(markdown({"summary": summarise(runs)}))
        return 0
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    encoders, architectures = args.encoders.split(","), args.architectures.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    unknown = [e for e in encoders if e not in SETUPS]
    if unknown:
        raise SystemExit(f"unknown encoder(s) {unknown}; this benchmark has {', '.join(SETUPS)}")
    data = load_dataset("uner-en-ewt", limit=args.limit)
    rows: list[dict[str, Any]] = []
    if args.resume and args.json and Path(args.json).exists():  # a first run starts it
        with open(args.json) as fh:
            rows = json.load(fh)["runs"]
    done = {(*_key(r), r["seed"]) for r in rows}
    for encoder in encoders:
        for architecture in architectures:
            for seed in seeds:
                label = _variant(architecture, _weighting(architecture, args), args.task_weights)
                if (encoder, label, seed) in done:
                    continue
                rows.append(run_one(data, encoder, architecture, seed, args))
                print(json.dumps(rows[-1]), flush=True)
                _write(args, rows)
    report = _write(args, rows)
    print(markdown(report))
    return 0


def _write(args: argparse.Namespace, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The report of ``rows``, saved to ``--json`` (if given) so an interrupted grid resumes."""
    report = {
        "dataset": "uner-en-ewt",
        "epochs": args.epochs,
        "limit": args.limit,
        "monitor": args.monitor,
        "group_by_length": args.group_by_length,
        "batch_by": args.batch_by,
        "precision": args.precision,
        "schedule": args.schedule,
        "crf": args.crf,
        "weighting": args.weighting,
        "task_weights": args.task_weights,
        "warmup_epochs": args.warmup_epochs,
        "runs": rows,
        "summary": summarise(rows),
    }
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)
    return report


if __name__ == "__main__":
    raise SystemExit(main())
