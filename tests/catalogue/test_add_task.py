"""Catalogue, add-task group: ``manyheads add-task`` refuses a bad task, data, setting, output or
architecture with exit 2, no traceback and the place at fault named; the source run and the
user's files stay byte for byte, and no output looks finished."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import manyheads as mh
from tests.catalogue._harness import (
    Run,
    assert_kept,
    assert_nothing_finished,
    assert_refused,
    snapshot,
    toy_rows,
)


def _rows(n: int = 48) -> pd.DataFrame:
    """:func:`toy_rows` with a second label ``z`` (x above 0.2)."""
    rows = toy_rows(n)
    rows["z"] = (rows.x > 0.2).map({True: "high", False: "low"})
    return rows


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny finished runs of task ``y`` on input ``x``: ``hps`` and ``cross_stitch``."""
    root = tmp_path_factory.mktemp("sources")
    for arch in ("hps", "cross_stitch"):
        mh.fit(
            toy_rows(),
            tasks=[mh.Task("y", type="binary")],
            inputs={"x": "numeric"},
            architecture=arch,
            model_options={"hidden": [4], "tower": [2]},
            epochs=1,
            batch_size=16,
            output=root / arch,
        )
    return root


@pytest.fixture
def project(tmp_path: Path, sources: Path) -> Path:
    """A user's folder: the new rows, rows without ``x`` or ``z``, a folder of their own files
    and a copy of each source run."""
    import shutil

    root = tmp_path / "project"
    root.mkdir()
    _rows().to_csv(root / "new.csv", index=False)
    _rows().drop(columns=["x"]).to_csv(root / "no_x.csv", index=False)
    _rows().drop(columns=["z"]).to_csv(root / "no_z.csv", index=False)
    (root / "mine").mkdir()
    (root / "mine" / "notes.txt").write_text("a file\n")
    for arch in ("hps", "cross_stitch"):
        shutil.copytree(sources / arch, root / arch)
    return root


def _case(command: str, *names: str, id: str) -> Any:
    return pytest.param(shlex.split(command), names, id=id)


ADD = "add-task hps --data new.csv"
CASES = [
    _case(
        f"{ADD} --task y:binary -o out",
        "The run already has a task named 'y' (its tasks: y)",
        "--task NAME:TYPE",
        id="task-exists",
    ),
    _case(f"{ADD} --task z:bogus -o out", "Unknown task type 'bogus'", id="unknown-type"),
    _case(f"{ADD} --task z -o out", "--task must look like NAME:TYPE", id="no-type"),
    _case(
        f"{ADD} --task z:binary -o out task.z.postive=high",
        "unknown key 'tasks.z.postive'",
        "positive",
        id="unknown-task-field",
    ),
    _case(
        f"{ADD} --task z:regression -o out task.z.positive=high",
        "positive",
        id="field-of-another-type",
    ),
    _case(f"{ADD} --task z:binary -o out train.epoch=2", "Did you mean 'epochs'", id="setting"),
    _case(f"{ADD} --task z:binary -o out train.lr=-1", "'lr' setting of add-task", id="lr"),
    _case(f"{ADD} --task z:binary -o out x.y=1", "train.<setting> or task.z.<field>", id="key"),
    _case(f"{ADD} --task z:binary --unfreeze some -o out", "--unfreeze", id="unfreeze"),
    _case(
        "add-task hps --data no_x.csv --task z:binary -o out",
        "no_x.csv: the input column(s) 'x' of the run are missing",
        id="missing-input-column",
    ),
    _case(
        "add-task hps --data no_z.csv --task z:binary -o out",
        "no_z.csv, column 'z': the label column 'z' of the new task 'z' is missing",
        id="missing-label-column",
    ),
    _case(f"{ADD} --task z:binary -o hps", "is the source run", id="output-is-source"),
    _case(f"{ADD} --task z:binary -o mine", "mine", id="output-user-folder"),
    _case(f"{ADD} --task z:binary -o .", "the working directory", id="output-cwd"),
    _case(
        "add-task cross_stitch --data new.csv --task z:binary -o out",
        "Cannot add task 'z' to a 'cross_stitch' model: its cross-stitch units",
        "'alphas.0' [1, 1] -> [2, 2]",
        id="cross-stitch",
    ),
    _case("add-task nowhere --data new.csv --task z:binary -o out", "nowhere", id="no-run"),
]


@pytest.mark.parametrize(("argv", "names"), CASES)
def test_add_task_refuses(argv: list[str], names: tuple[str, ...], project: Path, run: Run) -> None:
    before = snapshot(project)
    outcome = run(*argv, cwd=project)
    assert_refused(outcome, *names)
    assert_kept(before, project)
    assert not (project / "out").exists()
    assert_nothing_finished(project / "mine")
