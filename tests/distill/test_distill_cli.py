"""``manyheads distill`` end to end on census rows, and its refusals (exact messages)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

import manyheads as mh
from manyheads.cli.main import main
from manyheads.distill import distill
from manyheads.distill._teachers import load_teachers

INPUTS = {"age": "numeric", "weeks_worked": "numeric", "sex": "categorical"}
SMALL = {"architecture": "stl", "model_options": {"hidden": [8], "tower": []}}


def _config(folder: Path, files: dict[str, Path], output: str = "student") -> Path:
    cfg = folder / "student.yaml"
    cfg.write_text(
        f"""
data: {{train: {files["train"]}, valid: {files["valid"]}}}
inputs: {{age: numeric, weeks_worked: numeric, sex: categorical, class_worker: categorical}}
tasks: {{income: {{type: binary}}, never_married: {{type: binary}}}}
model: {{architecture: hps, hidden: [16], tower: [8]}}
train: {{epochs: 2, batch_size: 128, seed: 0}}
output: {folder / output}
"""
    )
    return cfg


@pytest.fixture
def small_files(census_sample: pd.DataFrame, tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, rows in (("train", 1000), ("valid", 300)):
        frame = census_sample[census_sample.split == name].head(rows).drop(columns=["split"])
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


def _teacher(
    files: dict[str, Path], out: Path, task: mh.Task, labels: dict[int, str] | None = None
) -> Path:
    """A one-epoch stl teacher of ``task``; ``labels`` renames the task's classes."""
    train, valid = pd.read_csv(files["train"]), pd.read_csv(files["valid"])
    if labels is not None:
        for frame in (train, valid):
            frame[task.name] = frame[task.name].map(labels)
    mh.fit(
        train,
        tasks=[task],
        inputs=INPUTS,
        valid=valid,
        output=out,
        epochs=1,
        batch_size=128,
        **SMALL,  # type: ignore[arg-type]
    )
    return out


