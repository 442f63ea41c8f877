"""``compare``: train every architecture × balancing method × seed and prove it against single-task.

Every variant trains on the same splits (encoded once where the variants can share them); the
summary and Δm% against ``stl`` are computed in :mod:`manyheads.workflow._summary`, the reports
written by :mod:`manyheads.workflow._report`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from manyheads._catalogue import METHODS
from manyheads._files import (
    COMPARE_MARKER,
    check_output_dir,
    data_paths,
    write_marker,
)
from manyheads.architectures._registry import ARCHITECTURES
from manyheads.config.schema import ModelConfig, RunConfig
from manyheads.config.validate import method_problems
from manyheads.errors import ConfigError, DataError, InvalidParameterError
from manyheads.workflow._baseline_rows import add_baseline_delta_m, baseline_row
from manyheads.workflow._baseline_runs import (
    baseline_parts,
    check_baseline_names,
    train_baselines,
)
from manyheads.workflow._builders import resolve_defaults, select_options
from manyheads.workflow._encoding import Encoded
from manyheads.workflow._fit import Run, RunOptions, run_config
from manyheads.workflow._splits import load_splits
from manyheads.workflow._summary import (
    SIGNED_METRICS,
    Comparison,
    TaskWeights,
    absolute_tasks,
    add_delta_m,
    add_weighted_delta_m,
    delta_m,
    summarise,
)

__all__ = ["SIGNED_METRICS", "Comparison", "absolute_tasks", "compare", "delta_m"]


def _variant_config(config: RunConfig, arch: str, method: str, seed: int, out: Path) -> RunConfig:
    return dataclasses.replace(
        config,
        model=ModelConfig(arch, select_options(arch, config.model.options)),
        train=dataclasses.replace(config.train, seed=seed),
        method=method,
        output=str(out / f"{arch}-{method}-seed{seed}"),
    )


def compare(
    config: RunConfig,
    *,
    architectures: list[str],
    methods: list[str],
    seeds: int | list[int] = 3,
    output: str | Path | None = None,
    options: RunOptions | None = None,
    baselines: Sequence[str] = (),
    task_weights: TaskWeights | None = None,
) -> Comparison:
    """Train every variant and write ``comparison.json``, ``report.md`` and ``report.html``.

    ``stl`` is always trained (with ``ew``) as the baseline of Δm%. A folder that already
    holds variant runs is refused unless ``options.resume`` (continue an interrupted
    comparison: finished variants are kept, unfinished ones resume from their checkpoints,
    missing ones are trained) or ``options.overwrite`` (train every variant again).
    ``options.keep_checkpoint`` keeps each variant's last checkpoint (see
    :func:`~manyheads.workflow._fit.train_config`); ``options.quiet`` hides the progress of
    each training and ``options.log`` hears which variant trains (``protect`` is not used).

    ``baselines`` (``manyheads.baselines.list_baselines()``: ``gbdt``, ``linear``) are trained
    after the variants, per task and once per seed, on the same splits and inputs, and shown
    as rows beside ``stl`` with their Δm% against it; every row then has its Δm% against each
    baseline (:mod:`manyheads.workflow._baseline_rows`). They are always trained again, also
    on ``resume`` (seconds, not epochs).

    ``task_weights`` (``{task: weight}``, a task left out weighs 1, and where they were given)
    adds to every row its weighted Δm% against ``stl``
    (:func:`~manyheads.workflow._summary.weighted_delta_m`), beside Δm%.

    Raises:
        InvalidParameterError: the folder holds variant runs and neither ``resume`` nor
            ``overwrite`` is set; both are set; a kept variant was trained with another
            configuration; or a baseline is unknown, named twice, or cannot learn a task type
            (tagging, box) or an input kind (tokens, image) of the comparison; or a task
            weight names an unknown task or is not a finite number >= 0 (all checked before
            anything trains).
    """
    options = options if options is not None else RunOptions()
    say = options.say
    resume, overwrite = options.resume, options.overwrite
    for arch in architectures:
        ARCHITECTURES.get(arch)
    chosen_baselines = check_baseline_names(baselines)
    # every balancing method with the config's options is built before any work: a bad one
    # would otherwise stop the comparison after the variants before it had trained
    for method in dict.fromkeys(methods):
        METHODS.get(method)
        problems = method_problems(dataclasses.replace(config, method=method))
        if problems:
            raise ConfigError([f"--methods {method}: {p}" for p in problems])
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seed_list:
        raise InvalidParameterError("compare needs at least one seed.")
    _check_weights(task_weights, config)  # a built-in dataset's tasks: once they are loaded
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
    plan = [("stl", "ew")] + [(a, w) for a in architectures for w in methods if a != "stl"]
    planned = [_variant_config(config, a, w, s, out) for a, w in plan for s in seed_list]
    _check_existing(out, planned, resume=resume, overwrite=overwrite)  # before the data loads
    splits, config = load_splits(config)
    _check_weights(task_weights, config)
    parts = baseline_parts(chosen_baselines, config, splits) if chosen_baselines else []
    write_marker(out, marker=COMPARE_MARKER, kind="compare")
    runs: dict[str, list[Run]] = {}
    encodings: dict[str, Encoded] = {}  # the data is encoded once for every variant sharing it
    n_train = None if splits.stream is not None else len(splits.train)
    for arch, method in plan:
        name = "stl" if arch == "stl" else f"{arch}+{method}"
        for seed in seed_list:
            cfg = _variant_config(config, arch, method, seed, out)
            state = _state(Path(str(cfg.output))) if resume else None
            if state == "finished":
                say(f"keeping the finished {name} seed {seed}")
                runs.setdefault(name, []).append(_finished_run(cfg, n_train))
                continue
            say(f"{'resuming' if state else 'training'} {name} seed {seed}")
            # each training is quiet in the log: the comparison says which variant trains
            each = dataclasses.replace(options, resume=state == "unfinished", log=None)
            runs.setdefault(name, []).append(run_config(cfg, splits, each, encodings))
    split = "test" if splits.test is not None else "valid"
    variants = [summarise(name, rs) for name, rs in runs.items()]
    add_delta_m(variants, runs)
    fitted = train_baselines(chosen_baselines, parts, seed_list, say) if parts else {}
    rows = [baseline_row(name, results) for name, results in fitted.items()]
    add_baseline_delta_m(variants, rows)
    weights = None if task_weights is None else task_weights.weights
    if weights is not None:
        add_weighted_delta_m(variants + rows, weights)
    result = Comparison(
        split=split, variants=variants, directory=out, baselines=rows, task_weights=weights
    )
    from manyheads.workflow._report import write_reports

    write_reports(result, runs)
    return result


def _check_weights(task_weights: TaskWeights | None, config: RunConfig) -> None:
    """Refuse task weights naming a task the config lacks (no tasks yet: nothing to check)."""
    if task_weights is not None and config.tasks:
        task_weights.check([t.name for t in config.tasks])


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


def _finished_run(config: RunConfig, n_train: int | None) -> Run:
    """A finished variant's run, read back (refused if it was trained with another config;
    ``n_train``, the training rows, resolves the default batch as the run did)."""
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
    current = resolve_defaults(config, lambda _msg: None, n_train=n_train).to_dict()
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
