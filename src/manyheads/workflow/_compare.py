"""``compare``: train every architecture × weighting × seed and prove it against single-task.

For each variant and task it reports the mean ± std over seeds of every metric (on the test split
when there is one, else validation; model selection always on validation), parameters, training
time, inference time, and Δm% against ``stl`` (Maninis et al. 2019; Navon et al. 2022):

    Δm% = (100 / T) · Σ_t (−1)^{h_t} (M_t − M_t^stl) / M_t^stl,   h_t = 1 if higher is better,

on each task's primary metric (for a metric that can be <= 0, such as r2, or a baseline <= 0:
the absolute difference ×100 instead, see :func:`delta_m`). Negative Δm% means better than
single-task models.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from manyheads._catalogue import WEIGHTINGS
from manyheads._files import (
    COMPARE_MARKER,
    atomic_write_text,
    check_output_dir,
    data_paths,
    write_marker,
)
from manyheads.architectures._registry import ARCHITECTURES
from manyheads.config.schema import ModelConfig, RunConfig
from manyheads.config.validate import weighting_problems
from manyheads.errors import ConfigError, DataError, InvalidParameterError
from manyheads.workflow._builders import resolve_defaults, select_options
from manyheads.workflow._encoding import Encoded
from manyheads.workflow._fit import Run, RunOptions, run_config
from manyheads.workflow._run import json_safe
from manyheads.workflow._splits import load_splits

__all__ = ["SIGNED_METRICS", "Comparison", "absolute_tasks", "compare", "delta_m"]

#: primary metrics whose values can be zero or negative (a model worse than the mean predicts
#: r2 < 0): a relative difference to them has no meaning, so Δm% uses their absolute difference.
SIGNED_METRICS = frozenset({"r2"})


def delta_m(
    metrics: dict[str, float],
    baseline: dict[str, float],
    higher_is_better: dict[str, bool],
    *,
    absolute: frozenset[str] | set[str] = frozenset(),
) -> float:
    r"""Δm% of ``metrics`` against ``baseline`` over their shared tasks (negative is better).

    Each task contributes :math:`(-1)^{h_t} \cdot 100 (M_t - B_t) / B_t` (Maninis et al. 2019;
    Navon et al. 2022), :math:`h_t = 1` when higher is better, and Δm% is their mean. That
    relative difference needs a positive baseline: for a task in ``absolute`` (a metric that can
    be zero or negative, such as r2: :data:`SIGNED_METRICS`) or whose baseline is ``<= 0``, the
    task contributes :math:`(-1)^{h_t} \cdot 100 (M_t - B_t)` instead, the absolute difference
    in hundredths of the metric (an r2 from -0.2 to 0.1 counts -30, better, where the relative
    rule would read +150, worse; a zero baseline no longer divides by zero). The report names
    the tasks scored this way (:func:`absolute_tasks`).

    Example:
        >>> delta_m({"a": 0.9, "b": 1.0}, {"a": 0.8, "b": 2.0}, {"a": True, "b": False})
        -31.25
        >>> round(delta_m({"r": 0.1}, {"r": -0.2}, {"r": True}, absolute={"r"}), 6)
        -30.0
    """
    terms = []
    for task, value in metrics.items():
        base = baseline[task]
        sign = -1.0 if higher_is_better[task] else 1.0
        if task in absolute or base <= 0:
            terms.append(sign * (value - base))
        else:
            terms.append(sign * (value - base) / base)
    return float(100.0 * np.mean(terms))


def absolute_tasks(primary: dict[str, str], baseline: dict[str, float]) -> set[str]:
    """The tasks that :func:`delta_m` scores by absolute difference: a primary metric in
    :data:`SIGNED_METRICS` or a baseline ``<= 0``.

    Example:
        >>> primary, baseline = {"a": "r2", "b": "auc", "c": "f1"}, {"a": 0.3, "b": 0.7, "c": 0.0}
        >>> sorted(absolute_tasks(primary, baseline))
        ['a', 'c']
    """
    return {t for t, m in primary.items() if m in SIGNED_METRICS or baseline.get(t, 1.0) <= 0}


@dataclass
class Comparison:
    """The outcome of :func:`compare`: one entry per variant, and where the reports are."""

    split: str
    variants: list[dict[str, Any]]
    directory: Path

    def table(self) -> str:
        """A Markdown table: variant, per-task primary metric mean ± std, Δm%, size, time."""
        tasks = list(self.variants[0]["tasks"])
        sources = list(self.variants[0].get("delta_m_sources", {}))
        head = [
            "variant",
            *[f"{t} ({self.variants[0]['tasks'][t]['primary']})" for t in tasks],
            "Δm% vs stl",
            *[f"Δm% {s}" for s in sources],
            "params",
            "train s",
            "infer ms/1k rows",
        ]
        rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for v in self.variants:
            cells = [v["name"]]
            for t in tasks:
                m = v["tasks"][t]
                cells.append(f"{m['mean']:.4f} ± {m['std']:.4f}")
            dm = v.get("delta_m")
            cells.append("—" if dm is None else f"{dm['mean']:+.2f} ± {dm['std']:.2f}")
            for src in sources:
                d = v["delta_m_sources"][src]
                cells.append(f"{d['mean']:+.2f} ± {d['std']:.2f}")
            cells += [
                f"{v['n_parameters']:,}",
                f"{v['train_seconds']:.1f}",
                f"{v['inference_ms_per_1k']:.2f}",
            ]
            rows.append("| " + " | ".join(cells) + " |")
        return "\n".join(rows)


def _variant_config(
    config: RunConfig, arch: str, weighting: str, seed: int, out: Path
) -> RunConfig:
    return dataclasses.replace(
        config,
        model=ModelConfig(arch, select_options(arch, config.model.options)),
        train=dataclasses.replace(config.train, seed=seed),
        weighting=weighting,
        output=str(out / f"{arch}-{weighting}-seed{seed}"),
    )


def compare(
    config: RunConfig,
    *,
    architectures: list[str],
    weightings: list[str],
    seeds: int | list[int] = 3,
    output: str | Path | None = None,
    options: RunOptions | None = None,
) -> Comparison:
    """Train every variant and write ``comparison.json``, ``report.md`` and ``report.html``.

    ``stl`` is always trained (with ``ew``) as the baseline of Δm%. A folder that already
    holds variant runs is refused unless ``options.resume`` (continue an interrupted
    comparison: finished variants are kept, unfinished ones resume from their checkpoints,
    missing ones are trained) or ``options.overwrite`` (train every variant again).
    ``options.keep_checkpoint`` keeps each variant's last checkpoint (see
    :func:`~manyheads.workflow._fit.train_config`); ``options.quiet`` hides the progress of
    each training and ``options.log`` hears which variant trains (``protect`` is not used).

    Raises:
        InvalidParameterError: the folder holds variant runs and neither ``resume`` nor
            ``overwrite`` is set; both are set; or a kept variant was trained with another
            configuration.
    """
    options = options if options is not None else RunOptions()
    say = options.say
    resume, overwrite = options.resume, options.overwrite
    for arch in architectures:
        ARCHITECTURES.get(arch)
    # every balancing method with the config's options is built before any work: a bad one
    # would otherwise stop the comparison after the variants before it had trained
    for weighting in dict.fromkeys(weightings):
        WEIGHTINGS.get(weighting)
        problems = weighting_problems(dataclasses.replace(config, weighting=weighting))
        if problems:
            raise ConfigError([f"--weightings {weighting}: {p}" for p in problems])
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seed_list:
        raise InvalidParameterError("compare needs at least one seed.")
    out = Path(output if output is not None else (config.output or "runs/compare"))
    # the folder rule of a run (manyheads._files), checked before the data is read
    check_output_dir(
        out,
        marker=COMPARE_MARKER,
        protect=data_paths(config),
        # --resume of a comparison written before the marker: it holds variant runs
        allow=lambda d: (
            resume and any(d.glob("*-seed*/checkpoint.json")) | any(d.glob("*-seed*/metrics.json"))
        ),
    )
    plan = [("stl", "ew")] + [(a, w) for a in architectures for w in weightings if a != "stl"]
    planned = [_variant_config(config, a, w, s, out) for a, w in plan for s in seed_list]
    _check_existing(out, planned, resume=resume, overwrite=overwrite)  # before the data loads
    splits, config = load_splits(config)
    write_marker(out, marker=COMPARE_MARKER, kind="compare")
    runs: dict[str, list[Run]] = {}
    encodings: dict[str, Encoded] = {}  # the data is encoded once for every variant sharing it
    for arch, weighting in plan:
        name = "stl" if arch == "stl" else f"{arch}+{weighting}"
        for seed in seed_list:
            cfg = _variant_config(config, arch, weighting, seed, out)
            state = _state(Path(str(cfg.output))) if resume else None
            if state == "finished":
                say(f"keeping the finished {name} seed {seed}")
                runs.setdefault(name, []).append(_finished_run(cfg))
                continue
            say(f"{'resuming' if state else 'training'} {name} seed {seed}")
            # each training is quiet in the log: the comparison says which variant trains
            each = dataclasses.replace(options, resume=state == "unfinished", log=None)
            runs.setdefault(name, []).append(run_config(cfg, splits, each, encodings))
    split = "test" if splits.test is not None else "valid"
    variants = [_summarise(name, rs) for name, rs in runs.items()]
    _add_delta_m(variants, runs)
    result = Comparison(split=split, variants=variants, directory=out)
    from manyheads.workflow._report import write_reports

    write_reports(result, runs)
    return result


def _state(directory: Path) -> str | None:
    """``finished``, ``unfinished`` (it holds a checkpoint) or None (nothing to keep)."""
    if (directory / "metrics.json").exists():
        return "finished"
    if (directory / "checkpoint.json").exists():
        return "unfinished"
    return None


def _check_existing(out: Path, configs: list[RunConfig], *, resume: bool, overwrite: bool) -> None:
    """Refuse a folder with variant runs in it unless ``resume`` or ``overwrite``."""
    if resume and overwrite:
        raise InvalidParameterError(
            "compare: --resume and --overwrite exclude each other (--resume keeps the finished "
            "variants, --overwrite trains every variant again). Pass one of them."
        )
    if (
        resume
        and not (out / COMPARE_MARKER).exists()
        and not any(_state(Path(str(c.output))) for c in configs)
    ):
        raise InvalidParameterError(
            f"Nothing to resume in '{out}': it holds no comparison (no {COMPARE_MARKER} marker "
            "and no variant run). Drop --resume to start the comparison, or point -o/--output "
            "at the interrupted one."
        )
    if resume or overwrite:
        return
    found = []
    for cfg in configs:
        directory = Path(str(cfg.output))
        state = _state(directory)
        if state is not None:
            found.append(f"{directory.name} ({state})")
    if found:
        raise InvalidParameterError(
            f"The comparison folder '{out}' already holds {len(found)} variant run(s): "
            f"{', '.join(found[:6])}{' ...' if len(found) > 6 else ''}. Pass --resume to "
            "continue the comparison (finished variants are kept, unfinished ones resume), "
            "--overwrite to train every variant again, or choose another -o/--output."
        )


def _finished_run(config: RunConfig) -> Run:
    """A finished variant's run, read back (refused if it was trained with another config)."""
    import pandas as pd
    import yaml

    from manyheads.engine.checkpoint import fingerprint, fingerprint_changes
    from manyheads.workflow._run import load

    directory = Path(str(config.output))
    path = directory / "config.yaml"
    try:
        saved = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataError(
            f"cannot read the finished variant's configuration ({exc}); delete the folder "
            f"'{directory}' to train the variant again.",
            path=str(path),
        ) from None
    # the run saved its resolved config: batch_size and lr left open were chosen by task
    current = resolve_defaults(config, lambda _msg: None).to_dict()
    if not isinstance(saved, dict):
        saved = {}
    if config.inputs is None:  # the run recorded the inputs it inferred
        saved.pop("inputs", None)
    changes = fingerprint_changes(
        fingerprint(saved, data={}, encodings={}),
        fingerprint(current, data={}, encodings={}),
        more_epochs=False,
    )
    if changes:
        raise InvalidParameterError(
            f"Cannot keep the finished variant in '{directory}': it was trained with another "
            "configuration:\n"
            + "\n".join(f"  - {c}" for c in changes)
            + "\nRestore the old values, or pass --overwrite to train every variant again."
        )
    run = load(directory)
    history = directory / "history.csv"
    if history.exists():
        run.history = [
            {str(k): float(v) for k, v in row.items()}
            for row in pd.read_csv(history).to_dict("records")
        ]
    return run


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _summarise(name: str, runs: list[Run]) -> dict[str, Any]:
    first = runs[0].metrics
    assert first is not None
    tasks: dict[str, Any] = {}
    for task, entry in first["tasks"].items():
        metrics = [k for k in entry if k not in ("primary", "higher_is_better", "n")]
        values = {
            # an undefined metric (AUC on one class) is NaN, saved as null in metrics.json
            m: [_number(r.metrics["tasks"][task][m]) for r in runs if r.metrics]
            for m in metrics
        }
        primary = entry["primary"]
        tasks[task] = {
            "primary": primary,
            "higher_is_better": entry["higher_is_better"],
            "mean": float(np.mean(values[primary])),
            "std": float(np.std(values[primary])),
            "per_seed": values[primary],
            "metrics": {
                m: {"mean": float(np.mean(v)), "std": float(np.std(v))} for m, v in values.items()
            },
            "n": entry["n"],
        }
    # the median over seeds of each run's median pass: one slow pass (another process, a cold
    # cache) no longer sets the column, as a pooled sum let it
    per_1k = [
        1e6 * r.metrics["inference_seconds"] / max(1, r.metrics["inference_rows"])
        for r in runs
        if r.metrics
    ]
    return {
        "name": name,
        "architecture": first["architecture"],
        "weighting": first["weighting"],
        "seeds": [r.metrics["seed"] for r in runs if r.metrics],
        "n_parameters": first["n_parameters"],
        "train_seconds": float(np.mean([r.metrics["train_seconds"] for r in runs if r.metrics])),
        "inference_ms_per_1k": float(np.median(per_1k)),
        "best_epochs": [r.metrics["best_epoch"] for r in runs if r.metrics],
        "tasks": tasks,
        "runs": [str(r.directory) for r in runs],
    }


