"""``compare --task-weights`` (and ``compare.task_weights`` in the YAML): a weighted Δm% beside
Δm%, recomputed here from the per-seed metrics; unknown task names are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from manyheads.cli.main import main
from manyheads.workflow._summary import absolute_tasks, delta_m, weighted_delta_m

TASKS = ("income", "never_married")


def _config(tmp_path: Path, files: dict[str, Path], extra: str = "") -> Path:
    for name, n in (("train", 1000), ("valid", 300), ("test", 300)):  # a smaller slice
        path = tmp_path / f"small-{name}.csv"
        pd.read_csv(files[name]).head(n).to_csv(path, index=False)
        files = {**files, name: path}
    path = tmp_path / "cfg.yaml"
    path.write_text(
        f"""
data: {{train: {files["train"]}, valid: {files["valid"]}, test: {files["test"]}}}
tasks:
  income: {{type: binary}}
  never_married: {{type: binary}}
model: {{architecture: hps, hidden: [16], tower: [8]}}
train: {{epochs: 1, batch_size: 256, lr: 0.003}}
{extra}
"""
    )
    return path


def _term(row: dict, stl: dict, task: str) -> float:
    """Task ``task``'s term of Δm% of ``row``'s one seed against ``stl``."""
    base = {task: stl["tasks"][task]["mean"]}
    higher = {task: stl["tasks"][task]["higher_is_better"]}
    absolute = absolute_tasks({task: stl["tasks"][task]["primary"]}, base)
    return delta_m({task: row["tasks"][task]["per_seed"][0]}, base, higher, absolute=absolute)


def test_weighted_delta_m_is_the_weighted_mean_of_the_task_terms(
    tmp_path: Path, census_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path, census_files)
    argv = ["compare", str(cfg), "--architectures", "stl,hps", "--seeds", "1", "--quiet"]
    code = main([*argv, "-o", str(tmp_path / "cmp"), "--task-weights", "income=3"])
    assert code == 0
    out = capsys.readouterr().out
    assert "weighted Δm% vs stl" in out
    data = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert data["task_weights"] == {"income": 3.0, "never_married": 1.0}
    stl, hps = data["variants"]
    terms = {t: _term(hps, stl, t) for t in TASKS}
    expected = (3 * terms["income"] + terms["never_married"]) / 4
    assert hps["weighted_delta_m"]["per_seed"][0] == pytest.approx(expected, rel=1e-9)
    # equal weights would give Δm% itself; these do not, unless both terms agree
    assert hps["delta_m"]["per_seed"][0] == pytest.approx(sum(terms.values()) / 2, rel=1e-9)
    report = (tmp_path / "cmp" / "report.md").read_text()
    assert "weighted Δm% vs stl" in report
    assert "income = 3, never_married = 1" in report


def test_yaml_key_sets_the_weights(
    tmp_path: Path, census_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """``compare.task_weights`` is read (an unknown name in it is refused, naming the file)."""
    cfg = _config(tmp_path, census_files, "compare: {task_weights: {income: 2, married: 1}}")
    assert main(["compare", str(cfg), "--seeds", "1", "-o", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err
    assert "'compare.task_weights' in " in err
    assert "cfg.yaml names unknown task 'married'. Did you mean 'never_married'?" in err


def test_equal_weights_give_delta_m_and_weights_move_it_toward_the_heavier_task() -> None:
    metrics, base = {"a": 0.9, "b": 0.5, "c": 3.0}, {"a": 0.8, "b": 0.6, "c": 2.0}
    higher = {"a": True, "b": True, "c": False}
    plain = delta_m(metrics, base, higher)
    assert weighted_delta_m(metrics, base, higher, {}) == pytest.approx(plain, rel=1e-12)
    assert weighted_delta_m(metrics, base, higher, dict.fromkeys("abc", 7.0)) == pytest.approx(
        plain, rel=1e-12
    )
    # c got worse by 50%: all the weight on it gives its term alone
    assert weighted_delta_m(metrics, base, higher, {"a": 0, "b": 0, "c": 1}) == pytest.approx(50.0)
    assert weighted_delta_m(metrics, base, higher, {"a": 1, "b": 0, "c": 0}) == pytest.approx(-12.5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--task-weights", "incme=2"],
            "--task-weights names unknown task 'incme'. Did you mean "
            "'income'\\? The tasks of this comparison are: income, never_married.",
        ),
        (["--task-weights", "income=-1"], "weight of task 'income' must be finite and >= 0"),
        (["--task-weights", "income"], "'income' must look like TASK=NUMBER"),
        (["--task-weights", "income=0,never_married=0"], "every task's weight is 0"),
        (
            ["compare.task_weights.married=1"],
            "'compare.task_weights' in .*cfg.yaml names unknown task 'married'",
        ),
        (["compare.weights={income: 1}"], "'compare' must be a mapping whose only key is"),
    ],
)
def test_bad_task_weights_are_refused_before_anything_trains(
    tmp_path: Path,
    census_files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    cfg = _config(tmp_path, census_files)
    code = main(["compare", str(cfg), "--seeds", "1", "-o", str(tmp_path / "cmp"), *args])
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    import re

    assert re.search(message, err), err
    assert not (tmp_path / "cmp" / "stl-ew-seed0").exists()
