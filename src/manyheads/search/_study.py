"""Where a study lives (SQLite in the output folder, PostgreSQL, or a journal file), the sampler
and pruner, and how a killed search continues (``--resume``)."""

from __future__ import annotations

import random
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from manyheads._registry import did_you_mean
from manyheads.errors import InvalidParameterError

if TYPE_CHECKING:
    import optuna

__all__ = [
    "PRUNERS",
    "SAMPLERS",
    "close_storage",
    "default_storage",
    "make_pruner",
    "make_sampler",
    "open_storage",
    "requeue_running",
]

SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "hyperband", "none")
#: Seconds between a worker's heartbeats in an SQL storage, and how long a silent trial stays
#: RUNNING before another worker fails it and queues its parameters again.
HEARTBEAT_S, GRACE_S = 20, 60


def default_storage(out: Path) -> str:
    """``sqlite:///OUT/study.db``."""
    return f"sqlite:///{(out / 'study.db').resolve()}"


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """The storage of ``--storage``: ``sqlite:///PATH``, ``postgresql://...`` (read through
    psycopg 3) or ``journal:PATH`` (Optuna's journal file, for shared file systems).

    SQL storages get heartbeats: a trial of a killed worker is failed after :data:`GRACE_S`
    seconds and its parameters run again (Optuna's ``RetryHeartbeatStaleTrialCallback``).
    """
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    if url.startswith("journal:"):
        path = Path(url.removeprefix("journal:"))
        if not path.parent.is_dir():
            raise InvalidParameterError(
                f"--storage {url}: the folder '{path.parent}' does not exist; create it or give "
                "another journal file path."
            )
        return JournalStorage(JournalFileBackend(str(path)))
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith(("sqlite:", "postgresql+psycopg:", "mysql")):
        raise InvalidParameterError(
            f"--storage '{url}' is not a storage URL: give sqlite:///PATH, "
            "postgresql://USER@HOST:PORT/DB or journal:PATH."
        )
    try:
        return _rdb_storage(url)
    except optuna.exceptions.StorageInternalError as exc:
        raise InvalidParameterError(
            f"--storage {_redacted(url)}: cannot open it ({exc})."
        ) from None
    except Exception as exc:  # sqlalchemy's errors: a refused connection, a bad URL
        if type(exc).__module__.startswith("sqlalchemy"):
            reason = str(exc).splitlines()[0]
            raise InvalidParameterError(
                f"--storage {_redacted(url)}: cannot open it: {reason}"
            ) from None
        raise


def _rdb_storage(url: str) -> optuna.storages.RDBStorage:
    """An SQL storage with heartbeats; workers that start together race to create the tables
    (PostgreSQL refuses the second ``CREATE TABLE``): the loser tries again on the tables the
    winner made."""
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    for attempt in range(5):
        try:
            with warnings.catch_warnings():  # heartbeats are marked experimental in Optuna 5.1
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(
                    url,
                    heartbeat_interval=HEARTBEAT_S,
                    grace_period=GRACE_S,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
                )
        except Exception as exc:
            name = type(exc).__name__
            if attempt == 4 or name not in ("IntegrityError", "ProgrammingError"):
                raise
            time.sleep(0.5 + random.random())
    raise AssertionError("unreachable")


def _redacted(url: str) -> str:
    """``url`` without its password.

    Example:
        >>> _redacted("postgresql+psycopg://me:secret@db:5432/s")
        'postgresql+psycopg://me:***@db:5432/s'
    """
    head, at, tail = url.rpartition("@")
    if not at or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, user = head.partition("//")
    return f"{scheme}//{user.split(':', 1)[0]}:***@{tail}"


def make_sampler(name: str, seed: int | None, *, multi: bool) -> optuna.samplers.BaseSampler:
    """TPE (the default; multivariate, also for several objectives) or random sampling."""
    import optuna

    _known(name, SAMPLERS, "--sampler")
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, multivariate=not multi, n_startup_trials=5)


def make_pruner(name: str, *, max_epochs: int) -> optuna.pruners.BasePruner:
    """Median (a trial below the median of earlier trials at the same epoch stops; the first
    3 trials and the first epoch always run) or Hyperband over epochs (1 to ``max_epochs``)."""
    import optuna

    _known(name, PRUNERS, "--pruner")
    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(max_epochs, 2))
    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)


def _known(name: str, valid: tuple[str, ...], option: str) -> None:
    if name not in valid:
        raise InvalidParameterError(
            f"{option} '{name}' is unknown.{did_you_mean(name, list(valid))} "
            f"Valid: {', '.join(valid)}."
        )


def requeue_running(study: optuna.Study) -> int:
    """Fail the trials a killed search left RUNNING and queue their parameters again; returns
    how many. Only for a study that one worker owns (the default SQLite file): other workers'
    trials in a shared storage are left to the heartbeat."""
    from optuna.trial import TrialState

    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in stale:
        study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
    return len(stale)


def close_storage(study: optuna.Study) -> None:
    """Close the SQL connections of ``study``'s storage (a no-op for a journal file)."""
    from optuna.storages import RDBStorage

    storage = getattr(study._storage, "_backend", study._storage)  # under Optuna's cache
    if isinstance(storage, RDBStorage):
        storage.scoped_session.remove()
        storage.engine.dispose()
