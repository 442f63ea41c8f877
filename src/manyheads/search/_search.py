"""``manyheads search``: an Optuna study over config keys, then the chosen config retrained on
train + valid and tested once.

Order: config and space checked -> output folder checked -> data read (test split set aside)
-> study opened (created, continued or joined) -> trials -> ``best.yaml`` -> the final run
(``final/``) -> ``search.json`` and ``report.html`` (:mod:`manyheads.search._report`).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from manyheads._files import check_output_dir, data_paths, write_marker
from manyheads.config.schema import ModelConfig, RunConfig
from manyheads.errors import InvalidParameterError
from manyheads.search._folds import FoldPlan
from manyheads.search._objective import Objective, make_objective
from manyheads.search._space import SearchSpace, apply_values, check_space, load_space
from manyheads.search._study import (
    close_storage,
    default_storage,
    make_pruner,
    make_sampler,
    open_storage,
    requeue_running,
)
from manyheads.search._trial import SearchData, TrialRunner, pooled, search_data
from manyheads.workflow._splits import Splits

if TYPE_CHECKING:
    import optuna

__all__ = ["SEARCH_MARKER", "SearchOptions", "SearchResult", "search"]

#: The marker that makes a folder a search's own (``manyheads._files``).
SEARCH_MARKER = ".manyheads-search"

Log = Callable[[str], None]


@dataclass(frozen=True)
class SearchOptions:
    """The options of one search (the CLI's flags).

    Args:
        trials: finished (complete or pruned) trials the study should hold, over all workers.
        storage: the study's storage URL (None: ``sqlite:///OUT/study.db``).
        study_name: the study's name in the storage (workers join by it).
        cv: K-fold cross-validation on train + valid (None: train, scored on valid).
        stratify: label columns the folds keep in proportion (None: the label columns of every
            binary, multiclass and multilabel task).
        group_by: grouped folds by this column.
        time_column: forward-chaining folds over this column.
        objective: ``TASK.METRIC`` (several: multi-objective), ``weighted`` or ``delta_m``.
        weights: task -> weight of ``weighted``.
        sampler: ``tpe`` or ``random``.
        pruner: ``median``, ``hyperband`` or ``none``.
        seed: the sampler's seed.
        resume: continue the study in the output folder.
        final: retrain the chosen config on train + valid and test it.
        top_k: rows of the report's trial table.
        timeout: stop starting trials after this many seconds (None: no limit); the search
            then reports the trials it has.
    """

    trials: int
    storage: str | None = None
    study_name: str = "manyheads"
    cv: int | None = None
    stratify: tuple[str, ...] | None = None
    group_by: str | None = None
    time_column: str | None = None
    objective: tuple[str, ...] = ()
    weights: dict[str, float] | None = None
    sampler: str = "tpe"
    pruner: str = "median"
    seed: int | None = 0
    resume: bool = False
    final: bool = True
    top_k: int = 10
    timeout: float | None = None


@dataclass
class SearchResult:
    """What a search found: the chosen trial's config values and scores, and the final run's."""

    directory: Path
    objective: Objective
    best_values: dict[str, Any]
    best_number: int
    best_scores: list[float]
    n_trials: dict[str, int]
    final: dict[str, Any] | None = None
    pareto: list[int] = field(default_factory=list)
    best_epochs: list[int] = field(default_factory=list)


def search(
    config_path: str | Path,
    space_path: str | Path,
    *,
    output: str | Path,
    options: SearchOptions,
    overrides: Sequence[str] = (),
    log: Log | None = None,
) -> SearchResult:
    """Run (or continue, or join) a search and write its output folder.

    Raises:
        ConfigError: the config or the space has problems (all listed at once).
        InvalidParameterError: a bad option, an output folder that holds a search without
            ``resume`` (or none with it), or a study of another objective.
    """
    say: Log = log or (lambda _: None)
    raw, base = _read_config(config_path, overrides)
    space = load_space(space_path)
    check_space(space, raw, config_source=str(config_path))
    _check_options(options)
    protect = [config_path, space_path, *data_paths(base)]
    out = check_output_dir(output, marker=SEARCH_MARKER, protect=protect)
    storage_url = options.storage or default_storage(out)
    _check_resume(out, options)
    splits, base = _load(base)
    objective = make_objective(
        options.objective, base.tasks, weights=options.weights, monitor=base.train.monitor
    )
    data = search_data(splits, _plan(options, base, splits))
    say(f"search: {data.describe()}; the test split is not used by the search")
    out.mkdir(parents=True, exist_ok=True)
    write_marker(out, marker=SEARCH_MARKER, kind="search")
    runner = TrialRunner(raw, base, space, objective, data, prune=options.pruner != "none")
    study = _open_study(storage_url, options, objective, space, runner, say)
    try:
        runner.objective = objective = _with_baseline(study, objective, runner, say)
        _optimize(study, runner, options, say)
        result = _result(study, runner, out)
        if options.final:
            result.final = _final(result, runner, out, say)
        from manyheads.search._report import write_report

        write_report(result, study, runner, options)
    finally:
        close_storage(study)
    return result


def _read_config(path: str | Path, overrides: Sequence[str]) -> tuple[dict[str, Any], RunConfig]:
    from manyheads.config.load import apply_overrides, build_config, parse_overrides, read_yaml
    from manyheads.errors import ConfigError

    raw = read_yaml(path)
    try:
        apply_overrides(raw, parse_overrides(list(overrides)))
    except ConfigError as exc:
        raise ConfigError(exc.problems, source=str(path)) from None
    return raw, build_config(raw, source=str(path), dry_run=True)


def _check_options(options: SearchOptions) -> None:
    if options.trials < 1:
        raise InvalidParameterError(f"--trials must be an int >= 1; got {options.trials}.")
    if options.cv is None and (options.group_by or options.time_column or options.stratify):
        raise InvalidParameterError(
            "--group-by, --time-column and --stratify shape the folds of --cv K; pass --cv."
        )
    if options.timeout is not None and not options.timeout > 0:
        raise InvalidParameterError(
            f"--timeout must be a number of seconds > 0; got {options.timeout}."
        )
    if options.group_by and options.time_column:
        raise InvalidParameterError(
            "--group-by and --time-column exclude each other: pass one of them."
        )


def _check_resume(out: Path, options: SearchOptions) -> None:
    """A search folder holding a study is continued with --resume only, and --resume needs one."""
    if options.storage is not None:  # a shared storage: workers join the study by its name
        return
    held = (out / "study.db").exists()
    if held and not options.resume:
        raise InvalidParameterError(
            f"The output folder '{out}' already holds a search (study.db). Pass --resume to "
            "continue it (finished trials are kept), or choose another --output."
        )
    if options.resume and not held:
        raise InvalidParameterError(
            f"Nothing to resume in '{out}': it holds no study.db. Drop --resume to start the "
            "search, or point --output at the interrupted one."
        )


def _load(base: RunConfig) -> tuple[Splits, RunConfig]:
    from manyheads.workflow._splits import load_splits

    if base.data.sources:
        raise InvalidParameterError(
            "search does not take a multi-source config (data.sources) yet: search each source's "
            "config, or merge the sources into one table."
        )
    return load_splits(base)


def _plan(options: SearchOptions, base: RunConfig, splits: Splits) -> FoldPlan | None:
    if options.cv is None:
        return None
    stratify = options.stratify
    if stratify is None and not (options.group_by or options.time_column):
        classes = ("binary", "multiclass", "multilabel")
        columns = [c for t in base.tasks if t.type in classes for c in t.label_columns]
        stratify = tuple(c for c in dict.fromkeys(columns) if c in splits.train.columns)
    return FoldPlan(
        options.cv,
        stratify=tuple(stratify or ()),
        group_by=options.group_by,
        time_column=options.time_column,
        seed=base.data.split_seed,
    )


def _open_study(
    url: str,
    options: SearchOptions,
    objective: Objective,
    space: SearchSpace,
    runner: TrialRunner,
    say: Log,
) -> optuna.Study:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(url)
    max_epochs = _max_epochs(space, runner.base)
    study = optuna.create_study(
        storage=storage,
        study_name=options.study_name,
        directions=objective.directions,
        sampler=make_sampler(options.sampler, options.seed, multi=not objective.prunable),
        pruner=make_pruner(options.pruner, max_epochs=max_epochs),
        load_if_exists=True,
    )
    signature = {"objective": objective.names, "space": [d.key for d in space.dimensions]}
    held = study.user_attrs.get("signature")
    if held is None:
        study.set_user_attr("signature", signature)
        study.set_user_attr("cv", runner.data.describe())
    elif held != signature:
        raise InvalidParameterError(
            f"The study '{options.study_name}' in the storage searches {held['space']} for "
            f"{held['objective']}; this search asks {signature['space']} for "
            f"{signature['objective']}. Use the same space and objective to continue or join "
            "it, or another --study-name."
        )
    if options.resume and options.storage is None:
        n = requeue_running(study)
        if n:
            say(f"search: {n} trial(s) left running by the interrupted search queued again")
    return study


def _max_epochs(space: SearchSpace, base: RunConfig) -> int:
    for dim in space.dimensions:
        if dim.key == "train.epochs" and dim.kind != "categorical":
            return int(dim.high)
    return base.train.epochs


def _with_baseline(
    study: optuna.Study, objective: Objective, runner: TrialRunner, say: Log
) -> Objective:
    """``delta_m``: the ``stl`` baseline of the base config on the same folds, trained once and
    cached in the study (every worker and a resumed search reuse it)."""
    if objective.kind != "delta_m":
        return objective
    baseline = study.user_attrs.get("stl_baseline")
    if baseline is None:
        say("search: training the stl baseline of Δm% (once per study)")
        stl = dataclasses.replace(runner.base, model=ModelConfig("stl", {}), method="ew")
        stl = dataclasses.replace(stl, output=None)
        scores, _ = runner.train_folds(stl)
        baseline = {
            t: statistics.fmean(float(s[t][m]) for s in scores) for t, m in objective.targets
        }
        study.set_user_attr("stl_baseline", baseline)
    return dataclasses.replace(objective, baseline=dict(baseline))


def _finished(study: optuna.Study) -> dict[str, int]:
    from optuna.trial import TrialState

    counts = {s.name.lower(): 0 for s in TrialState}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name.lower()] += 1
    return counts


def _optimize(study: optuna.Study, runner: TrialRunner, options: SearchOptions, say: Log) -> None:
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    done = (TrialState.COMPLETE, TrialState.PRUNED)
    have = len(study.get_trials(deepcopy=False, states=done))
    if have >= options.trials:
        say(f"search: the study already holds {have} finished trials (--trials {options.trials})")
        return

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        say(_trial_line(trial, runner.objective))
        failed = len(study.get_trials(deepcopy=False, states=(TrialState.FAIL,)))
        if failed >= max(5, options.trials):
            study.stop()

    study.optimize(
        runner,
        timeout=options.timeout,
        callbacks=[MaxTrialsCallback(options.trials, states=done), report],
    )


def _trial_line(trial: optuna.trial.FrozenTrial, objective: Objective) -> str:
    params = ", ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
    state = trial.state.name.lower()
    if trial.values:
        scores = ", ".join(
            f"{n} {v:.4f}" for n, v in zip(objective.names, trial.values, strict=True)
        )
        state = f"{state}: {scores}"
    if "pruned_at_epoch" in trial.user_attrs:
        state += f" at epoch {trial.user_attrs['pruned_at_epoch']}"
    if "error" in trial.user_attrs:
        state += f" ({trial.user_attrs['error']})"
    return f"trial {trial.number} {state} [{params}]"


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _result(study: optuna.Study, runner: TrialRunner, out: Path) -> SearchResult:
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise InvalidParameterError(
            "search: no trial finished (every trial was pruned or failed; see the lines above). "
            "Widen the space, lower the pruning (--pruner none) or check the config."
        )
    objective = runner.objective
    pareto: list[int] = []
    if objective.prunable:
        best = study.best_trial
    else:  # the Pareto front; best.yaml holds its best trial on the first objective
        front = study.best_trials
        pareto = sorted(t.number for t in front)
        sign = 1.0 if objective.directions[0] == "maximize" else -1.0
        best = max(front, key=lambda t: sign * t.values[0])
    values = runner.space.decode(best.params)
    _write_best(out, runner, values, best.number)
    return SearchResult(
        directory=out,
        objective=objective,
        best_values=values,
        best_number=best.number,
        best_scores=list(best.values),
        n_trials=_finished(study),
        pareto=pareto,
        best_epochs=[int(e) for e in best.user_attrs.get("best_epochs", [])],
    )


def _write_best(out: Path, runner: TrialRunner, values: dict[str, Any], number: int) -> None:
    import yaml

    from manyheads._files import atomic_write_text

    raw = apply_values(runner.raw, values)
    head = (
        f"# manyheads search: the config of trial {number}, the best on {runner.objective.names}"
        f"\n# ({runner.data.describe()}). Searched: "
        + ", ".join(f"{k}={_short(v)}" for k, v in values.items())
        + "\n"
    )
    atomic_write_text(out / "best.yaml", head + yaml.safe_dump(raw, sort_keys=False))


def _final(result: SearchResult, runner: TrialRunner, out: Path, say: Log) -> dict[str, Any]:
    """The chosen config retrained on train + valid for its trial's best epoch count and tested
    once on the test split (none: not tested)."""
    from manyheads.workflow._fit import RunOptions, run_config

    data: SearchData = runner.data
    config = runner.config(result.best_values)
    epochs = _final_epochs(result, config)
    config = dataclasses.replace(
        config,
        train=dataclasses.replace(config.train, epochs=epochs, patience=None),
        output=str(out / "final"),
    )
    rows = pooled(data.train, data.valid)
    say(
        f"search: retraining trial {result.best_number}'s config on train + valid "
        f"({len(rows)} rows) for {epochs} epochs"
    )
    run = run_config(config, Splits(rows, data.valid, data.test), RunOptions(overwrite=True))
    metrics = run.metrics or {}
    tested = data.test is not None
    return {
        "directory": str(out / "final"),
        "tested": tested,
        "epochs": epochs,
        "train_rows": len(rows),
        "test_rows": 0 if data.test is None else len(data.test),
        "tasks": metrics.get("tasks", {}) if tested else {},
        "note": (
            f"the chosen config was retrained on train + valid ({len(rows)} rows) for {epochs} "
            "epochs (its trial's best epoch count) and tested once on the test split, which the "
            "search never saw"
            if tested
            else "no test split: the chosen config was retrained on train + valid but not tested"
        ),
    }


def _final_epochs(result: SearchResult, config: RunConfig) -> int:
    """The chosen trial's best epoch (the mean over folds, rounded up); its ``train.epochs``
    when unknown."""
    if not result.best_epochs:
        return config.train.epochs
    return max(1, math.ceil(statistics.fmean(result.best_epochs)))
