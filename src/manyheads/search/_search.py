"""``manyheads search``: an Optuna study over config keys, then the chosen config retrained on
train + valid and tested once.

Order: config and space checked -> output folder checked -> data read (test split set aside)
-> study opened (created, continued or joined) -> trials -> ``best.yaml`` -> the final run
(``final/``) -> ``search.json`` and ``report.html`` (:mod:`manyheads.search._report`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from manyheads._files import check_output_dir, data_paths, write_marker
from manyheads.config.schema import RunConfig
from manyheads.errors import InvalidParameterError
from manyheads.search._folds import FoldPlan
from manyheads.search._objective import make_objective
from manyheads.search._optimize import Log, open_study, optimize, with_baseline
from manyheads.search._options import SearchOptions, SearchResult, check_options
from manyheads.search._outcome import final_run, search_result
from manyheads.search._space import load_space
from manyheads.search._space_check import check_space
from manyheads.search._study import close_storage, default_storage
from manyheads.search._trial import TrialRunner, search_data
from manyheads.workflow._splits import Splits

__all__ = ["SEARCH_MARKER", "SearchOptions", "SearchResult", "search"]

#: The marker that makes a folder a search's own (``manyheads._files``).
SEARCH_MARKER = ".manyheads-search"


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
    check_options(options)
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
    study = open_study(storage_url, options, objective, space, runner, say)
    try:
        runner.objective = objective = with_baseline(study, objective, runner, say)
        optimize(study, runner, options, say)
        result = search_result(study, runner, out)
        if options.final:
            result.final = final_run(result, runner, out, say)
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
