"""Distillation: stl teachers -> one multi-task student (BAM!), against plain multi-task training.

    python bench/distill.py --seeds 0,1,2 --epochs 4 --json distill_census.json
    python bench/distill.py --sample --seeds 0 --epochs 1          # quick check (24k-row sample)
    python bench/distill.py --dataset reviews --architecture hps --epochs 2 --batch-size 32 \\
        --train-rows 6000 --json distill_reviews.json             # clothing reviews, CNN encoder
    python bench/distill.py --dataset uner --architecture hps --epochs 3 --batch-size 32 \
        --train-rows 4000 --seeds 0 --json distill_uner_s0.json    # UNER POS + NER, BiLSTM
    python bench/distill.py --markdown distill_census.json [more.json ...]

Data: ``census`` is census-income with the MMoE protocol's splits (as ``bench/census_methods.py``;
primary metric AUC); ``reviews`` is ``womens-clothing-reviews`` with the CNN encoder setup of
``bench/reviews.py`` (first ``--train-rows`` training reviews, whole validation and test;
department and rating macro-F1, recommended F1); ``uner`` is ``uner-en-ewt`` POS + NER with the
BiLSTM setup of ``bench/uner.py`` (first ``--train-rows`` training sentences, whole dev and test;
UPOS accuracy and NER entity F1; linear heads, so the tagging heads distil per token, or
``--crf ner`` for a CRF head distilled on its marginals). For each seed, ``stl`` trains the teachers
(one independent network per task, what ``manyheads compare`` trains as its baseline), the
student architecture (``--architecture``, default ``mmoe``) trains once plainly and once
distilled from that seed's teachers with :func:`manyheads.distill.distill` (teacher annealing,
``--temperature``), all with the same config, seed, epochs and epoch selection (validation
loss). Reported: the test metric per task (mean ± std over seeds), Δm% of plain MTL and of the
student against the teachers (per seed against the teachers' mean over seeds, then mean ± std;
negative is better), and the inference cost of one student against the teachers (parameters;
median latency of ``predict`` on 1 and 1,024 test rows).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from manyheads.builtin_datasets import load_dataset
from manyheads.config.load import build_config
from manyheads.config.schema import DataConfig, ModelConfig, RunConfig
from manyheads.config.train import TrainSettings
from manyheads.distill import distill
from manyheads.workflow._compare import delta_m
from manyheads.workflow._fit import Run, train_config
from manyheads.workflow._splits import Splits

ROWS = (1, 1024)
#: the metric compared per task of ``reviews`` (bench/reviews.py's PRIMARY); census: each
#: task's primary metric (AUC).
REVIEWS_PRIMARY = {"department": "macro_f1", "rating": "macro_f1", "recommended": "f1"}
#: the metric compared per task of ``uner`` (bench/uner.py's METRICS).
UNER_PRIMARY = {"pos": "accuracy", "ner": "f1"}
PRIMARY = {**REVIEWS_PRIMARY, **UNER_PRIMARY}


def config_of(args: argparse.Namespace, architecture: str, seed: int) -> RunConfig:
    """The shared config of every run of one seed (only the architecture differs)."""
    if args.dataset == "reviews":
        from reviews import TASKS, encoder_options  # bench/reviews.py, next to this script

        raw = {
            "data": {"train": "<frame>"},
            "inputs": {"review": "text"},
            "tasks": TASKS,
            "model": {
                "architecture": architecture,
                "encoder": "cnn",
                "encoder_options": encoder_options("cnn", 128),
                "hidden": [128],
                "tower": [64],
                "dropout": 0.1,
            },
            "train": {
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "lr": 1e-3,
                "seed": seed,
                "eval_batch_size": 256,
                "schedule": "cosine",
            },
            "output": None,
        }
        return build_config(raw)
    if args.dataset == "uner":
        from uner import SETUPS  # bench/uner.py, next to this script

        options, settings = SETUPS["bilstm"]
        tasks = {
            "pos": {"type": "tagging", "crf": "pos" in args.crf},
            "ner": {"type": "tagging", "scheme": "bio", "crf": "ner" in args.crf},
        }
        raw = {
            "data": {"train": "<frame>"},
            "inputs": {"tokens": "tokens"},
            "tasks": tasks,
            "model": {
                "architecture": architecture,
                "encoder": "bilstm",
                "encoder_options": options,
            },
            "train": {
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "lr": settings["lr"],
                "seed": seed,
                "eval_batch_size": 256,
            },
            "output": None,
        }
        return build_config(raw)
    options = {"sample": True} if args.sample else {}
    return RunConfig(
        data=DataConfig(dataset="census-income", dataset_options=options),
        tasks=(),
        model=ModelConfig(architecture, {}),
        train=TrainSettings(epochs=args.epochs, batch_size=args.batch_size, seed=seed),
        output=None,
    )


def splits_of(args: argparse.Namespace) -> Splits:
    """The frames every run trains and scores on."""
    if args.dataset == "reviews":
        data = load_dataset("womens-clothing-reviews")
        return Splits(data.train.iloc[: args.train_rows], data.valid, data.test)
    if args.dataset == "uner":
        data = load_dataset("uner-en-ewt")
        return Splits(data.train.iloc[: args.train_rows], data.valid, data.test)
    data = load_dataset("census-income", sample=args.sample)
    return Splits(data.train, data.valid, data.test)


def scores(run: Run) -> dict[str, float]:
    """Test metric per task (see :data:`REVIEWS_PRIMARY`)."""
    assert run.metrics is not None
    return {t: m[PRIMARY.get(t, m["primary"])] for t, m in run.metrics["tasks"].items()}


def latency(runs: list[Run], frame: Any, repeats: int = 7) -> float:
    """Median seconds for ``predict`` of every run in ``runs`` on ``frame`` (one after another)."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        for run in runs:
            run.predict(frame)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def cost(teacher: Run, student: Run, test: Any) -> dict[str, Any]:
    """Parameters and predict latency: the teachers (one stl run: T independent networks) vs
    the student."""
    out: dict[str, Any] = {
        "teacher_parameters": teacher.n_parameters,
        "student_parameters": student.n_parameters,
    }
    for n in ROWS:
        rows = test.head(n)
        out[f"teacher_ms_{n}"] = 1000 * latency([teacher], rows)
        out[f"student_ms_{n}"] = 1000 * latency([student], rows)
    return out


