"""Evaluate runs under every applicable corruption at several strengths, and the drops.

:func:`robustness` corrupts the evaluation frame once per (corruption, strength), seeded, and
scores every run on the same corrupted rows with :meth:`~manyheads.workflow._run.Run.evaluate`,
so the variants of a comparison (multi-task and single-task) are measured side by side.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from manyheads.errors import DataWarning, InvalidParameterError
from manyheads.robustness._corruptions import CORRUPTIONS, corrupt_frame
from manyheads.workflow._run import Run

__all__ = ["DEFAULT_STRENGTHS", "RobustnessResult", "check_strengths", "degradation", "robustness"]

#: the strengths used when none are given (0, the clean data, is always added).
DEFAULT_STRENGTHS = (0.1, 0.2, 0.4)


@dataclass
class RobustnessResult:
    """Per variant, corruption and strength: each task's primary metric (mean ± std over the
    variant's runs, per run too) and its degradation against the clean data.

    ``variants[name][corruption][i]`` is the entry of ``strengths[i]`` (``strengths[0]`` is 0,
    the clean data): ``{"strength", "tasks": {task: {"mean", "std", "per_run",
    "degradation"}}, "mean_degradation"}``. ``summary[name][corruption]`` is the mean
    degradation over the tasks and the non-zero strengths (positive: the metric got worse).
    """

    strengths: list[float]
    corruptions: dict[str, list[str]]
    tasks: dict[str, dict[str, Any]]
    variants: dict[str, dict[str, list[dict[str, Any]]]]
    runs: dict[str, list[str]]
    seed: int
    rows: int
    summary: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``robustness.json`` layout."""
        return {
            "strengths": self.strengths,
            "seed": self.seed,
            "rows": self.rows,
            "corruptions": {
                name: {"columns": cols, "strength": CORRUPTIONS[name].strength}
                for name, cols in self.corruptions.items()
            },
            "tasks": self.tasks,
            "runs": self.runs,
            "variants": self.variants,
            "summary": self.summary,
            "note": (
                "degradation = 100 * (clean - corrupted) / |clean| of the task's primary "
                "metric, sign flipped for a metric where lower is better: positive means the "
                "corruption made the model worse; summary: mean over tasks and strengths > 0"
            ),
        }


def degradation(clean: float, corrupted: float, *, higher_is_better: bool) -> float:
    """How much worse ``corrupted`` is than ``clean``, in % of ``|clean|`` (positive: worse).

    Example:
        >>> round(degradation(0.8, 0.6, higher_is_better=True), 9)
        25.0
        >>> degradation(2.0, 3.0, higher_is_better=False)
        50.0
    """
    if not math.isfinite(clean) or not math.isfinite(corrupted) or clean == 0:
        return float("nan")
    change = (clean - corrupted) if higher_is_better else (corrupted - clean)
    return 100.0 * change / abs(clean)


def check_strengths(strengths: Sequence[float], corruptions: Sequence[str]) -> list[float]:
    """The sorted strengths with 0 (the clean data) first; refuse bad ones.

    Raises:
        InvalidParameterError: a strength is not a finite number >= 0, or a strength > 1 is
            given for a corruption whose strength is a probability.

    Example:
        >>> check_strengths([0.4, 0.1], ["gaussian"])
        [0.0, 0.1, 0.4]
    """
    values = []
    for s in strengths:
        if isinstance(s, bool) or not isinstance(s, int | float) or not math.isfinite(s) or s < 0:
            raise InvalidParameterError(
                f"Every robustness strength must be a finite number >= 0. Got {s!r}."
            )
        values.append(float(s))
    for name in corruptions:
        if CORRUPTIONS[name].probability and any(s > 1 for s in values):
            raise InvalidParameterError(
                f"The strength of corruption '{name}' is a probability "
                f"({CORRUPTIONS[name].strength}), so it must be in [0, 1]. Got {max(values)!r}. "
                "Lower --strengths, or leave "
                f"'{name}' out with --corruptions."
            )
    return sorted({0.0, *values})


def _applicable(runs: Sequence[Run], wanted: Sequence[str] | None) -> dict[str, list[str]]:
    """Corruption -> the input columns (of any of the runs) of a kind it applies to."""
    kinds: dict[str, str] = {}
    for run in runs:
        kinds.update(run.preprocessor.inputs)
    if wanted is not None:
        for name in wanted:
            if name not in CORRUPTIONS:
                from manyheads._registry import did_you_mean

                raise InvalidParameterError(
                    f"Unknown corruption '{name}'.{did_you_mean(name, list(CORRUPTIONS))} "
                    f"The corruptions are: {', '.join(CORRUPTIONS)}."
                )
    names = list(CORRUPTIONS) if wanted is None else list(dict.fromkeys(wanted))
    found = {}
    for name in names:
        columns = [c for c, k in kinds.items() if k in CORRUPTIONS[name].kinds]
        if columns:
            found[name] = columns
        elif wanted is not None:
            raise InvalidParameterError(
                f"Corruption '{name}' applies to {' / '.join(CORRUPTIONS[name].kinds)} inputs, "
                f"and the runs have none (their inputs: "
                f"{', '.join(f'{c} ({k})' for c, k in kinds.items())})."
            )
    if not found:
        raise InvalidParameterError(
            "No corruption applies to the runs' inputs "
            f"({', '.join(f'{c} ({k})' for c, k in kinds.items())}): robustness corrupts "
            "numeric, categorical, text, tokens and image inputs."
        )
    return found


