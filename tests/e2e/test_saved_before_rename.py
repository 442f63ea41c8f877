"""Runs saved before ``train.weighting`` became ``train.method`` load, resume and compare silently;
the old names on the command line still work and warn once.

``tests/fixtures/run_0_1_weighting`` was written by the 0.1 CLI (``train: {weighting: uw}``):
``interrupted/`` stopped after its first epoch (checkpoint and fingerprint), ``finished/`` is a
one-epoch run (``model.json``, ``metrics.json``). Its data is ``toy_csv()``, rebuilt here.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest
from tests.catalogue._harness import Outcome, call_cli
from tests.catalogue.test_resume import toy_csv

import manyheads as mh

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "run_0_1_weighting"
NEW_CONFIG = (FIXTURE / "cfg.yaml").read_text().replace("weighting: uw", "method: uw")
KEY_WARNING = "'train.weighting' is deprecated and will be removed in 0.3: use 'train.method'."


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture's runs beside their data, with the user's config already renamed."""
    toy_csv(tmp_path / "toy.csv")
    shutil.copytree(FIXTURE / "interrupted", tmp_path / "run")
    shutil.copytree(FIXTURE / "finished", tmp_path / "done")
    (tmp_path / "cfg.yaml").write_text(NEW_CONFIG)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _call(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    outcome, _ = _call_warned(capsys, *argv)
    return outcome


def _call_warned(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[Outcome, list[str]]:
    """The CLI's outcome and every deprecation it printed: the CLI writes manyheads'
    ``FutureWarning`` as one ``manyheads VERB: warning: ...`` line on stderr, as a user sees it."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        outcome = call_cli(argv, capsys)
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert "FutureWarning" not in outcome.stderr, outcome.stderr
    found = (line.partition(": warning: ") for line in outcome.stderr.splitlines())
    return outcome, [text for head, sep, text in found if sep and "is deprecated" in text]


def _call_silent(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    outcome, warned = _call_warned(capsys, *argv)
    assert warned == []
    return outcome


def test_the_fixture_was_saved_with_the_old_key() -> None:
    assert "  weighting: uw\n" in (FIXTURE / "interrupted" / "config.yaml").read_text()
    meta = json.loads((FIXTURE / "interrupted" / "checkpoint.json").read_text())
    assert meta["fingerprint"]["config"]["train.weighting"] == "uw"
    assert json.loads((FIXTURE / "finished" / "metrics.json").read_text())["weighting"] == "uw"


def test_a_run_saved_with_weighting_resumes_silently(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = _call_silent(capsys, "train", "cfg.yaml", "--resume", "--quiet")
    assert outcome.code == 0, outcome.stderr
    assert pd.read_csv(folder / "run" / "history.csv")["epoch"].tolist() == [1, 2, 3]
    saved = (folder / "run" / "config.yaml").read_text()
    assert "  method: uw\n" in saved
    assert "weighting" not in saved
    assert json.loads((folder / "run" / "metrics.json").read_text())["method"] == "uw"


def test_a_resume_with_the_old_config_warns_once_and_is_not_refused(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(FIXTURE / "cfg.yaml", folder / "cfg.yaml")
    outcome, warned = _call_warned(capsys, "train", "cfg.yaml", "--resume", "--quiet")
    assert outcome.code == 0, outcome.stderr
    assert warned == [KEY_WARNING]


def test_a_resume_with_another_method_is_refused_under_the_new_key(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = _call(capsys, "train", "cfg.yaml", "train.method=dwa", "--resume", "--quiet")
    assert outcome.code == 2
    assert 'train.method: "uw" → "dwa"' in outcome.stderr


def test_a_finished_run_loads_silently_with_its_metrics_renamed(folder: Path) -> None:
    run = mh.load(folder / "done")
    assert run.metrics is not None
    assert run.metrics["method"] == "uw"
    assert "weighting" not in run.metrics
    assert list(run.predict(pd.read_csv(folder / "toy.csv").head(3)).columns) == [
        "y",
        "y_proba",
        "z",
    ]


def test_analyze_reads_the_saved_config_silently(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = _call_silent(capsys, "analyze", "done", "--max-batches", "1")
    assert outcome.code == 0, outcome.stderr


def test_compare_resume_keeps_a_variant_saved_with_weighting(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(folder / "done", folder / "cmp" / "hps-uw-seed0")
    argv = ("compare", "cfg.yaml", "--architectures", "hps", "--methods", "uw", "--seeds", "1")
    # the fixture trained one epoch
    outcome = _call_silent(capsys, *argv, "train.epochs=1", "-o", "cmp", "--resume", "--quiet")
    assert outcome.code == 0, outcome.stderr
    kept = json.loads((folder / "cmp" / "hps-uw-seed0" / "metrics.json").read_text())
    assert kept == json.loads((FIXTURE / "finished" / "metrics.json").read_text())
    rows = json.loads((folder / "cmp" / "comparison.json").read_text())["variants"]
    assert {r["name"]: r["method"] for r in rows} == {"stl": "ew", "hps+uw": "uw"}


def test_ls_weightings_warns_once_and_lists_the_methods(
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, warned = _call_warned(capsys, "ls", "weightings")
    new = _call_silent(capsys, "ls", "methods")
    assert old.code == new.code == 0
    assert old.stdout == new.stdout
    assert new.stdout.startswith("methods:\n")
    assert warned == [
        "'manyheads ls weightings' is deprecated and will be removed in 0.3: "
        "use 'manyheads ls methods'."
    ]


def test_compare_weightings_warns_once_and_both_flags_are_refused(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("compare", "cfg.yaml", "--architectures", "hps", "--seeds", "1", "--quiet")
    old, warned = _call_warned(capsys, *argv, "--weightings", "ew", "-o", "old")
    assert old.code == 0, old.stderr
    assert warned == ["'--weightings' is deprecated and will be removed in 0.3: use '--methods'."]
    assert (folder / "old" / "hps-ew-seed0" / "metrics.json").exists()
    both = _call(capsys, *argv, "--weightings", "ew", "--methods", "uw", "-o", "both")
    assert both.code == 2
    assert "--weightings and --methods are both given" in both.stderr
    assert not (folder / "both").exists()


def test_compare_help_hides_weightings(capsys: pytest.CaptureFixture[str]) -> None:
    outcome = _call(capsys, "compare", "--help")
    assert "--methods" in outcome.stdout
    assert "--weightings" not in outcome.stdout
