"""examples/click-conversion: the one command trains, compares and writes the report."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "click-conversion"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("click_conversion_run", EXAMPLE / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_writes_its_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _module()
    out = tmp_path / "report"
    argv = ["--impressions", "3000", "--seeds", "0", "--epochs", "1", "--out", str(out)]
    assert run.main(argv) == 0
    result = json.loads((out / "results.json").read_text())
    variants = [r["variant"] for r in result["rows"]]
    assert variants == ["esmm", "clicked_only", "mmoe", "ple", "oracle"]
    for row in result["rows"]:
        assert 0.0 <= row["cvr_auc_whole_space"] <= 1.0
    oracle = result["rows"][-1]
    assert oracle["cvr_auc_whole_space"] > 0.8  # the true p_cvr against its own draws
    assert "clicked_only" not in {r["variant"] for r in result["rows"] if "ctr_auc" in r}
    report = (out / "report.md").read_text()
    assert "| esmm |" in report
    assert "ESMM − clicked-only, whole-space CVR AUC" in report
    assert run.main(argv) == 0  # its own folder (marked) is written again


def test_the_example_refuses_a_folder_it_did_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    assert _module().main(["--out", str(tmp_path), "--impressions", "3000"]) == 2
    assert "--out" in capsys.readouterr().err
    assert (tmp_path / "mine.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]