def _decoded_images(frame: pd.DataFrame, runs: Sequence[Run]) -> pd.DataFrame:
    """Image columns given as file paths, decoded once into arrays (the noise needs pixels)."""
    from manyheads.data.images import is_image_path, read_image_files

    for run in runs:
        for column, kind in run.preprocessor.inputs.items():
            cells = frame.get(column, None)
            if kind == "image" and cells is not None and any(map(is_image_path, cells)):
                frame = frame.copy()
                frame[column] = read_image_files(frame, column)
    return frame


def _scores(run: Run, frame: pd.DataFrame) -> dict[str, float]:
    """Each task's primary metric of ``run`` on ``frame``."""
    with warnings.catch_warnings():
        # a warning about the data (an unseen label) was already given on the clean rows
        warnings.simplefilter("ignore", DataWarning)
        metrics = run.evaluate(frame)["tasks"]
    return {
        t: float(np.nan if m[m["primary"]] is None else m[m["primary"]]) for t, m in metrics.items()
    }


def robustness(
    runs: Mapping[str, Sequence[Run]],
    data: pd.DataFrame,
    *,
    strengths: Sequence[float] = DEFAULT_STRENGTHS,
    corruptions: Sequence[str] | None = None,
    seed: int = 0,
) -> RobustnessResult:
    """Score every run on ``data`` clean and under each corruption at each strength.

    Args:
        runs: variant name -> its runs (one per seed; the scores are their mean ± std), e.g.
            ``{"stl": [...], "hps+ew": [...]}`` from a comparison.
        data: labelled rows (a test split) with the runs' input and label columns.
        strengths: the corruption strengths (0, the clean data, is always added); what a
            strength means depends on the corruption (:data:`CORRUPTIONS`).
        corruptions: names from :data:`CORRUPTIONS`; None: every one that applies to the
            runs' input kinds.
        seed: the corruptions' seed; every run sees the same corrupted rows.

    Raises:
        InvalidParameterError: no runs, an unknown corruption or one whose input kind the
            runs lack, or a bad strength.

    Example:
        >>> import manyheads as mh
        >>> frame = pd.DataFrame({"x": np.linspace(-2, 2, 200)})
        >>> frame["y"] = (frame.x > 0).astype(int)
        >>> run = mh.fit(frame, tasks=[mh.Task("y", type="binary")], epochs=3, lr=0.05,
        ...              batch_size=32)
        >>> result = robustness({"hps": [run]}, frame, strengths=[1.0])
        >>> result.strengths, list(result.corruptions)
        ([0.0, 1.0], ['gaussian'])
        >>> result.summary["hps"]["gaussian"] > 0  # noise as large as the signal hurts
        True
    """
    if not runs or not all(runs.values()):
        raise InvalidParameterError("robustness needs at least one run per variant.")
    every = [r for rs in runs.values() for r in rs]
    applicable = _applicable(every, corruptions)
    levels = check_strengths(strengths, list(applicable))
    frame = _decoded_images(data, every)
    tasks: dict[str, dict[str, Any]] = {}  # every run's tasks (single-task runs: one each)
    for run in every:
        for t, m in run.evaluate(frame)["tasks"].items():  # the data's warnings, once each
            tasks.setdefault(
                t, {"primary": m["primary"], "higher_is_better": m["higher_is_better"]}
            )
    clean = {name: [_scores(r, frame) for r in rs] for name, rs in runs.items()}
    scores: dict[str, dict[str, list[list[dict[str, float]]]]] = {n: {} for n in runs}
    for c_index, (name, columns) in enumerate(applicable.items()):
        for s_index, strength in enumerate(levels):
            if strength == 0:
                corrupted = None
            else:
                rng = np.random.default_rng([seed, c_index, s_index])
                corrupted = corrupt_frame(frame, columns, CORRUPTIONS[name], strength, rng)
            for variant, rs in runs.items():
                per_run = (
                    clean[variant] if corrupted is None else [_scores(r, corrupted) for r in rs]
                )
                scores[variant].setdefault(name, []).append(per_run)
    variants = {
        v: {c: _entries(levels, per_level, tasks) for c, per_level in by_c.items()}
        for v, by_c in scores.items()
    }
    summary = {
        v: {c: _mean([e["mean_degradation"] for e in entries[1:]]) for c, entries in by_c.items()}
        for v, by_c in variants.items()
    }
    return RobustnessResult(
        strengths=levels,
        corruptions=applicable,
        tasks=tasks,
        variants=variants,
        runs={n: [str(r.directory) if r.directory else "" for r in rs] for n, rs in runs.items()},
        seed=seed,
        rows=len(frame),
        summary=summary,
    )


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _entries(
    levels: list[float], per_level: list[list[dict[str, float]]], tasks: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """One entry per strength: per task the mean ± std over runs and the degradation of the
    mean against the clean mean (the first level)."""
    entries = []
    for strength, per_run in zip(levels, per_level, strict=True):
        entry_tasks: dict[str, dict[str, Any]] = {}
        for task, spec in tasks.items():
            # a run without the task (another task's single-task model) counts for nothing
            values = [r[task] for r in per_run if task in r]
            if not values:
                continue
            clean_mean = float(np.mean([r[task] for r in per_level[0] if task in r]))
            mean = float(np.mean(values))
            entry_tasks[task] = {
                "mean": mean,
                "std": float(np.std(values)),
                "per_run": values,
                "degradation": degradation(
                    clean_mean, mean, higher_is_better=spec["higher_is_better"]
                ),
            }
        entries.append(
            {
                "strength": strength,
                "tasks": entry_tasks,
                "mean_degradation": _mean([e["degradation"] for e in entry_tasks.values()]),
            }
        )
    return entries
