"""Catalogue, cases a new user hit after issue 15: close variants of the listed mistakes.

Each case runs in a user's project folder (a config, its data, an unrelated ``src/``) and
asserts exit 2, no traceback, the place named, nothing written that looks finished, no data read
before the refusal, and every file of the project kept byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.catalogue._harness import (
    PROJECT_CONFIG,
    Run,
    assert_kept,
    assert_nothing_finished,
    assert_refused,
    snapshot,
    write_project,
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project: config, data and an unrelated ``src/``."""
    return write_project(tmp_path / "project")


@pytest.fixture(autouse=True)
def no_data_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every refusal here comes before any data or model is read."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("data was read before the refusal")

    monkeypatch.setattr("manyheads.workflow._fit.load_splits", refuse)
    monkeypatch.setattr("manyheads.workflow._compare.load_splits", refuse)
    monkeypatch.setattr("manyheads.workflow._splits.load_splits", refuse)


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        pytest.param(
            ["train", "cfg.yaml", "output=~/runs/r"],
            ["'~/runs/r'", "'~'"],
            id="train-output-tilde-not-expanded",
        ),
        pytest.param(
            ["compare", "cfg.yaml", "-o", "~", "--seeds", "1"],
            ["'~'", "full path"],
            id="compare-output-tilde-quoted",
        ),
        pytest.param(
            ["predict", "runs/r", "data/train.csv", "-o", "~/p.csv"],
            ["'~/p.csv'", "-o"],
            id="predict-output-tilde",
        ),
        pytest.param(
            ["predict", "runs/r", "data/train.csv", "-o", "./data/train.csv", "--overwrite"],
            ["./data/train.csv", "input file itself"],
            id="predict-over-its-input-with-overwrite",
        ),
        pytest.param(
            ["train", "cfg.yaml", "output=runs/new", "--resume"],
            ["Nothing to resume", "'runs/new'", "Drop --resume"],
            id="train-resume-with-nothing-to-resume-before-the-data-loads",
        ),
        pytest.param(
            ["analyze", "cfg.yaml"],
            ["cfg.yaml", "not a manyheads model"],
            id="analyze-a-config-instead-of-a-run",
        ),
        pytest.param(
            ["predict", "runs/typo", "data/train.csv", "-o", "p.csv"],
            ["runs/typo", "no such run directory or model bundle"],
            id="predict-with-a-run-that-does-not-exist",
        ),
        pytest.param(
            ["compare", "cfg.yaml", "-o", "cmp", "--seeds", "1", "--resume"],
            ["Nothing to resume", "'cmp'", "Drop --resume"],
            id="compare-resume-with-nothing-to-resume",
        ),
        pytest.param(
            ["compare", "cfg.yaml", "-o", "cmp", "--seeds", "1", "--methods", "ew,nope"],
            ["'nope'", "Valid names"],
            id="compare-unknown-method-after-a-valid-one",
        ),
        pytest.param(
            [
                "compare",
                "cfg.yaml",
                "-o",
                "cmp",
                "--seeds",
                "1",
                "--methods",
                "ew,cagrad",
                "train.method=cagrad",
                "train.method_options.c=0.4",
            ],
            ["--methods ew", "train.method_options.c"],
            id="compare-method-option-another-method-lacks",
        ),
    ],
)
def test_new_user_refused(run: Run, project: Path, argv: list[str], names: list[str]) -> None:
    before = snapshot(project)
    outcome = run(*argv, cwd=project)
    assert_refused(outcome, *names)
    assert_kept(before, project)
    assert not (project / "~").exists()
    for folder in ("runs/r", "cmp"):
        assert_nothing_finished(project / folder)
    assert set(snapshot(project)) == set(before), "a file was added"


def _finished_run(root: Path) -> None:
    """Stand-ins of a finished run at ``runs/r`` and a comparison at ``cmp`` (the refusals come
    before either is read)."""
    run_dir = root / "runs" / "r"
    run_dir.mkdir(parents=True)
    (run_dir / ".manyheads-run").write_text('{"tool": "manyheads", "kind": "run"}')
    for name in ("metrics.json", "model.json", "config.yaml"):
        (run_dir / name).write_text("{}\n")
    (root / "cmp").mkdir()
    (root / "cmp" / ".manyheads-compare").write_text('{"tool": "manyheads", "kind": "compare"}')
    (root / "cmp" / "report.md").write_text("# a comparison\n")


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        pytest.param(
            ["compare", "cfg.yaml", "-o", "runs/r", "--seeds", "1", "--overwrite"],
            ["'runs/r'", "holds a manyheads run, not a comparison"],
            id="compare-output-is-a-run-with-overwrite",
        ),
        pytest.param(
            ["train", "cfg.yaml", "output=cmp", "--overwrite"],
            ["'cmp'", "holds a manyheads comparison, not a run"],
            id="train-output-is-a-comparison-with-overwrite",
        ),
        pytest.param(
            ["eval", "runs/r", "data/train.csv", "-o", "m.XLSX"],
            ["m.XLSX", ".json"],
            id="eval-output-not-json",
        ),
        pytest.param(
            ["eval", "runs/r", "data/train.csv", "-o", "runs/r/metrics.json", "--overwrite"],
            ["runs/r/metrics.json", "eval reads"],
            id="eval-output-over-the-runs-metrics-with-overwrite",
        ),
        pytest.param(
            ["eval", "runs/r/", "data/train.csv", "-o", "runs/r/./model.json", "--overwrite"],
            ["runs/r/./model.json", "eval reads"],
            id="eval-output-over-the-model-spelled-differently",
        ),
    ],
)
def test_new_user_refused_in_a_run(
    run: Run, project: Path, argv: list[str], names: list[str]
) -> None:
    _finished_run(project)
    before = snapshot(project)
    outcome = run(*argv, cwd=project)
    assert_refused(outcome, *names)
    assert_kept(before, project)
    assert set(snapshot(project)) == set(before), "a file was added"


