"""The teachers' outputs on the student's rows, computed once, in the student's target space.

Each teacher reads the student's rows through its own bundle's preprocessing (it may have other
inputs or encodings), predicts once, and its output is turned into what the student's loss
compares with (:mod:`manyheads.distill._losses`): logits for class types, per-token emissions for
tagging (a CRF teacher's per-token marginals, :mod:`manyheads.distill._marginals`), a value
standardised by the student's mean and std for regression, corners for boxes.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import torch
from torch import Tensor

from manyheads.data.tensors import EncodedTable
from manyheads.distill._losses import fit_width, pack
from manyheads.distill._marginals import token_logits
from manyheads.distill._teachers import Teacher
from manyheads.engine.loop import predict_outputs
from manyheads.tasks._box import corners
from manyheads.tasks._fitted import FittedTask
from manyheads.tasks._tagging import split_output

__all__ = ["Predictions", "TeacherOutput", "pack_table", "teacher_output"]


@dataclasses.dataclass(frozen=True)
class TeacherOutput:
    """A teacher's output on one split of the student's rows.

    Args:
        raw: the teacher's head output, as its own task scores it.
        target: the output in the student's target space (see the module docstring).
        covered: the rows (tagging: the word slots) the teacher has an output for.
    """

    raw: Tensor
    target: Tensor
    covered: Tensor


def _word_slots(table: EncodedTable) -> Tensor | None:
    return next((v for k, v in table.x.items() if k.startswith("wmask:")), None)


#: ids of (teacher run, split frame) -> its encoded rows and every head's output: one prediction
#: per run and split, however many tasks the run teaches.
Predictions = dict[tuple[int, int], tuple[EncodedTable, dict[str, Tensor]]]


def _predict(
    teacher: Teacher, frame: pd.DataFrame, cache: Predictions
) -> tuple[EncodedTable, Tensor]:
    key = (id(teacher.run), id(frame))
    if key not in cache:
        run = teacher.run
        table = run.preprocessor.transform(frame, labels=False)
        device = next(run.model.parameters()).device
        cache[key] = table, predict_outputs(run.model, table, batch_size=8192, device=device)
    table, outputs = cache[key]
    return table, outputs[teacher.task]


def teacher_output(
    teacher: Teacher,
    frame: pd.DataFrame,
    student: FittedTask,
    student_table: EncodedTable,
    cache: Predictions,
) -> TeacherOutput:
    """``teacher``'s output for its task on ``frame`` (the rows of ``student_table``), from one
    prediction of its run on ``frame`` (kept in ``cache``)."""
    table, raw = _predict(teacher, frame, cache)
    own = teacher.fitted()
    assert own is not None  # name_problems refused a teacher without the task
    covered = torch.ones(len(frame), dtype=torch.bool)
    kind = student.task.type
    if kind == "regression":  # the teacher's scale -> the student's
        value = raw * own.state["std"] + own.state["mean"]
        target = (value - student.state["mean"]) / student.state["std"]
    elif kind == "box":
        target = corners(raw.float())
    elif kind == "tagging":  # per token: emissions, or a CRF teacher's log-marginals
        theirs = _word_slots(table)
        if theirs is None:
            theirs = torch.ones(split_output(raw, crf=own.task.crf)[0].shape[:2], dtype=torch.bool)
        scores = token_logits(raw, crf=own.task.crf, mask=theirs)
        slots = _word_slots(student_table)
        width = slots.shape[1] if slots is not None else student_table.y[student.name].shape[1]
        target = fit_width(scores, width)
        covered = fit_width(theirs, width)
        if slots is not None:
            covered = covered & slots
    else:
        target = raw
    return TeacherOutput(raw, target.float(), covered)


def pack_table(table: EncodedTable, outputs: dict[str, TeacherOutput]) -> EncodedTable:
    """``table`` with each taught task's target packed with its teacher's output and its mask
    set to the rows the teacher covers (the other tasks' labels as they were)."""
    y, mask = dict(table.y), dict(table.mask)
    for name, out in outputs.items():
        gold, labelled = table.y[name], table.mask[name]
        level = "token" if out.covered.dim() == 2 else "row"
        if level == "token":
            width = out.target.shape[1]
            gold, labelled = fit_width(gold, width), fit_width(labelled, width)
        y[name] = pack(gold, labelled, out.target, level=level)
        mask[name] = out.covered
    return dataclasses.replace(table, y=y, mask=mask)
