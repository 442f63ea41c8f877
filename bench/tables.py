"""A suite of real multi-task tables: plain manyheads configs against GBDT and linear (issue 17 §3).

Per table (``bench/_tables_data.py`` says where each comes from, its inputs, tasks and split, and
why) one ``compare`` trains ``stl``, ``hps``, ``mmoe`` and ``ple`` (method ``ew``) from a plain
config (inputs, tasks, architecture; every other setting at manyheads' default) with the
baselines ``gbdt`` and ``linear`` on the same splits (``--baselines gbdt,linear``), once per
seed. Each (table, variant, seed)'s test and validation metrics and train time are cached in
``RUNS/results.json`` as soon as its table and seed finish, so a rerun resumes (an interrupted
``compare`` resumes from its own folder too).

The report gives, per table and task, the test primary metric (mean ± std over seeds) of
``stl``, ``hps``, the better of ``mmoe``/``ple`` (chosen on the validation Δm% against
``stl``), ``gbdt`` and ``linear``, the train times, and Δm% of the multi-task variants against
``stl``; then on how many tasks the plain ``hps`` (and the best multi-task model, chosen on
validation) beats GBDT and linear.

Usage (one heavy job at a time on a shared machine):
    MANYHEADS_DATA=../shared/data flock /tmp/manyheads-bench.lock nice -n 10 \
        python bench/tables.py --tables stackoverflow,loans --seeds 1
    python bench/tables.py --report   # the Markdown report of what is cached, nothing trained
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _tables_data import TABLES, Table
from manyheads.config.load import build_config
from manyheads.workflow._compare import compare
from manyheads.workflow._fit import RunOptions
from manyheads.workflow._summary import absolute_tasks, delta_m

RUNS = Path("/work/bench-runs/tables")
VARIANTS = {"stl": "stl", "hps+ew": "hps", "mmoe+ew": "mmoe", "ple+ew": "ple"}
BASELINES = ["gbdt", "linear"]
#: a table with more tasks shows their mean instead of one row per task
MAX_ROWS = 20
COUNTS = ("tasks", "hps>gbdt", "hps>linear", "best>gbdt", "best>linear")


# ------------------------------------------------------------------ training and the cache
def _data_file(name: str, table: Table) -> Path:
    """The table's rows with their split, written once under RUNS/data (not the repository)."""
    path = RUNS / "data" / f"{name}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        table.build().to_parquet(path.with_suffix(".tmp"), index=False)
        path.with_suffix(".tmp").rename(path)
    return path


def plain_config(name: str, table: Table, out: Path) -> dict[str, Any]:
    """The plain config of a table: data, inputs, tasks and ``architecture``, nothing else."""
    return {
        "data": {"train": str(_data_file(name, table)), "split_column": "split"},
        "inputs": table.inputs,
        "tasks": table.tasks,
        "model": {"architecture": "hps"},
        "output": str(out),
    }


def _valid_scores(run_dir: str) -> dict[str, float]:
    """Each task's primary metric on validation, from a run's ``metrics.json``."""
    metrics = json.loads(Path(run_dir, "metrics.json").read_text(encoding="utf-8"))
    valid = metrics["valid"].get("tasks", metrics["valid"])
    return {t: float(m[m["primary"]]) for t, m in valid.items() if isinstance(m, dict)}


def _entries(result: Any) -> dict[str, Any]:
    """One seed's cache entry: per variant and baseline, test/valid metric and train time."""
    out: dict[str, Any] = {}
    for v in result.variants:
        valid = _valid_scores(v["runs"][0])
        out[VARIANTS.get(v["name"], v["name"])] = {
            "train_seconds": v["train_seconds"],
            "n_parameters": v["n_parameters"],
            "tasks": {
                t: {
                    "primary": m["primary"],
                    "higher_is_better": m["higher_is_better"],
                    "test": m["per_seed"][0],
                    "valid": valid.get(t, float("nan")),
                }
                for t, m in v["tasks"].items()
            },
        }
    for b in result.baselines:
        out[b["name"]] = {
            "train_seconds": b["train_seconds"],
            "tasks": {
                t: {
                    "primary": m["primary"],
                    "higher_is_better": m["higher_is_better"],
                    "test": m["per_seed"][0],
                }
                for t, m in b["tasks"].items()
            },
        }
    return out