def _add_delta_m(variants: list[dict[str, Any]], runs: dict[str, list[Run]]) -> None:
    base = next(v for v in variants if v["name"] == "stl")
    baseline = {t: m["mean"] for t, m in base["tasks"].items()}
    higher = {t: m["higher_is_better"] for t, m in base["tasks"].items()}
    absolute = absolute_tasks({t: m["primary"] for t, m in base["tasks"].items()}, baseline)
    for v in variants:
        per_seed = []
        for i in range(len(v["seeds"])):
            values = {t: m["per_seed"][i] for t, m in v["tasks"].items()}
            per_seed.append(delta_m(values, baseline, higher, absolute=absolute))
        v["delta_m"] = {
            "mean": float(np.mean(per_seed)),
            "std": float(np.std(per_seed)),
            "per_seed": per_seed,
            "absolute_tasks": sorted(absolute & set(v["tasks"])),
        }
        first = runs[v["name"]][0].metrics or {}
        if "sources" in first:  # Δm of each source's own tasks, on its own test split
            v["delta_m_sources"] = {}
            for src, entry in first["sources"].items():
                own = list(entry["tasks"])
                seeds = [
                    delta_m(
                        {t: v["tasks"][t]["per_seed"][i] for t in own},
                        {t: baseline[t] for t in own},
                        higher,
                        absolute=absolute,
                    )
                    for i in range(len(v["seeds"]))
                ]
                v["delta_m_sources"][src] = {
                    "mean": float(np.mean(seeds)),
                    "std": float(np.std(seeds)),
                    "tasks": own,
                }


def save_json(comparison: Comparison) -> Path:
    """Write ``comparison.json``."""
    path = comparison.directory / "comparison.json"
    data = {
        "split": comparison.split,
        "model_selection": "validation",
        "delta_m_baseline": "stl",
        "delta_m_note": "negative is better than single-task",
        "variants": comparison.variants,
    }
    atomic_write_text(path, json.dumps(json_safe(data), indent=2, allow_nan=False))
    return path
