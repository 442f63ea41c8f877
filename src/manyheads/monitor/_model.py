"""Load the monitor's trained run and check it has the tasks, inputs and class the config names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from manyheads.errors import ConfigError

if TYPE_CHECKING:
    from manyheads.monitor._specs import MonitorConfig
    from manyheads.workflow._run import Run

__all__ = ["load_model"]


def load_model(config: MonitorConfig) -> Run:
    """Load the run and check that it has the named tasks, inputs and negative class.

    Raises:
        ConfigError: listing every name the run lacks.
    """
    from manyheads.workflow._run import load

    spec = config.model
    run = load(spec.run)
    tasks = {t.name: t for t in run.fitted_tasks}
    problems = []
    for key in ("topic_task", "sentiment_task"):
        name = getattr(spec, key)
        if name not in tasks:
            problems.append(
                f"'model.{key}': the run {spec.run!r} has no task {name!r}; its tasks are "
                f"{', '.join(tasks)}."
            )
    sentiment = tasks.get(spec.sentiment_task)
    classes = [str(c) for c in (sentiment.state.get("classes") or [])] if sentiment else []
    if sentiment is not None and classes and spec.negative_class not in classes:
        problems.append(
            f"'model.negative_class': {spec.negative_class!r} is not a class of the task "
            f"{spec.sentiment_task!r}; its classes are {', '.join(classes)}."
        )
    wanted = set(run.preprocessor.inputs)
    for key in ("inputs", "topic_inputs"):
        given = {c for c, _ in getattr(spec, key)}
        if given and given != wanted:
            problems.append(
                f"'model.{key}' must map each input of the model ({', '.join(sorted(wanted))}) "
                f"to an article field, e.g. {{{sorted(wanted)[0]}: headline}}. Got "
                f"{', '.join(sorted(given)) or 'nothing'}."
            )
    if problems:
        raise ConfigError(problems)
    return run