def test_compare_with_a_metric_undefined_on_the_test_split(
    run: Run, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AUC of a test split with one class is undefined (NaN, null in metrics.json): the
    comparison reports it as nan (a traceback in the plot before), also when resumed (a
    traceback reading the kept variants' null before)."""
    monkeypatch.undo()  # this case trains: the data is read
    (project / "cfg.yaml").write_text(
        PROJECT_CONFIG.replace(
            "{train: data/train.csv}", "{train: data/train.csv, test: data/test.csv}"
        )
    )
    pd.DataFrame({"x": [0.1, -0.3, 0.5, 0.7], "y": [1, 1, 1, 1]}).to_csv(
        project / "data" / "test.csv", index=False
    )
    before = snapshot(project)
    argv = ["compare", "cfg.yaml", "-o", "cmp", "--seeds", "1", "--architectures", "hps"]
    for extra in ((), ("--resume",)):
        outcome = run(*argv, "--methods", "ew", "--quiet", *extra, cwd=project)
        assert "Traceback" not in outcome.stderr, outcome.stderr
        assert outcome.code == 0, outcome.stderr
        assert "nan" in outcome.stdout
        for name in ("comparison.json", "report.md", "report.html"):
            assert (project / "cmp" / name).is_file()
    assert_kept(before, project)


def test_predict_keep_a_column_named_as_a_task_or_twice(
    run: Run, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--keep y`` (the label column, named as the task's prediction) was a pandas traceback
    ("cannot insert y, already exists"), and so was ``--keep x x``."""
    monkeypatch.undo()  # this case trains: the data is read
    assert run("train", "cfg.yaml", "--quiet", cwd=project).code == 0
    before = snapshot(project)
    outcome = run("predict", "runs/r", "data/train.csv", "-o", "p.csv", "--keep", "y", cwd=project)
    assert_refused(outcome, "data/train.csv", "--keep", "'y'", "prediction column")
    assert not (project / "p.csv").exists()
    assert_kept(before, project)
    outcome = run(
        "predict", "runs/r", "data/train.csv", "-o", "p.csv", "--keep", "x", "x", cwd=project
    )
    assert outcome.code == 0, outcome.stderr
    assert list(pd.read_csv(project / "p.csv").columns)[:2] == ["x", "y"]


def test_analyze_data_without_labels_of_a_task(
    run: Run, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``analyze --data`` on rows without a task's labels printed nan relations and exited 0."""
    monkeypatch.undo()  # this case trains: the data is read
    assert run("train", "cfg.yaml", "--quiet", cwd=project).code == 0
    pd.DataFrame({"x": [0.1, -0.2, 0.3], "y": [None, None, None]}).to_csv(
        project / "unlabelled.csv", index=False
    )
    before = snapshot(project)
    outcome = run("analyze", "runs/r", "--data", "unlabelled.csv", cwd=project)
    assert_refused(outcome, "unlabelled.csv", "no labelled rows", "y")
    assert not (project / "runs" / "r" / "task_relations.json").exists()
    assert_kept(before, project)


def test_eval_data_whose_label_columns_are_empty(
    run: Run, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``eval`` on rows whose label column is present but empty exited 0 with null metrics."""
    monkeypatch.undo()  # this case trains: the data is read
    assert run("train", "cfg.yaml", "--quiet", cwd=project).code == 0
    pd.DataFrame({"x": [0.1, -0.2, 0.3], "y": [None, None, None]}).to_csv(
        project / "unlabelled.csv", index=False
    )
    before = snapshot(project)
    outcome = run("eval", "runs/r", "unlabelled.csv", cwd=project)
    assert_refused(outcome, "unlabelled.csv", "no row has a label", "manyheads predict")
    assert not (project / "runs" / "r" / "eval-unlabelled.json").exists()
    assert_kept(before, project)