@pytest.mark.slow
def test_distill_cli_two_stl_teachers(
    cli: object, census_files: dict[str, Path], tmp_path: Path
) -> None:
    """Two single-task stl runs of 1 epoch (`manyheads train`) teach an hps student."""
    for task in ("income", "never_married"):
        (tmp_path / f"{task}.yaml").write_text(
            f"""
data: {{train: {census_files["train"]}, valid: {census_files["valid"]}}}
inputs: {{age: numeric, weeks_worked: numeric, sex: categorical}}
tasks: {{{task}: {{type: binary}}}}
model: {{architecture: stl, hidden: [16], tower: [8]}}
train: {{epochs: 1, batch_size: 128, seed: 0}}
output: {tmp_path / task}
"""
        )
        done = cli("train", str(tmp_path / f"{task}.yaml"), "--quiet", cwd=tmp_path)  # type: ignore[operator]
        assert done.returncode == 0, done.stderr
    cfg = _config(tmp_path, census_files)
    done = cli(  # type: ignore[operator]
        "distill",
        str(cfg),
        "--teacher",
        f"income={tmp_path / 'income'}",
        "--teacher",
        f"never_married={tmp_path / 'never_married'}",
        "--temperature",
        "2",
        "--quiet",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert set(summary["tasks"]) == {"income", "never_married"}
    student = tmp_path / "student"
    record = json.loads((student / "distill.json").read_text())
    for task in ("income", "never_married"):
        entry = record["teachers"][task]
        assert entry["path"] == str(tmp_path / task)
        weights = (tmp_path / task / "model.safetensors").read_bytes()
        assert entry["weights_sha256"] == hashlib.sha256(weights).hexdigest()
        # the teacher scored on the student's validation rows: the same rows it was scored on
        own = json.loads((tmp_path / task / "metrics.json").read_text())["valid"][task]
        assert entry["valid_on_student_rows"]["auc"] == pytest.approx(own["auc"], rel=1e-9)
    # 3000 rows in batches of 128: 24 steps per epoch, 2 epochs
    assert record["annealing"]["total_steps"] == 48
    assert record["annealing"]["temperature"] == 2.0
    assert (student / "metrics.json").is_file()
    predicted = mh.load(student).predict(census_files["valid"])
    assert {"income", "income_proba", "never_married"} <= set(predicted.columns)


def test_from_compare_takes_the_stl_run(
    small_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stl = tmp_path / "cmp" / "stl-ew-seed0"
    mh.fit(
        small_files["train"],
        tasks=[mh.Task("income", type="binary"), mh.Task("never_married", type="binary")],
        inputs=INPUTS,
        valid=small_files["valid"],
        output=stl,
        epochs=1,
        batch_size=256,
        **SMALL,  # type: ignore[arg-type]
    )
    cfg = _config(tmp_path, small_files)
    code = main(["distill", str(cfg), "--from-compare", str(tmp_path / "cmp"), "--quiet"])
    assert code == 0, capsys.readouterr().err
    record = json.loads((tmp_path / "student" / "distill.json").read_text())
    assert {t: e["path"] for t, e in record["teachers"].items()} == {
        "income": str(stl),
        "never_married": str(stl),
    }
    # the stl run is loaded once for both tasks
    income, married = load_teachers({"income": stl, "never_married": stl})
    assert (income.task, married.task) == ("income", "never_married")
    assert income.run is married.run


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_refusals_name_the_teacher_and_task(
    small_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    income = _teacher(small_files, tmp_path / "t_income", mh.Task("income", type="binary"))
    multi = _teacher(small_files, tmp_path / "t_multi", mh.Task("never_married", type="multiclass"))
    other = _teacher(
        small_files,
        tmp_path / "t_other",
        mh.Task("income", type="binary"),
        labels={0: "low", 1: "high"},
    )
    cfg = str(_config(tmp_path, small_files))
    head = "manyheads distill: error: 1 problem in the configuration:\n  - "

    err = _refused(["distill", cfg, "--teacher", f"incme={income}", "--quiet"], capsys)
    assert err == (
        f"{head}teacher '{income}' for task 'incme': the student config has no task 'incme'. "
        "Did you mean 'income'? Its tasks: income, never_married.\n"
    )
    err = _refused(["distill", cfg, "--teacher", f"never_married={income}", "--quiet"], capsys)
    assert err == (
        f"{head}teacher '{income}' for task 'never_married': the teacher run has no task "
        "'never_married' (its tasks: income). Pass a run trained on it.\n"
    )
    err = _refused(["distill", cfg, "--teacher", f"never_married={multi}", "--quiet"], capsys)
    assert err == (
        f"{head}teacher '{multi}' for task 'never_married': the teacher's task is multiclass, "
        "the student's is binary. A teacher must have the student's task type.\n"
    )
    err = _refused(["distill", cfg, "--teacher", f"income={other}", "--quiet"], capsys)
    assert err == (
        f"{head}teacher '{other}' for task 'income': its classes ['high', 'low'] differ from "
        "the student's ['0', '1'] (learnt from the student's training rows). Train the teacher "
        "on the same labels.\n"
    )
    assert not (tmp_path / "student" / "metrics.json").exists()
    assert not (tmp_path / "student" / "distill.json").exists()
    err = _refused(["distill", cfg, "--quiet"], capsys)
    assert err == (
        f"{head}distill needs at least one teacher: pass --teacher TASK=RUN (teachers={{...}}) "
        "or --from-compare DIR (from_compare=...).\n"
    )


def test_bad_temperature_and_teacher_argument(
    small_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path, small_files)
    with pytest.raises(mh.errors.InvalidParameterError, match=r"'temperature' parameter"):
        distill(cfg, teachers={"income": "x"}, temperature=0.0)
    err = _refused(["distill", str(cfg), "--teacher", "income", "--quiet"], capsys)
    assert "--teacher takes TASK=RUN (a task name, '=', a run directory). Got 'income'." in err
