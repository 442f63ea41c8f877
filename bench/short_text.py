"""Why the plain multi-task model collapses on a short-text multilabel table (issue 17), and
what each candidate default changes, one at a time (ablation).

Per table (``bench/_tables_data.py``: movies, loans, gss_abortion, census ...), seed and
variant, ``stl`` and ``hps`` are trained from the plain config of ``bench/tables.py``
(architecture, method ``ew``, every other setting at its default), and ``linear`` / ``gbdt``
once per table on the same splits. A variant turns ONE of the candidate defaults back to what
it was before issue 17 (``old:<name>``) or sets all of them back (``before``); ``now`` is the
current default. Reported per task: the test primary metric (mean ± std over seeds), the
multilabel tasks' mean AUC and per-label AUC, and the epoch chosen.

Usage (one heavy job at a time on a shared machine):
    MANYHEADS_DATA=/work/shared/data flock /tmp/manyheads-bench.lock nice -n 10 \
        python bench/short_text.py --tables movies,loans,gss_abortion --seeds 3
    python bench/short_text.py --report   # the Markdown of what is cached

``--runs DIR`` caches under another folder (a fresh one re-measures ``now``: the cache keys name
the variant, not the code); ``--variants now,old:label_prior`` trains only those of a table's
PLAN. Candidates that need the TRAIN split (the text-bag ones) read it through the encoder's
``fitted_options`` hook (``TRAIN_SEEN``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _tables_data import TABLES
from manyheads.baselines import fit_baselines
from manyheads.config.load import build_config
from manyheads.workflow._fit import train_config
from manyheads.workflow._splits import load_splits
from tables import plain_config

RUNS = Path("/work/bench-runs/short_text")
#: what the encoder's ``fitted_options`` hook saw of the TRAIN split in the run being trained
#: (its text ids), for the text-bag candidates below
TRAIN_SEEN: dict[str, Any] = {}
#: candidate defaults of issue 17 -> a context that restores the behaviour before it
OLD: dict[str, Callable[[], Any]] = {}
#: candidates tried and not adopted -> a context that applies them
NEW: dict[str, Callable[[], Any]] = {}


def _old(name: str) -> Callable[[Callable[[], Iterator[None]]], Callable[[], Any]]:
    def register(fn: Callable[[], Iterator[None]]) -> Callable[[], Any]:
        OLD[name] = contextmanager(fn)
        return OLD[name]

    return register


def _new(name: str) -> Callable[[Callable[[], Iterator[None]]], Callable[[], Any]]:
    def register(fn: Callable[[], Iterator[None]]) -> Callable[[], Any]:
        NEW[name] = contextmanager(fn)
        return NEW[name]

    return register


@contextmanager
def _variant(name: str) -> Iterator[None]:
    """``now``: the current defaults; ``old:<c>``: candidate ``c`` as before; ``before``: all;
    ``new:<c>``: a candidate that was not adopted, applied."""
    chosen = list(OLD) if name == "before" else [name[4:]] if name.startswith("old:") else []
    contexts = [OLD[c]() for c in chosen]
    if name.startswith("new:"):
        contexts.append(NEW[name[4:]]())
    for c in contexts:
        c.__enter__()
    try:
        yield
    finally:
        for c in reversed(contexts):
            c.__exit__(None, None, None)


def _task_scores(metrics: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for task, m in metrics.items():
        if not isinstance(m, dict):
            continue
        out[task] = {k: v for k, v in m.items() if isinstance(v, float | int | str | bool)}
    return out


def _config(name: str, arch: str = "hps", seed: int = 0, variant: str = "now") -> Any:
    """The plain config of ``bench/tables.py``, with ``arch`` and ``seed``, under RUNS."""
    raw = plain_config(name, TABLES[name], RUNS / "runs" / f"{name}-{arch}-{seed}-{variant}")
    raw["model"] = {"architecture": arch} | _model_options(variant)
    raw["train"] = {"seed": seed} | _settings(variant)
    return build_config(raw)


def _model_options(variant: str) -> dict[str, Any]:
    """``model:wide=false`` or ``model:wide_lr=0.01+wide_decay=0.1``: model options that are
    not the defaults (the wide path's ablation, issue 17)."""
    if not variant.startswith("model:"):
        return {}
    out: dict[str, Any] = {}
    for item in variant[6:].split("+"):
        key, _, value = item.partition("=")
        out[key] = json.loads(value)
    return out


def _settings(variant: str) -> dict[str, float]:
    """``set:lr=0.01``: a train setting that is not a default (a finding, not a candidate)."""
    if not variant.startswith("set:"):
        return {}
    key, _, value = variant[4:].partition("=")
    return {key: float(value) if "." in value else int(value)}


def run_model(name: str, arch: str, seed: int, variant: str) -> dict[str, Any]:
    """One run's test and validation scores and its chosen epoch(s)."""
    splits, config = load_splits(_config(name, arch, seed, variant))
    with _variant(variant):
        began = time.perf_counter()
        run = train_config(config, splits=splits, overwrite=True)
        seconds = time.perf_counter() - began
    m = run.metrics
    return {
        "test": _task_scores(m["tasks"]),
        "valid": _task_scores(m["valid"]),
        "best_epoch": m["best_epoch"],
        "task_best_epochs": m.get("task_best_epochs"),
        "seconds": seconds,
    }


def run_baselines(name: str) -> dict[str, Any]:
    splits, config = load_splits(_config(name))
    assert splits.test is not None
    results = fit_baselines(
        ["linear", "gbdt"],
        splits.train,
        splits.valid,
        splits.test,
        list(config.tasks),
        dict(config.inputs or {}),
    )
    return {b: {"test": _task_scores(r.metrics())} for b, r in results.items()}


def main_quick() -> None:
    name, arch, seed, variant = sys.argv[1:5]
    print(json.dumps(run_model(name, arch, int(seed), variant), indent=1))


QUICK = __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--quick"
if QUICK:  # one run, printed, not cached: --quick TABLE ARCH SEED VARIANT
    sys.argv.pop(1)
    main_quick()


@_new("text_init")
def _small_text_start() -> Iterator[None]:
    """Text bags in U(-1/d, 1/d) (fastText's start), mapped from their own N(0, 1) draws so that
    no other module's start moves: tried for issue 17 and not adopted (see docs/benchmarks.md)."""
    from manyheads.encoders import tabular

    kept = tabular.TabularInput.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        kept(self, *args, **kwargs)
        with torch.no_grad():
            for bag in self.text:
                width = bag.weight.shape[1]
                bag.weight.copy_((2.0 * torch.special.ndtr(bag.weight) - 1.0) / width)
                bag.weight[0].zero_()

    tabular.TabularInput.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        tabular.TabularInput.__init__ = kept  # type: ignore[method-assign]


@contextmanager
def _seeing_train() -> Iterator[None]:
    """Record the TRAIN split's text ids as the run fits them."""
    from manyheads.workflow import _fit

    kept = _fit.fit_encoder_options

    def seen(options: dict[str, Any], train: Any) -> dict[str, Any]:
        TRAIN_SEEN["text"] = {k: v for k, v in train.x.items() if k.startswith("text:")}
        return kept(options, train)

    _fit.fit_encoder_options = seen  # type: ignore[assignment]
    try:
        yield
    finally:
        _fit.fit_encoder_options = kept  # type: ignore[assignment]


class _Bag(torch.nn.Module):
    """A text bag whose table is ``scale`` × its parameter (Adam then moves it ``scale`` × as
    fast: its own learning rate × ``scale``, the start unchanged), pooled as the mean of its ids
    or, with ``idf``, as the L2-normalised TF-IDF-weighted sum (scikit-learn's smooth IDF)."""

    def __init__(self, bag: torch.nn.EmbeddingBag, scale: float, idf: torch.Tensor | None) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(bag.weight.detach() / scale)
        self.scale = scale
        self.idf = idf

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        table = self.weight * self.scale
        if self.idf is None:
            return torch.nn.functional.embedding_bag(ids, table, mode="mean", padding_idx=0)
        w = self.idf[ids] * (ids != 0)  # [B, L]
        w = w / w.norm(dim=1, keepdim=True).clamp(min=1e-6)
        return torch.nn.functional.embedding_bag(
            ids, table, mode="sum", per_sample_weights=w, padding_idx=0
        )


def _idf(ids: torch.Tensor, n_ids: int) -> torch.Tensor:
    """Smooth IDF of each id over the rows of ``ids`` [N, L]: log((1 + N) / (1 + df)) + 1."""
    present = torch.zeros(len(ids), n_ids, dtype=torch.bool)
    present.scatter_(1, ids, True)
    df = present[:, 1:].sum(0).float()
    return torch.cat([torch.zeros(1), torch.log((1 + len(ids)) / (1 + df)) + 1])


@contextmanager
def _bags(scale: float, tfidf: bool) -> Iterator[None]:
    from manyheads.encoders import tabular

    kept = tabular.TabularInput.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        kept(self, *args, **kwargs)
        seen = TRAIN_SEEN.get("text", {})
        self.text = torch.nn.ModuleList(
            _Bag(bag, scale, _idf(seen[k], bag.weight.shape[0]) if tfidf else None)
            for k, bag in zip(self.text_keys, self.text, strict=True)
        )

    tabular.TabularInput.__init__ = init  # type: ignore[method-assign]
    try:
        with _seeing_train():
            yield
    finally:
        tabular.TabularInput.__init__ = kept  # type: ignore[method-assign]


@_new("bag_lr10")
def _bag_lr10() -> Iterator[None]:
    """Text bags learn 10 × faster than the rest (same start): is the bag too slow to learn?"""
    with _bags(10.0, tfidf=False):
        yield


@_new("tfidf_bag")
def _tfidf_bag() -> Iterator[None]:
    """Text bags pooled as TF-IDF does (IDF fitted on train, L2-normalised): what TF-IDF sees."""
    with _bags(1.0, tfidf=True):
        yield


@_new("tfidf_bag_lr10")
def _tfidf_bag_lr10() -> Iterator[None]:
    """Both of the above."""
    with _bags(10.0, tfidf=True):
        yield


@_old("label_prior")
def _old_label_start() -> Iterator[None]:
    """Multilabel output biases start where PyTorch puts them (uniform around 0, a rate of about
    0.5 per label), not at the labels' train log-odds (before issue 17's second step)."""
    from manyheads.workflow import _fit

    kept = _fit.start_at_label_rates
    _fit.start_at_label_rates = lambda model, tasks, train: None  # type: ignore[assignment]
    try:
        yield
    finally:
        _fit.start_at_label_rates = kept  # type: ignore[assignment]


@_old("label_sum")
def _old_label_mean() -> Iterator[None]:
    """The multilabel loss as the mean over labels (before issue 17), not their sum."""
    import torch.nn.functional as F

    from manyheads.tasks import _multilabel
    from manyheads.tasks._base import masked_mean

    kept = _multilabel.Multilabel.loss

    def mean_loss(self: Any, task: Any, state: Any, output: Any, target: Any, mask: Any) -> Any:
        del self, task, state
        bce = F.binary_cross_entropy_with_logits(output, target, reduction="none")
        return masked_mean(bce.mean(dim=1), mask)

    _multilabel.Multilabel.loss = mean_loss  # type: ignore[method-assign]
    try:
        yield
    finally:
        _multilabel.Multilabel.loss = kept  # type: ignore[method-assign]


#: which candidate each table can show (the other one's code is not used there)
PLAN = {
    "movies": [
        "now",
        "old:label_sum",
        "new:text_init",
        "old:label_prior",
        "new:bag_lr10",
        "new:tfidf_bag",
        "new:tfidf_bag_lr10",
        "model:wide=false",
        "model:wide_lr=0.003",
        "model:wide_lr=0.01",
        "model:wide_decay=1.0",
        "model:wide_lr=0.01+wide_decay=1.0",
        "model:wide_lr=0.03",
    ],
    "loans": [
        "now",
        "new:text_init",
        "model:wide=false",
        "model:wide_lr=0.01",
        "model:wide_lr=0.003",
    ],
    "gss_abortion": ["now", "old:label_sum", "old:label_prior"],
    "census": ["now"],
}

#: train settings other than the defaults, one seed: what the defaults leave on the table
EXTRA = {
    "movies": [
        "set:lr=0.01",
        "set:batch_size=128",
        'model:wide=["genres"]',
    ]
}


def _cache() -> dict[str, Any]:
    path = RUNS / "results.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _save(cache: dict[str, Any]) -> None:
    RUNS.mkdir(parents=True, exist_ok=True)
    (RUNS / "results.tmp").write_text(json.dumps(cache, indent=1))
    (RUNS / "results.tmp").rename(RUNS / "results.json")


def run_all(names: list[str], seeds: int, only: list[str] | None = None) -> None:
    """Train what the cache lacks: per table, its PLAN's variants (``only``: those of them)."""
    cache = _cache()
    for name in names:
        table = cache.setdefault(name, {})
        if "baselines" not in table:
            table["baselines"] = run_baselines(name)
            _save(cache)
        for seed in range(seeds):
            for variant in PLAN.get(name, ["now"]) + (EXTRA.get(name, []) if seed == 0 else []):
                if only is not None and variant not in only:
                    continue
                key = f"hps|{variant}|{seed}"
                if key not in table:
                    table[key] = run_model(name, "hps", seed, variant)
                    _save(cache)
                    print(f"[short_text] {name} {key}: {table[key]['seconds']:.0f} s", flush=True)


def _cell(values: list[float]) -> str:
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}" if values else "-"


