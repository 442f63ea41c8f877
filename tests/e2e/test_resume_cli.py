"""In-process ``train --resume``, ``compare --resume`` and ``--keep-checkpoint`` that succeed.

The refusals are in ``tests/catalogue/test_resume.py`` and ``test_checkpoint.py``; here a run
interrupted (Ctrl-C after its first epoch) is extended, a comparison interrupted midway is
continued, and finished runs keep or drop their checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.catalogue._harness import Outcome, call_cli, snapshot
from tests.catalogue.test_resume import CONFIG, interrupt_after, toy_csv


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    toy_csv(tmp_path / "toy.csv")
    (tmp_path / "cfg.yaml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> int:
    return _call(capsys, *argv).code


def _call(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    outcome = call_cli(argv, capsys)
    assert "Traceback" not in outcome.stderr, outcome.stderr
    return outcome


def test_a_resume_may_add_epochs_and_continues(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _cli(capsys, "train", "cfg.yaml", "output=full", "train.epochs=5", "--quiet") == 0
    undo = interrupt_after(1, monkeypatch)
    assert _cli(capsys, "train", "cfg.yaml", "--quiet") == 130
    undo()
    assert json.loads((folder / "run" / "checkpoint.json").read_text())["epoch"] == 1
    assert _cli(capsys, "train", "cfg.yaml", "train.epochs=5", "--resume", "--quiet") == 0
    history = pd.read_csv(folder / "run" / "history.csv")
    assert history["epoch"].tolist() == [1, 2, 3, 4, 5]
    # a constant schedule: extending the run is the same as training 5 epochs at once
    assert history.equals(pd.read_csv(folder / "full" / "history.csv"))
    got = json.loads((folder / "run" / "metrics.json").read_text())
    want = json.loads((folder / "full" / "metrics.json").read_text())
    assert got["tasks"] == want["tasks"]
    assert "epochs: 5" in (folder / "run" / "config.yaml").read_text()
    assert not list((folder / "run").glob("*checkpoint*"))


def test_a_finished_run_deletes_its_checkpoint(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(capsys, "train", "cfg.yaml", "train.epochs=1", "--quiet") == 0
    assert not list((folder / "run").glob("*checkpoint*"))
    assert (folder / "run" / "model.safetensors").exists()


def test_keep_checkpoint_keeps_it_and_a_resume_is_still_refused(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(capsys, "train", "cfg.yaml", "train.epochs=2", "--keep-checkpoint", "--quiet") == 0
    kept = sorted(p.name for p in (folder / "run").glob("*checkpoint*"))
    assert kept == ["checkpoint-00002.safetensors", "last_checkpoint.json"]
    refused = _call(capsys, "train", "cfg.yaml", "train.epochs=4", "--resume", "--quiet")
    assert refused.code == 2
    assert "has finished (metrics.json)" in refused.stderr


COMPARE = ("compare", "cfg.yaml", "--architectures", "stl,hps,mmoe", "--seeds", "1", "--quiet")


def test_compare_resume_keeps_finished_resumes_unfinished_trains_missing(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _cli(capsys, *COMPARE, "train.epochs=2", "-o", "whole") == 0
    undo = interrupt_after(3, monkeypatch)  # stl: 2 epochs, hps: 1, then "killed"
    assert _cli(capsys, *COMPARE, "train.epochs=2") == 130
    undo()
    out = folder / "run"
    assert (out / "stl-ew-seed0" / "metrics.json").exists()
    assert (out / "hps-ew-seed0" / "checkpoint.json").exists()
    assert not (out / "mmoe-ew-seed0").exists()
    stl = snapshot(out / "stl-ew-seed0")

    refused = _call(capsys, *COMPARE, "train.epochs=2")  # an existing comparison
    assert refused.code == 2
    assert "Pass --resume to continue the comparison" in refused.stderr
    resumed = _call(capsys, *COMPARE, "train.epochs=2", "--resume")
    assert resumed.code == 0, resumed.stderr

    assert snapshot(out / "stl-ew-seed0") == stl  # kept, not retrained
    history = pd.read_csv(out / "hps-ew-seed0" / "history.csv")
    assert history["epoch"].tolist() == [1, 2]
    assert (out / "mmoe-ew-seed0" / "metrics.json").exists()
    got = json.loads((out / "comparison.json").read_text())
    want = json.loads((folder / "whole" / "comparison.json").read_text())
    assert [v["name"] for v in got["variants"]] == ["stl", "hps+ew", "mmoe+ew"]
    for a, b in zip(got["variants"], want["variants"], strict=True):
        assert a["tasks"] == b["tasks"], a["name"]
        assert a["delta_m"] == b["delta_m"], a["name"]
    assert not list(out.rglob("*checkpoint*"))


def test_a_finished_variant_with_the_default_batch_is_kept_on_resume(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default batch depends on the table's size; the finished variant's saved config is
    compared with it resolved the same way (it was refused as 'another configuration')."""
    args = (*COMPARE, "train.epochs=1", "train.batch_size=null")
    assert _cli(capsys, *args) == 0
    saved = (folder / "run" / "hps-ew-seed0" / "config.yaml").read_text()
    assert "batch_size: 32" in saved
    finished = {v: snapshot(folder / "run" / f"{v}-ew-seed0") for v in ("stl", "hps")}
    resumed = _call(capsys, *args, "--resume")
    assert resumed.code == 0, resumed.stderr
    for variant, files in finished.items():  # kept, not retrained
        assert snapshot(folder / "run" / f"{variant}-ew-seed0") == files