def load_cache() -> dict[str, Any]:
    path = RUNS / "results.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _save_cache(cache: dict[str, Any]) -> None:
    path = RUNS / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".tmp").write_text(json.dumps(cache, indent=1, allow_nan=True))
    path.with_suffix(".tmp").rename(path)


def run_table(name: str, seed: int, cache: dict[str, Any]) -> None:
    """Train every variant and baseline of one table and seed (unless cached), then cache it."""
    if str(seed) in cache.get(name, {}):
        print(f"[tables] {name} seed {seed}: cached", flush=True)
        return
    table = TABLES[name]
    out = RUNS / "runs" / name / f"seed{seed}"
    config = build_config(plain_config(name, table, out))
    began = time.perf_counter()
    result = compare(
        config,
        architectures=["hps", "mmoe", "ple"],
        methods=["ew"],
        seeds=[seed],
        output=out,
        options=RunOptions(quiet=True, resume=out.exists(), log=print),
        baselines=BASELINES,
    )
    entry = _entries(result) | {"wall_seconds": time.perf_counter() - began}
    cache.update(load_cache())  # what another run of this script cached meanwhile is kept
    cache.setdefault(name, {})[str(seed)] = entry
    _save_cache(cache)
    print(f"[tables] {name} seed {seed}: {entry['wall_seconds']:.0f} s", flush=True)


# ------------------------------------------------------------------ the report
def _per_seed(seeds: dict[str, Any], variant: str, task: str, key: str = "test") -> list[float]:
    return [float(s[variant]["tasks"][task][key]) for s in seeds.values()]


def _delta(seeds: dict[str, Any], variant: str, key: str) -> list[float]:
    """Δm% of ``variant`` against the mean of ``stl`` per seed, on ``key`` (test or valid)."""
    first = next(iter(seeds.values()))
    tasks = first["stl"]["tasks"]
    base = {t: float(np.mean(_per_seed(seeds, "stl", t, key))) for t in tasks}
    higher = {t: bool(m["higher_is_better"]) for t, m in tasks.items()}
    absolute = absolute_tasks({t: m["primary"] for t, m in tasks.items()}, base)
    return [
        delta_m(
            {t: float(s[variant]["tasks"][t][key]) for t in tasks},
            base,
            higher,
            absolute=absolute,
        )
        for s in seeds.values()
    ]


def best_mixture(seeds: dict[str, Any]) -> str:
    """``mmoe`` or ``ple``, whichever has the lower mean validation Δm% against ``stl``."""
    return min(("mmoe", "ple"), key=lambda v: float(np.mean(_delta(seeds, v, "valid"))))


def best_mtl(seeds: dict[str, Any]) -> str:
    """The multi-task variant (``hps``, ``mmoe``, ``ple``) a user would keep: lowest validation
    Δm% against ``stl``."""
    return min(("hps", "mmoe", "ple"), key=lambda v: float(np.mean(_delta(seeds, v, "valid"))))


def beats(seeds: dict[str, Any], variant: str, other: str, task: str) -> bool:
    """Whether ``variant``'s mean test metric is better than ``other``'s on ``task``."""
    info = next(iter(seeds.values()))["stl"]["tasks"][task]
    mine = float(np.mean(_per_seed(seeds, variant, task)))
    theirs = float(np.mean(_per_seed(seeds, other, task)))
    return mine > theirs if info["higher_is_better"] else mine < theirs


def _cell(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}"


