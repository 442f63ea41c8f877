"""Every task type distils through real models: multiclass, regression and missing labels on a
toy table; tagging (a CRF student) on tiny sentences. The student trains and the teachers'
validation scores on the student's rows match their own."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import manyheads as mh
from manyheads.distill import distill

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))
from test_tagging_cli import sentences


def _yaml(folder: Path, body: str) -> Path:
    path = folder / "cfg.yaml"
    path.write_text(body)
    return path


def test_multiclass_regression_and_rows_without_labels(
    toy_frame: pd.DataFrame, tmp_path: Path
) -> None:
    frame = toy_frame.drop(columns=["review"])
    train, valid = frame.iloc[:300].copy(), frame.iloc[300:]
    train.loc[train.index[:100], "shade"] = np.nan  # a third of the rows lack the class label
    train.to_csv(tmp_path / "train.csv", index=False)
    valid.to_csv(tmp_path / "valid.csv", index=False)
    tasks = [mh.Task("shade", type="multiclass"), mh.Task("score", type="regression")]
    inputs = {"x": "numeric", "x2": "numeric", "colour": "categorical"}
    teacher = mh.fit(
        tmp_path / "train.csv",
        tasks=tasks,
        inputs=inputs,
        valid=tmp_path / "valid.csv",
        architecture="stl",
        output=tmp_path / "teacher",
        epochs=3,
        batch_size=32,
    )
    cfg = _yaml(
        tmp_path,
        f"""
data: {{train: {tmp_path / "train.csv"}, valid: {tmp_path / "valid.csv"}}}
inputs: {{x: numeric, x2: numeric, colour: categorical}}
tasks: {{shade: {{type: multiclass}}, score: {{type: regression}}}}
model: {{architecture: mmoe}}

train: {{epochs: 10, batch_size: 32, method: uw}}
output: {tmp_path / "student"}
""",
    )
    student = distill(cfg, teachers={"shade": teacher.directory, "score": teacher.directory})
    assert student.metrics is not None
    assert student.metrics["tasks"]["shade"]["accuracy"] > 0.9  # colour decides the shade
    record = json.loads((tmp_path / "student" / "distill.json").read_text())
    own = json.loads((tmp_path / "teacher" / "metrics.json").read_text())["valid"]
    for task, metric in (("shade", "accuracy"), ("score", "rmse")):
        got = record["teachers"][task]["valid_on_student_rows"][metric]
        assert got == pytest.approx(own[task][metric], rel=1e-5)


def test_tagging_with_a_crf_student(tmp_path: Path) -> None:
    for name, n, seed in (("train", 200, 0), ("valid", 40, 1)):
        rows = sentences(n, seed)
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    body = f"""
data: {{train: {tmp_path / "train.jsonl"}, valid: {tmp_path / "valid.jsonl"}}}
inputs: {{tokens: tokens}}
tasks: {{pos: {{type: tagging}}, ner: {{type: tagging, scheme: bio, crf: CRF}}}}
model:
  architecture: ARCH
  encoder: bilstm
  encoder_options: {{hidden: 16, embedding_dim: 16, min_count: 1}}
train: {{epochs: 3, batch_size: 16, lr: 0.01}}
output: {tmp_path}/OUT
"""
    teacher_cfg = _yaml(tmp_path, body.replace("ARCH", "stl").replace("CRF", "false"))
    teacher = mh.train_config(mh.load_config(teacher_cfg, ["output=" + str(tmp_path / "t")]))
    assert teacher.metrics is not None
    cfg = _yaml(tmp_path, body.replace("ARCH", "hps").replace("CRF", "true"))
    student = distill(
        cfg,
        overrides=["output=" + str(tmp_path / "s")],
        teachers={"pos": teacher, "ner": teacher},
        temperature=2.0,
    )
    assert student.metrics is not None
    assert student.metrics["tasks"]["pos"]["accuracy"] > 0.8
    record = json.loads((tmp_path / "s" / "distill.json").read_text())
    assert record["teachers"]["pos"]["valid_on_student_rows"]["accuracy"] == pytest.approx(
        teacher.metrics["valid"]["pos"]["accuracy"]
    )
