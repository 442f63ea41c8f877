"""Click + conversion ranking on synthetic-ccp: ESMM vs a clicked-only CVR model vs MMoE and PLE.

One command trains every variant for every seed, scores each against the known truth and writes
``results.json`` and ``report.md`` into ``--out``:

    python examples/click-conversion/run.py --impressions 200000 --seeds 0,1,2 --out runs/ccp

Variants (all from ``config.yaml``; only the model and the tasks change):

* ``esmm``: ``cascade`` with ``funnel: true``; tasks ``click`` and ``purchase`` on every
  impression; pCVR is the funnel's ``pCVR`` column.
* ``clicked_only``: ``hps`` with the one task ``conversion``, trained and validated on the
  clicked impressions only (the baseline of the ESMM paper).
* ``mmoe`` / ``ple``: tasks ``click`` (every impression) and ``conversion`` (labelled on clicked
  impressions, missing elsewhere: those rows train ``click`` only).

The headline number is the **whole-space CVR AUC**: the AUC of a variant's pCVR on *every* test
impression against ``conversion_if_clicked``, the purchase each impression would have ended in
had it been clicked, which the generator knows (docs/ranking.md). ``oracle`` is the true
``p_cvr`` itself: the ceiling.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from manyheads.builtin_datasets import DatasetSplits

HERE = Path(__file__).resolve().parent
VARIANTS = ("esmm", "clicked_only", "mmoe", "ple")
MARKER = ".manyheads-compare"


def variant_config(base: dict[str, Any], variant: str, seed: int) -> dict[str, Any]:
    """The raw config of ``variant`` (trained in memory: ``output`` null)."""
    raw = copy.deepcopy(base)
    raw["output"] = None
    raw.setdefault("train", {})["seed"] = seed
    if variant == "esmm":
        return raw
    arch = {"clicked_only": "hps", "mmoe": "mmoe", "ple": "ple"}[variant]
    model = {k: v for k, v in raw["model"].items() if k not in ("architecture", "funnel", "order")}
    raw["model"] = {"architecture": arch, **model}
    if variant == "clicked_only":
        raw["tasks"] = {"conversion": {"type": "binary"}}
    else:
        raw["tasks"] = {"click": {"type": "binary"}, "conversion": {"type": "binary"}}
    return raw


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def score(test: pd.DataFrame, p_ctr: np.ndarray | None, p_cvr: np.ndarray) -> dict[str, float]:
    """The variant's numbers on the test impressions (see the module docstring)."""
    from manyheads.tasks._ranking import ranking_metrics

    clicked = test["click"].to_numpy() == 1
    truth = test["conversion_if_clicked"].to_numpy()
    out = {
        "cvr_auc_whole_space": _auc(truth, p_cvr),
        "cvr_auc_clicked": _auc(truth[clicked], p_cvr[clicked]),
    }
    if p_ctr is not None:
        p_ctcvr = p_ctr * p_cvr
        purchase = test["purchase"].to_numpy()
        out |= {
            "ctr_auc": _auc(test["click"].to_numpy(), p_ctr),
            "ctcvr_auc": _auc(purchase, p_ctcvr),
        }
        ranked = ranking_metrics(test["user_id"].to_numpy(), purchase, p_ctcvr, k=10)
        out |= {f"ctcvr_{k}": v for k, v in ranked.items()}
    return out