def table_report(name: str, seeds: dict[str, Any]) -> tuple[str, dict[str, int]]:
    """One table's Markdown (tasks × variants, Δm%, times) and its win counts."""
    mix, best = best_mixture(seeds), best_mtl(seeds)
    tasks = next(iter(seeds.values()))["stl"]["tasks"]
    cols = ["stl", "hps", mix, "gbdt", "linear"]
    lines = [
        f"| task (metric) | stl | hps | {mix} (best of mmoe/ple on valid) | gbdt | linear |",
        "|---|---|---|---|---|---|",
    ]
    counts = dict.fromkeys(COUNTS, 0)
    for task, info in tasks.items():
        arrow = "↑" if info["higher_is_better"] else "↓"
        cells = [_cell(_per_seed(seeds, v, task)) for v in cols]
        if len(tasks) <= MAX_ROWS:
            lines.append(f"| {task} ({info['primary']} {arrow}) | " + " | ".join(cells) + " |")
        counts["tasks"] += 1
        counts["hps>gbdt"] += beats(seeds, "hps", "gbdt", task)
        counts["hps>linear"] += beats(seeds, "hps", "linear", task)
        counts["best>gbdt"] += beats(seeds, best, "gbdt", task)
        counts["best>linear"] += beats(seeds, best, "linear", task)
    if len(tasks) > MAX_ROWS:  # school: the mean over its tasks instead of one row each
        means = [f"{np.mean([np.mean(_per_seed(seeds, v, t)) for t in tasks]):.4f}" for v in cols]
        metric = f"{info['primary']} {arrow}"  # every task of such a table has one type
        lines.append(f"| mean of the {len(tasks)} tasks ({metric}) | " + " | ".join(means) + " |")
    times = " | ".join(
        f"{np.mean([s[v]['train_seconds'] for s in seeds.values()]):.1f}" for v in cols
    )
    lines.append(f"| train s | {times} |")
    deltas = ", ".join(
        f"`{v}` {np.mean(_delta(seeds, v, 'test')):+.2f} ± {np.std(_delta(seeds, v, 'test')):.2f}"
        for v in ("hps", "mmoe", "ple")
    )
    text = (
        f"Δm% vs `stl` (test; negative is better): {deltas}. Best multi-task model on "
        f"validation: `{best}`. Seeds: {', '.join(seeds)}."
    )
    return "\n".join(lines) + "\n\n" + text, counts


def report(cache: dict[str, Any]) -> str:
    """The Markdown report of every cached table, and the summary counts."""
    parts: list[str] = []
    rows: list[str] = []
    total = dict.fromkeys(COUNTS, 0)
    # School's 139 small per-school tasks would outweigh every other table's: also counted apart
    rest = dict.fromkeys(COUNTS, 0)
    for name, table in TABLES.items():
        seeds = cache.get(name)
        if not seeds:
            parts.append(f"### {name}\n\nnot run.")
            continue
        body, counts = table_report(name, seeds)
        tasks = ", ".join(next(iter(seeds.values()))["stl"]["tasks"])
        if len(tasks) > 200:  # school: 139 tasks
            tasks = tasks[:60] + " ... " + tasks[-12:]
        parts.append(
            f"### {name}\n\n{table.source}. {table.why} Split: {table.split}. Tasks: {tasks}.\n\n"
            + body
        )
        total = {k: total[k] + counts[k] for k in total}
        if name != "school":
            rest = {k: rest[k] + counts[k] for k in rest}
        rows.append(
            f"| {name} | {counts['tasks']} | {counts['hps>gbdt']} | {counts['hps>linear']} | "
            f"{counts['best>gbdt']} | {counts['best>linear']} |"
        )
    summary = [
        "| table | tasks | hps beats gbdt | hps beats linear | best MTL beats gbdt | "
        "best MTL beats linear |",
        "|---|---|---|---|---|---|",
        *rows,
        *[
            f"| **{label}** | {c['tasks']} | {c['hps>gbdt']} | {c['hps>linear']} | "
            f"{c['best>gbdt']} | {c['best>linear']} |"
            for label, c in (("all", total), ("all but school", rest))
        ],
    ]
    return "\n\n".join(parts) + "\n\n" + "\n".join(summary) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", default=",".join(TABLES), help="comma-separated names")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1")
    parser.add_argument("--report", action="store_true", help="only print the cached report")
    args = parser.parse_args()
    names = [n for n in args.tables.split(",") if n]
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        parser.error(f"unknown table(s) {unknown}; the tables are: {', '.join(TABLES)}")
    cache = load_cache()
    if not args.report:
        print(
            json.dumps(
                {
                    "date": str(date.today()),
                    "machine": f"{platform.machine()} CPU, {torch.get_num_threads()} torch threads",
                }
            ),
            flush=True,
        )
        for seed in range(args.seeds):
            for name in names:
                run_table(name, seed, cache)
    text = report(cache)
    (RUNS / "report.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
