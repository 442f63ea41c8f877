"""Running the study: opening it (its space and objective must match a continued or joined
one), the Δm% baseline cached in it, the trial loop and the line logged for each trial."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from typing import TYPE_CHECKING

from manyheads.config.schema import ModelConfig, RunConfig
from manyheads.errors import InvalidParameterError
from manyheads.search._dimension import SearchSpace
from manyheads.search._objective import Objective
from manyheads.search._options import SearchOptions
from manyheads.search._study import make_pruner, make_sampler, open_storage, requeue_running
from manyheads.search._trial import TrialRunner

if TYPE_CHECKING:
    import optuna

__all__ = ["Log", "open_study", "optimize", "short_value", "with_baseline"]

Log = Callable[[str], None]


def open_study(
    url: str,
    options: SearchOptions,
    objective: Objective,
    space: SearchSpace,
    runner: TrialRunner,
    say: Log,
) -> optuna.Study:
    """Create the study at ``url``, or load the one of ``options.study_name``, whose space
    and objective must be this search's; with ``--resume``, queue its running trials again."""
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


def with_baseline(
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


def optimize(study: optuna.Study, runner: TrialRunner, options: SearchOptions, say: Log) -> None:
    """Run trials until the study holds ``options.trials`` finished ones (or the timeout),
    logging a line per trial; stop after many failures."""
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
    params = ", ".join(f"{k}={short_value(v)}" for k, v in trial.params.items())
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


def short_value(value: object) -> str:
    """A searched value as the log and ``best.yaml`` show it.

    Example:
        >>> short_value(0.000123456), short_value([64])
        ('0.0001235', '[64]')
    """
    return f"{value:.4g}" if isinstance(value, float) else str(value)
