"""Catalogue: ``--resume`` refuses what it cannot continue (issue 15, section 2).

Each case starts from a run interrupted after its first epoch (a checkpoint, no metrics), or a
comparison interrupted midway, changes one thing and resumes: exit 2, no traceback, the changed
key (or the folder) named with its old and new value, the user's files and the run's files kept
byte for byte (``config.yaml`` is not rewritten), and nothing that looks finished.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.catalogue._harness import (
    Run,
    assert_kept,
    assert_nothing_finished,
    assert_refused,
    snapshot,
)

CONFIG = """\
data: {train: toy.csv}
tasks: {y: {type: binary}, z: {type: regression}}
model: {architecture: hps, hidden: [8], dropout: 0.0}
train: {epochs: 3, batch_size: 32, seed: 0}
output: run
"""


def toy_csv(path: Path, n: int = 120, seed: int = 0) -> None:
    """A small table: a number, a category, a binary and a regression label."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n).round(4)
    frame = pd.DataFrame({"x": x, "c": rng.choice(["a", "b", "c"], size=n)})
    frame["y"] = (x > 0).astype(int)
    frame["z"] = (2.0 * x + 1.0).round(4)
    frame.to_csv(path, index=False)


def interrupt_after(epochs: int, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Make the next training stop with Ctrl-C after ``epochs`` epochs; returns the undo."""
    from manyheads.engine import trainer

    original = trainer.train_one_epoch
    calls = {"n": 0}

    def dying(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] > epochs:
            raise KeyboardInterrupt
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(trainer, "train_one_epoch", dying)
    return lambda: monkeypatch.setattr(trainer, "train_one_epoch", original)


@pytest.fixture(scope="module")
def interrupted_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``cfg.yaml``, ``toy.csv`` and ``run/`` interrupted after epoch 1."""
    from tests.catalogue._harness import call_cli

    root = tmp_path_factory.mktemp("interrupted")
    toy_csv(root / "toy.csv")
    (root / "cfg.yaml").write_text(CONFIG)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        interrupt_after(1, mp)
        outcome = call_cli(["train", "cfg.yaml", "--quiet"], _NoCapture())
    assert outcome.code == 130, outcome.stderr
    assert (root / "run" / "checkpoint.json").exists()
    return root


class _NoCapture:
    """Stands in for ``capsys`` in a module-scoped fixture (output is not checked there)."""

    def readouterr(self) -> _Captured:
        return _Captured()


class _Captured:
    out = ""
    err = ""


@pytest.fixture
def interrupted(interrupted_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the interrupted run, with a user's own file beside it."""
    shutil.copytree(interrupted_template, tmp_path, dirs_exist_ok=True)
    (tmp_path / "notes.txt").write_text("my notes")
    return tmp_path


def _edit_config(old: str, new: str) -> Callable[[Path], list[str]]:
    def edit(root: Path) -> list[str]:
        text = (root / "cfg.yaml").read_text()
        assert old in text
        (root / "cfg.yaml").write_text(text.replace(old, new))
        return []

    return edit


def _override(*pairs: str) -> Callable[[Path], list[str]]:
    return lambda _root: list(pairs)


def _append_rows(root: Path) -> list[str]:
    frame = pd.read_csv(root / "toy.csv")
    pd.concat([frame, frame.head(5)]).to_csv(root / "toy.csv", index=False)
    return []


def _edit_cell(root: Path) -> list[str]:
    frame = pd.read_csv(root / "toy.csv")
    frame.loc[3, "c"] = "b" if frame.loc[3, "c"] != "b" else "a"
    frame.to_csv(root / "toy.csv", index=False)
    return []


def _new_label(root: Path) -> list[str]:
    frame = pd.read_csv(root / "toy.csv")
    frame["c"] = frame["c"].replace({"c": "d"})
    frame.to_csv(root / "toy.csv", index=False)
    return []


#: (change, names the message must hold)
CHANGED = [
    pytest.param(_override("train.lr=0.01"), ["train.lr", "0.001 → 0.01"], id="lr-changed"),
    pytest.param(
        _override("train.batch_size=16"), ["train.batch_size", "32 → 16"], id="batch-size-changed"
    ),
    pytest.param(
        _override("train.epochs=2"), ["train.epochs", "3 → 2", "may grow"], id="epochs-shrunk"
    ),
    pytest.param(
        _edit_config("architecture: hps", "architecture: mmoe"),
        ["model.architecture", '"hps" → "mmoe"'],
        id="architecture-changed",
    ),
    pytest.param(
        _edit_config("hidden: [8]", "hidden: [16]"),
        ["model.hidden", "[8] → [16]"],
        id="hidden-size-changed",
    ),
    pytest.param(
        _edit_config("dropout: 0.0", "dropout: 0.2"), ["model.dropout"], id="dropout-changed"
    ),
    pytest.param(_override("train.seed=1"), ["train.seed", "0 → 1"], id="seed-changed"),
    pytest.param(
        _override("train.optimizer=sgd"), ["train.optimizer", '"adamw" → "sgd"'], id="optimizer"
    ),
    pytest.param(_override("train.schedule=cosine"), ["train.schedule"], id="schedule-changed"),
    pytest.param(_override("train.method=uw"), ["train.method"], id="method-changed"),
    pytest.param(
        _edit_config("z: {type: regression}}", "}"), ["tasks.z"], id="task-removed-from-config"
    ),
    pytest.param(
        _edit_config("train: {", "inputs: {x: numeric}\ntrain: {"),
        ["inputs.c", "(absent)"],
        id="inputs-narrowed",
    ),
    pytest.param(_append_rows, ["data (", "toy.csv"], id="data-rows-appended"),
    pytest.param(_edit_cell, ["data (", "toy.csv"], id="data-cell-edited"),
    pytest.param(_new_label, ["encodings.inputs.categorical", "toy.csv"], id="data-new-category"),
]


@pytest.mark.parametrize(("change", "names"), CHANGED)
def test_a_changed_run_is_not_resumed(
    run: Run, interrupted: Path, change: Callable[[Path], list[str]], names: list[str]
) -> None:
    overrides = change(interrupted)
    before = snapshot(interrupted)
    outcome = run("train", "cfg.yaml", *overrides, "--resume", "--quiet", cwd=interrupted)
    assert_refused(outcome, "Cannot resume the run in 'run'", *names)
    assert_kept(before, interrupted)
    assert_nothing_finished(interrupted / "run")


def test_a_resume_without_a_checkpoint_is_refused(run: Run, interrupted: Path) -> None:
    (interrupted / "run" / "checkpoint.json").unlink()
    before = snapshot(interrupted)
    outcome = run("train", "cfg.yaml", "--resume", "--quiet", cwd=interrupted)
    assert_refused(outcome, "Nothing to resume in 'run'", "checkpoint.json")
    assert_kept(before, interrupted)
    assert_nothing_finished(interrupted / "run")


def test_a_resume_of_a_missing_folder_is_refused(run: Run, tmp_path: Path) -> None:
    toy_csv(tmp_path / "toy.csv")
    (tmp_path / "cfg.yaml").write_text(CONFIG)
    before = snapshot(tmp_path)
    outcome = run("train", "cfg.yaml", "--resume", "--quiet", cwd=tmp_path)
    assert_refused(outcome, "Nothing to resume in 'run'")
    assert_kept(before, tmp_path)
    assert_nothing_finished(tmp_path / "run")


def test_a_resume_of_a_finished_run_is_refused(run: Run, interrupted: Path) -> None:
    assert run("train", "cfg.yaml", "--resume", "--quiet", cwd=interrupted).code == 0
    before = snapshot(interrupted)
    outcome = run("train", "cfg.yaml", "--resume", "--quiet", cwd=interrupted)
    assert_refused(outcome, "Nothing to resume in 'run'", "has finished", "metrics.json")
    assert_kept(before, interrupted)


def test_resume_and_overwrite_together_are_refused(run: Run, interrupted: Path) -> None:
    before = snapshot(interrupted)
    outcome = run("train", "cfg.yaml", "--resume", "--overwrite", "--quiet", cwd=interrupted)
    assert_refused(outcome, "--resume and --overwrite exclude each other", "'run'")
    assert_kept(before, interrupted)
    assert_nothing_finished(interrupted / "run")


# -- compare ---------------------------------------------------------------------------------
COMPARE = ("compare", "cfg.yaml", "--architectures", "stl,hps", "--seeds", "1", "--quiet")


@pytest.fixture(scope="module")
def compare_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A comparison (stl, hps; one seed; 3 epochs) interrupted in hps's second epoch."""
    from tests.catalogue._harness import call_cli

    root = tmp_path_factory.mktemp("compare")
    toy_csv(root / "toy.csv")
    (root / "cfg.yaml").write_text(CONFIG)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        interrupt_after(4, mp)  # stl: 3 epochs, hps: 1
        outcome = call_cli(list(COMPARE), _NoCapture())
    assert outcome.code == 130, outcome.stderr
    assert (root / "run" / "stl-ew-seed0" / "metrics.json").exists()
    assert (root / "run" / "hps-ew-seed0" / "checkpoint.json").exists()
    return root


@pytest.fixture
def compare_interrupted(compare_template: Path, tmp_path: Path) -> Path:
    shutil.copytree(compare_template, tmp_path, dirs_exist_ok=True)
    return tmp_path


@pytest.mark.parametrize(
    ("extra", "names"),
    [
        pytest.param(
            (),
            ["'run' already holds 2 variant run(s)", "stl-ew-seed0 (finished)", "--resume"],
            id="compare-existing-folder-without-resume",
        ),
        pytest.param(
            ("--resume", "--overwrite"),
            ["--resume and --overwrite exclude each other"],
            id="compare-resume-and-overwrite",
        ),
        pytest.param(
            ("--resume", "train.lr=0.01"),
            ["Cannot keep the finished variant", "stl-ew-seed0", "train.lr", "0.001 → 0.01"],
            id="compare-resume-with-changed-lr",
        ),
        pytest.param(
            ("--resume", "train.epochs=4"),
            ["Cannot keep the finished variant", "train.epochs", "3 → 4"],
            id="compare-resume-with-more-epochs",
        ),
    ],
)
def test_a_comparison_is_not_continued_blindly(
    run: Run, compare_interrupted: Path, extra: tuple[str, ...], names: list[str]
) -> None:
    before = snapshot(compare_interrupted)
    outcome = run(*COMPARE, *extra, cwd=compare_interrupted)
    assert_refused(outcome, *names)
    assert_kept(before, compare_interrupted)
    assert not (compare_interrupted / "run" / "comparison.json").exists()
    assert_nothing_finished(compare_interrupted / "run" / "hps-ew-seed0")