def train_variant(
    base: dict[str, Any], variant: str, seed: int, splits: DatasetSplits, inputs: dict[str, str]
) -> dict[str, Any]:
    """Train one variant on ``splits`` and score it on the test split."""
    from manyheads import train_config
    from manyheads.config.load import build_config
    from manyheads.workflow._splits import Splits

    raw = variant_config(base, variant, seed)
    raw["inputs"] = dict(inputs)
    train, valid, test = splits.train, splits.valid, splits.test
    if variant == "clicked_only":
        train, valid = train[train["click"] == 1], valid[valid["click"] == 1]
    began = time.perf_counter()
    run = train_config(build_config(raw), splits=Splits(train, valid, test))
    seconds = time.perf_counter() - began
    pred = run.predict(test)
    if variant == "esmm":
        p_ctr, p_cvr = pred["pCTR"].to_numpy(), pred["pCVR"].to_numpy()
    else:
        p_ctr = pred["click_proba"].to_numpy() if "click_proba" in pred else None
        p_cvr = pred["conversion_proba"].to_numpy()
    return {"variant": variant, "seed": seed, "train_seconds": seconds} | score(test, p_ctr, p_cvr)


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """variant -> metric -> mean, std (sample std over seeds; 0 for one seed)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == variant]
        metrics = [k for k in mine[0] if k not in ("variant", "seed")]
        out[variant] = {
            m: {
                "mean": statistics.mean(r[m] for r in mine),
                "std": statistics.stdev(r[m] for r in mine) if len(mine) > 1 else 0.0,
            }
            for m in metrics
        }
    return out


def claim(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """ESMM's whole-space CVR AUC minus the clicked-only model's, against the seed spread.

    ``met`` when the gap of the means exceeds the larger of the two seed standard deviations;
    ``per_seed`` gives the paired differences (same seed, same data).
    """
    key = "cvr_auc_whole_space"
    esmm = {r["seed"]: r[key] for r in rows if r["variant"] == "esmm"}
    base = {r["seed"]: r[key] for r in rows if r["variant"] == "clicked_only"}
    seeds = sorted(set(esmm) & set(base))
    if not seeds:
        return {}
    gap = statistics.mean(esmm[s] for s in seeds) - statistics.mean(base[s] for s in seeds)
    spreads = [
        statistics.stdev(d[s] for s in seeds) if len(seeds) > 1 else 0.0 for d in (esmm, base)
    ]
    return {
        "gap": gap,
        "spread": max(spreads),
        "per_seed": {str(s): esmm[s] - base[s] for s in seeds},
        "met": bool(gap > max(spreads)) if len(seeds) > 1 else None,
    }


def report(summary: dict[str, Any], verdict: dict[str, Any], meta: dict[str, Any]) -> str:
    """``report.md``: one row per variant, mean ± std over seeds, and the verdict."""
    cols = ["cvr_auc_whole_space", "cvr_auc_clicked", "ctr_auc", "ctcvr_auc", "ctcvr_gauc"]
    cols += ["ctcvr_ndcg@10", "ctcvr_recall@10", "train_seconds"]
    lines = [
        "# Click + conversion on synthetic-ccp",
        "",
        f"{meta['impressions']:,} impressions (seed {meta['data_seed']}), training seeds "
        f"{meta['seeds']}, {meta['epochs']} epoch(s); test split of {meta['test_rows']:,} "
        "impressions. Mean ± std over seeds.",
        "",
        "| variant | " + " | ".join(cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for variant, metrics in summary.items():
        cells = [
            f"{metrics[c]['mean']:.4f} ± {metrics[c]['std']:.4f}" if c in metrics else "—"
            for c in cols
        ]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    if verdict:
        said = {True: "met", False: "not met", None: "one seed: no spread"}[verdict["met"]]
        per_seed = ", ".join(f"{v:+.4f}" for v in verdict["per_seed"].values())
        lines += [
            "",
            f"ESMM − clicked-only, whole-space CVR AUC: {verdict['gap']:+.4f} (seed spread "
            f"{verdict['spread']:.4f}; per seed {per_seed}): {said}.",
        ]
    return "\n".join(lines) + "\n"


def check_out(out: Path) -> Path:
    """Refuse an output folder that holds files this script did not write (exit 2 in main)."""
    from manyheads._files import check_output_dir

    return check_output_dir(out, setting="--out", marker=MARKER)


def compare(
    base: dict[str, Any],
    *,
    impressions: int,
    seeds: list[int],
    variants: tuple[str, ...] = VARIANTS,
    log: Any = print,  # noqa: ANN401
) -> dict[str, Any]:
    """Train every variant for every seed on one synthetic-ccp draw; the results dict."""
    from manyheads.builtin_datasets import load_dataset

    options = dict(base["data"].get("dataset_options", {}), n_impressions=impressions)
    splits = load_dataset("synthetic-ccp", **options)
    inputs = base.get("inputs") or splits.inputs
    rows = []
    for seed in seeds:
        for variant in variants:
            rows.append(train_variant(base, variant, seed, splits, inputs))
            log(json.dumps(rows[-1]))
    assert splits.test is not None
    oracle = score(splits.test, splits.test["p_click"].to_numpy(), splits.test["p_cvr"].to_numpy())
    rows.append({"variant": "oracle", "seed": -1, "train_seconds": 0.0} | oracle)
    meta = {
        "impressions": impressions,
        "data_seed": options.get("seed", 0),
        "seeds": seeds,
        "epochs": base.get("train", {}).get("epochs"),
        "test_rows": len(splits.test),
    }
    return {"meta": meta, "rows": rows, "summary": summarise(rows), "claim": claim(rows)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(HERE / "config.yaml"))
    parser.add_argument("--impressions", type=int, default=200_000)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, help="override train.epochs")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", default="runs/click-conversion")
    args = parser.parse_args(argv)
    from manyheads._files import atomic_write_text, write_marker
    from manyheads.config.load import read_yaml
    from manyheads.errors import ManyheadsError

    try:
        out = check_out(Path(args.out))
        base = read_yaml(args.config)
        if args.epochs:
            base.setdefault("train", {})["epochs"] = args.epochs
        unknown = [v for v in args.variants.split(",") if v not in VARIANTS]
        if unknown:
            choices = ", ".join(VARIANTS)
            raise ManyheadsError(f"unknown variant(s) {unknown}; choose from {choices}.")
        seeds = [int(s) for s in args.seeds.split(",")]
        result = compare(
            base,
            impressions=args.impressions,
            seeds=seeds,
            variants=tuple(args.variants.split(",")),
        )
    except (ManyheadsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    write_marker(out, marker=MARKER, kind="compare")
    atomic_write_text(out / "results.json", json.dumps(result, indent=1))
    text = report(result["summary"], result["claim"], result["meta"])
    atomic_write_text(out / "report.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