def run_seed(args: argparse.Namespace, seed: int, splits: Splits) -> dict[str, Any]:
    """Teachers, plain MTL and the distilled student of one seed."""
    began = time.perf_counter()
    # census reads its built-in dataset through the config (which also brings its tasks)
    given = splits if args.dataset != "census" else None
    teacher = train_config(config_of(args, "stl", seed), splits=given)
    t_teacher = time.perf_counter() - began
    plain = train_config(config_of(args, args.architecture, seed), splits=given)
    t_plain = time.perf_counter() - began - t_teacher
    tasks = [t.name for t in teacher.tasks]
    student = distill(
        config_of(args, args.architecture, seed),
        teachers=dict.fromkeys(tasks, teacher),
        splits=given,
        temperature=args.temperature,
    )
    t_student = time.perf_counter() - began - t_teacher - t_plain
    row = {
        "seed": seed,
        "teacher": scores(teacher),
        "plain": scores(plain),
        "student": scores(student),
        "higher_is_better": {
            t: m["higher_is_better"] for t, m in (teacher.metrics or {})["tasks"].items()
        },
        "seconds": {"teacher": t_teacher, "plain": t_plain, "student": t_student},
    }
    if seed == args.cost_seed:
        assert splits.test is not None
        row["cost"] = cost(teacher, student, splits.test)
    return row


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per model and task mean ± std over seeds; Δm% against the teachers' mean."""
    tasks = list(rows[0]["teacher"])
    higher = rows[0]["higher_is_better"]
    out: dict[str, Any] = {}
    for model in ("teacher", "plain", "student"):
        entry = {}
        for t in tasks:
            values = [r[model][t] for r in rows]
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            entry[t] = {"mean": statistics.mean(values), "std": std}
        out[model] = entry
    base = {t: out["teacher"][t]["mean"] for t in tasks}
    for model in ("teacher", "plain", "student"):
        per_seed = [delta_m(r[model], base, higher) for r in rows]
        std = statistics.stdev(per_seed) if len(per_seed) > 1 else 0.0
        out[model]["delta_m"] = {"mean": statistics.mean(per_seed), "std": std, "seeds": per_seed}
    return out


