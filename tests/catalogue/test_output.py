"""Catalogue, output group: where ``train`` and ``compare`` may write (and what they may remove).

Every case runs in a user's project folder (a config, a data folder, an unrelated ``src/``, a
folder of the user's own data) and asserts exit 2, no traceback, the place named, no file added,
removed or changed anywhere in the project, and that no data was read before the refusal.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.catalogue._harness import (
    PROJECT_CONFIG,
    Run,
    assert_kept,
    assert_nothing_finished,
    assert_refused,
    snapshot,
    toy_rows,
    write_project,
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project: config, data, an unrelated ``src/``, and ``mydata/`` of their own."""
    root = write_project(tmp_path / "project")
    (root / "mydata").mkdir()
    (root / "mydata" / "survey.csv").write_text("id,answer\n1,yes\n2,no\n")
    (root / "mydata" / "notes.md").write_text("# my notes\n")
    (root / "notes.txt").write_text("not a folder\n")
    return root


@pytest.fixture(autouse=True)
def no_data_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refusal comes before any data is read: reading data here fails the test."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("data was read before the output folder was checked")

    monkeypatch.setattr("manyheads.workflow._fit.load_splits", refuse)
    monkeypatch.setattr("manyheads.workflow._compare.load_splits", refuse)


def _marked(folder: Path, *files: str) -> None:
    """Make ``folder`` look like a run manyheads wrote (marker + the named run files)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".manyheads-run").write_text(json.dumps({"tool": "manyheads", "kind": "run"}))
    for name in files:
        (folder / name).write_text("{}")


# each case: project -> (cwd, argv, names the message must hold, folder that must not look done)
Case = Callable[[Path], tuple[Path, list[str], list[str], Path]]


def _train(*extra: str, names: tuple[str, ...] = ("output",), out: str = "runs/r") -> Case:
    def make(root: Path) -> tuple[Path, list[str], list[str], Path]:
        return root, ["train", "cfg.yaml", *extra], list(names), root / out

    return make


def _with(setup: Callable[[Path], None], case: Case) -> Case:
    def make(root: Path) -> tuple[Path, list[str], list[str], Path]:
        setup(root)
        return case(root)

    return make


def _from_src(*extra: str) -> Case:
    def make(root: Path) -> tuple[Path, list[str], list[str], Path]:
        return root / "src", ["train", "../cfg.yaml", *extra], ["output", "working directory"], root

    return make


def _absolute_cwd(root: Path) -> tuple[Path, list[str], list[str], Path]:
    return root, ["train", "cfg.yaml", f"output={root}", "--overwrite"], ["working directory"], root


def _link_to_cwd(root: Path) -> tuple[Path, list[str], list[str], Path]:
    other = root.parent / "elsewhere"
    other.mkdir()
    (other / "link").symlink_to(root, target_is_directory=True)
    argv = ["train", "cfg.yaml", "output=../elsewhere/link", "--overwrite"]
    return root, argv, ["../elsewhere/link", "working directory"], root


def _config_in(folder: str, *, marked: bool) -> Case:
    def make(root: Path) -> tuple[Path, list[str], list[str], Path]:
        if marked:
            _marked(root / folder, "metrics.json")
        else:
            (root / folder).mkdir(exist_ok=True)
        (root / folder / "cfg.yaml").write_text(PROJECT_CONFIG)
        argv = ["train", f"{folder}/cfg.yaml", f"output={folder}", "--overwrite"]
        return root, argv, [f"{folder}/cfg.yaml", "reads"], root / folder

    return make


def _data_config(data: str, output: str) -> Case:
    def make(root: Path) -> tuple[Path, list[str], list[str], Path]:
        (root / "cfg2.yaml").write_text(
            PROJECT_CONFIG.replace("data: {train: data/train.csv}", data)
        )
        argv = ["train", "cfg2.yaml", f"output={output}", "--overwrite"]
        return root, argv, [output, "reads"], root / output

    return make


def _data_beside_config(root: Path) -> tuple[Path, list[str], list[str], Path]:
    (root / "sub" / "d").mkdir(parents=True)
    toy_rows().to_csv(root / "sub" / "d" / "train.csv", index=False)
    (root / "sub" / "cfg.yaml").write_text(PROJECT_CONFIG.replace("data/train.csv", "d/train.csv"))
    argv = ["train", "sub/cfg.yaml", "output=sub/d", "--overwrite"]
    return root, argv, ["sub/d", "train.csv", "reads"], root / "sub" / "d"


def _empty_output(root: Path) -> tuple[Path, list[str], list[str], Path]:
    (root / "cfg2.yaml").write_text(PROJECT_CONFIG.replace("output: runs/r", 'output: ""'))
    return root, ["train", "cfg2.yaml"], ["'output'", "empty"], root


def _compare(*extra: str, names: tuple[str, ...], out: str) -> Case:
    def make(root: Path) -> tuple[Path, list[str], list[str], Path]:
        argv = ["compare", "cfg.yaml", "--architectures", "hps", "--methods", "ew"]
        return root, [*argv, "--seeds", "1", *extra], list(names), root / out

    return make


CASES = [
    # the data-loss bug: output=. --overwrite deleted config, data and src/
    pytest.param(
        _train("output=.", "--overwrite", names=("'.'", "working directory")),
        id="output-dot-overwrite-deletes-project",
    ),
    pytest.param(_train("output=.", names=("'.'", "working directory")), id="output-dot"),
    pytest.param(_train("output=./", "--overwrite", names=("working directory",)), id="dot-slash"),
    pytest.param(_from_src("output=..", "--overwrite"), id="output-parent-of-cwd"),
    pytest.param(_from_src("output=../..", "--overwrite"), id="output-grandparent-of-cwd"),
    pytest.param(_train("output=/", "--overwrite", names=("'/'", "working directory")), id="root"),
    pytest.param(_absolute_cwd, id="output-absolute-path-of-cwd"),
    pytest.param(_link_to_cwd, id="output-symlink-to-cwd"),
    # the second data-loss bug: output=mydata --overwrite replaced a folder of user data
    pytest.param(
        _train("output=mydata", "--overwrite", names=("mydata", ".manyheads-run"), out="mydata"),
        id="output-user-folder-overwrite",
    ),
    pytest.param(
        _train("output=mydata", names=("mydata", "survey.csv"), out="mydata"),
        id="output-user-folder-no-overwrite",
    ),
    pytest.param(
        _train("output=src", "--overwrite", names=("'src'", "no .manyheads-run"), out="src"),
        id="output-source-code-folder",
    ),
    pytest.param(_config_in("conf", marked=False), id="output-holds-the-config"),
    pytest.param(_config_in("oldrun", marked=True), id="marked-run-holds-the-config"),
    pytest.param(
        _train("output=data", "--overwrite", names=("data/train.csv", "reads"), out="data"),
        id="output-holds-the-training-data",
    ),
    pytest.param(
        _with(
            lambda r: _marked(r / "runs" / "old", "metrics.json"),
            _data_config("data: {train: runs/old/train.csv}", "runs/old"),
        ),
        id="marked-run-holds-the-data",
    ),
    pytest.param(_data_beside_config, id="output-holds-data-relative-to-the-config"),
    pytest.param(
        _data_config("data: {train: data/train.csv, test: held/test.csv}", "held"),
        id="output-holds-the-test-file",
    ),
    pytest.param(
        _data_config("data: {sources: [{train: shared/a.csv, tasks: [y]}]}", "shared"),
        id="output-holds-a-source-file",
    ),
    pytest.param(
        _data_config("data: {train: 'sqlite:///store/crawl.db'}", "store"),
        id="output-holds-the-crawl-store",
    ),
    pytest.param(
        _train("output=notes.txt", "--overwrite", names=("notes.txt", "existing file")),
        id="output-is-an-existing-file",
    ),
    pytest.param(
        _train("output=notes.txt/run", names=("notes.txt/run", "a file, not a folder")),
        id="output-below-a-file",
    ),
    pytest.param(
        _train("output=/proc/manyheads-run", names=("/proc/manyheads-run", "not writable")),
        id="output-not-writable",
    ),
    pytest.param(_empty_output, id="output-empty-string"),
    pytest.param(_train("output=", names=("'output'", "empty")), id="output-null"),
    pytest.param(
        _with(
            lambda r: _marked(r / "runs" / "r", "metrics.json", "model.json"),
            _train(names=("runs/r", "finished run", "--overwrite"), out="none"),
        ),
        id="finished-run-without-overwrite",
    ),
    pytest.param(
        _with(
            lambda r: _marked(r / "runs" / "r", "checkpoint.json"),
            _train(names=("runs/r", "unfinished run", "--resume")),
        ),
        id="unfinished-run-without-resume",
    ),
    pytest.param(
        _compare("-o", ".", names=("'.'", "working directory"), out="none"),
        id="compare-output-dot",
    ),
    pytest.param(
        _compare("-o", "mydata", "--overwrite", names=("mydata", ".manyheads-compare"), out="none"),
        id="compare-output-user-folder",
    ),
    pytest.param(
        _compare("-o", "data", "--overwrite", names=("data/train.csv",), out="none"),
        id="compare-output-holds-the-data",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_output_refused(run: Run, project: Path, case: Case) -> None:
    before = snapshot(project.parent)
    cwd, argv, names, out = case(project)
    setup = snapshot(project.parent)
    fresh = not out.exists()
    outcome = run(*argv, cwd=cwd)
    assert_refused(outcome, *names)
    assert_kept(before, project.parent)
    assert snapshot(project.parent) == setup  # nothing added either
    if fresh:
        assert_nothing_finished(out)
        assert not out.exists()
