"""After training: task types that decide on validation outputs (multilabel thresholds)."""

from __future__ import annotations

import copy

from manyheads.architectures.base import MTLModel
from manyheads.data.preprocess import TablePreprocessor
from manyheads.data.tensors import EncodedTable
from manyheads.engine.loop import predict_outputs
from manyheads.tasks._base import TaskType
from manyheads.tasks.task import Task

__all__ = ["tune_on_valid"]


def tune_on_valid(
    model: MTLModel, pre: TablePreprocessor, tasks: list[Task], valid: EncodedTable
) -> TablePreprocessor:
    """``pre`` with each task's label state adjusted on the trained model's validation outputs
    (:meth:`TaskType.tune`). A copy when some task type tunes (``compare`` shares one fitted
    preprocessor between its runs), else ``pre`` itself, without predicting anything."""
    fitted = [t for t in pre.fitted(tasks) if type(t.task_type).tune is not TaskType.tune]
    if not fitted:
        return pre
    device = next(model.parameters()).device
    outputs = predict_outputs(model, valid, batch_size=8192, device=device)
    tuned = copy.copy(pre)
    tuned.task_states_ = dict(pre.task_states_)
    for t in fitted:
        state = t.tune(outputs[t.name], valid.y[t.name], valid.mask[t.name]).state
        tuned.task_states_[t.name] = state
    return tuned