def report(cache: dict[str, Any]) -> str:
    """Per table: rows = variants of hps + baselines; columns = each task's primary metric
    (and mean AUC of multilabel tasks); then per-label AUC of the multilabel tasks."""
    parts: list[str] = []
    for name, table in cache.items():
        base = table["baselines"]
        runs = [r for k, r in table.items() if k.startswith("hps|")]
        if not runs:
            continue
        tasks = runs[0]["test"]
        cols: list[tuple[str, str]] = []
        for t, m in tasks.items():
            cols.append((t, str(m["primary"])))
            if "mean_auc" in m and m["primary"] != "mean_auc":
                cols.append((t, "mean_auc"))
        head = " | ".join(f"{t} {k}" for t, k in cols)
        lines = [f"#### {name}", "", f"| model | {head} | epoch |", "|---" * (len(cols) + 2) + "|"]
        variants = sorted({k.split("|")[1] for k in table if k.startswith("hps|")})
        for v in variants:
            runs = [r for k, r in table.items() if k.startswith(f"hps|{v}|")]
            cells = [_cell([r["test"][t][k] for r in runs]) for t, k in cols]
            epochs = ",".join(str(r["best_epoch"]) for r in runs)
            lines.append(f"| hps {v} ({len(runs)} seeds) | " + " | ".join(cells) + f" | {epochs} |")
        for b, r in base.items():
            cells = [f"{r['test'][t].get(k, float('nan')):.4f}" for t, k in cols]
            lines.append(f"| {b} | " + " | ".join(cells) + " | - |")
        for t, m in tasks.items():
            labels = [k for k in m if k.startswith("auc:")]
            if not labels:
                continue
            lines += ["", f"Per-label test AUC of `{t}` (hps mean over seeds / linear / gbdt):", ""]
            lines += [
                "| label | " + " | ".join(f"hps {v}" for v in variants) + " | linear | gbdt |"
            ]
            lines += ["|---" * (len(variants) + 3) + "|"]
            for lab in labels:
                hps = [
                    _mean(
                        [r["test"][t][lab] for k, r in table.items() if k.startswith(f"hps|{v}|")]
                    )
                    for v in variants
                ]
                lin, gb = (base[b]["test"][t][lab] for b in ("linear", "gbdt"))
                lines.append(f"| {lab[4:]} | " + " | ".join(hps) + f" | {lin:.3f} | {gb:.3f} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def _mean(values: list[float]) -> str:
    return f"{np.nanmean(values):.3f}" if values else "-"


def _use_runs(folder: Path) -> None:
    """Cache results and runs under ``folder`` (a fresh one re-measures ``now`` too)."""
    global RUNS
    RUNS = folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", default="movies,loans,gss_abortion")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--report", action="store_true", help="only print the cached report")
    parser.add_argument("--runs", type=Path, default=RUNS, help="the cache and runs folder")
    parser.add_argument("--variants", help="comma-separated: train only these of each PLAN")
    args = parser.parse_args()
    _use_runs(args.runs)
    names = [n for n in args.tables.split(",") if n]
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        parser.error(f"unknown table(s) {unknown}; the tables are: {', '.join(TABLES)}")
    if not args.report:
        machine = f"{platform.machine()} CPU, {torch.get_num_threads()} torch threads"
        print(json.dumps({"date": str(date.today()), "machine": machine}), flush=True)
        run_all(names, args.seeds, args.variants.split(",") if args.variants else None)
    text = report(_cache())
    (RUNS / "report.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__" and not QUICK:
    main()