def _metric(task: str) -> str:
    names = {"macro_f1": "macro-F1", "f1": "F1", "accuracy": "accuracy"}
    return names.get(PRIMARY.get(task, ""), "AUC")


def markdown(report: dict[str, Any]) -> str:
    """The Markdown tables of a saved report."""
    summary, tasks = report["summary"], list(report["runs"][0]["teacher"])
    lines = [
        "| model | "
        + " | ".join(f"{t} {_metric(t)}" for t in tasks)
        + " | Δm% vs teachers | s/run |",
        "|---|" + "---|" * (len(tasks) + 2),
    ]
    names = {"teacher": "stl teachers", "plain": f"{report['architecture']} plain MTL"}
    names["student"] = f"{report['architecture']} distilled (BAM!, T={report['temperature']:g})"
    for model, label in names.items():
        cells = [f"{summary[model][t]['mean']:.4f} ± {summary[model][t]['std']:.4f}" for t in tasks]
        d = summary[model]["delta_m"]
        secs = statistics.mean(r["seconds"][model] for r in report["runs"])
        lines.append(
            f"| {label} | " + " | ".join(cells) + f" | {d['mean']:+.3f} ± {d['std']:.3f} "
            f"| {secs:.0f} |"
        )
    costs = [r["cost"] for r in report["runs"] if "cost" in r]
    if costs:
        c = costs[0]
        lines += [
            "",
            "| inference | parameters | predict, 1 row (ms) | predict, 1,024 rows (ms) |",
            "|---|---|---|---|",
            f"| {len(tasks)} teachers (stl) | {c['teacher_parameters']:,} | "
            f"{c['teacher_ms_1']:.2f} | {c['teacher_ms_1024']:.2f} |",
            f"| one student | {c['student_parameters']:,} | {c['student_ms_1']:.2f} | "
            f"{c['student_ms_1024']:.2f} |",
        ]
    return "\n".join(lines)


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One report of the runs of several (the seeds of one setup run as separate jobs)."""
    runs = [r for report in reports for r in report["runs"]]
    return {**reports[0], "runs": runs, "summary": summarise(runs)}


def main(argv: list[str] | None = None) -> int:
    """Run the seeds and write the JSON report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--dataset", choices=("census", "reviews", "uner"), default="census")
    parser.add_argument("--train-rows", type=int, default=None, help="reviews, uner: first N rows")
    parser.add_argument(
        "--crf", type=lambda s: s.split(","), default=[], help="uner: tasks with a CRF head"
    )
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--architecture", default="mmoe")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--sample", action="store_true", help="the 24k-row shipped sample")
    parser.add_argument("--cost-seed", type=int, default=0, help="the seed timed for inference")
    parser.add_argument("--json", default=None, help="write the results to this file")
    parser.add_argument(
        "--markdown", nargs="+", default=None, help="print the tables of saved JSONs (one report)"
    )
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(merge([json.loads(Path(p).read_text()) for p in args.markdown])))
        return 0
    torch.set_num_threads(1)  # a shared 2-core machine: one intra-op thread, as the tests
    rows: list[dict[str, Any]] = []
    splits = splits_of(args)
    for seed in (int(s) for s in args.seeds.split(",")):
        rows.append(run_seed(args, seed, splits))
        print(json.dumps(rows[-1]), flush=True)
        report = {
            **{k: v for k, v in vars(args).items() if k not in ("json", "markdown")},
            "runs": rows,
            "summary": summarise(rows),
        }
        if args.json:  # after every seed: an interrupted run keeps its finished seeds
            Path(args.json).write_text(json.dumps(report, indent=1))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
