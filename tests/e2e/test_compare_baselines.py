"""``compare --baselines gbdt,linear`` end to end on census rows shipped in the package."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from manyheads.workflow._summary import absolute_tasks, delta_m

Cli = Callable[..., subprocess.CompletedProcess[str]]
TASKS = ("income", "never_married")


def _config(tmp_path: Path, files: dict[str, Path]) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(
        f"""
data: {{train: {files["train"]}, valid: {files["valid"]}, test: {files["test"]}}}
tasks:
  income: {{type: binary}}
  never_married: {{type: binary}}
model: {{architecture: hps, hidden: [16], tower: [8]}}
train: {{epochs: 1, batch_size: 256, lr: 0.003, monitor: income.auc}}
output: {tmp_path / "run"}
"""
    )
    return path


def _compare(cli: Cli, tmp_path: Path, cfg: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = ["compare", str(cfg), "--architectures", "stl,hps", "--seeds", "1"]
    return cli(*argv, "-o", str(tmp_path / "cmp"), *extra, "--quiet", cwd=tmp_path)


def _expected(row: dict[str, Any], reference: dict[str, Any]) -> float:
    """Δm% of ``row``'s one seed against the means of ``reference``, recomputed."""
    base = {t: reference["tasks"][t]["mean"] for t in TASKS}
    higher = {t: reference["tasks"][t]["higher_is_better"] for t in TASKS}
    absolute = absolute_tasks({t: reference["tasks"][t]["primary"] for t in TASKS}, base)
    values = {t: row["tasks"][t]["per_seed"][0] for t in TASKS}
    return delta_m(values, base, higher, absolute=absolute)


def test_baselines_are_rows_beside_stl_with_delta_m_against_each(
    cli: Cli, tmp_path: Path, census_files: dict[str, Path]
) -> None:
    done = _compare(cli, tmp_path, _config(tmp_path, census_files), "--baselines", "gbdt,linear")
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert [v["name"] for v in data["variants"]] == ["stl", "hps+ew"]
    assert [b["name"] for b in data["baselines"]] == ["gbdt", "linear"]
    stl = data["variants"][0]
    for b in data["baselines"]:
        assert b["kind"] == "baseline"
        assert b["seeds"] == [0]
        assert b["train_seconds"] > 0
        for task in TASKS:
            entry = b["tasks"][task]
            assert entry["primary"] == "auc"
            assert entry["n"] == 600  # the test rows, as the variants
            assert entry["n_train"] == 3000
            assert entry["mean"] > 0.8  # real signal
            assert set(entry["metrics"]) == set(stl["tasks"][task]["metrics"])
        assert b["delta_m"]["per_seed"] == pytest.approx([_expected(b, stl)], abs=1e-9)
    for row in [*data["variants"], *data["baselines"]]:
        for b in data["baselines"]:
            against = row["delta_m_baselines"][b["name"]]
            assert against["per_seed"] == pytest.approx([_expected(row, b)], abs=1e-9)
    gbdt = data["baselines"][0]
    assert gbdt["delta_m_baselines"]["gbdt"]["mean"] == pytest.approx(0.0, abs=1e-9)
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| variant"))
    assert "| Δm% vs stl | Δm% vs gbdt | Δm% vs linear | params |" in header
    names = [line.split("|")[1].strip() for line in lines if line.startswith("| ")][1:]
    assert names == ["stl", "gbdt", "linear", "hps+ew"]  # the baselines beside stl
    report = (tmp_path / "cmp" / "report.md").read_text()
    assert "| gbdt |" in report
    assert "| linear |" in report
    assert "Δm% vs linear" in report
    assert "HistGradientBoosting" in report  # the note says what each baseline is
    html = (tmp_path / "cmp" / "report.html").read_text()
    assert "<td>gbdt</td>" in html
    assert "Δm% vs gbdt" in html


def test_without_baselines_the_comparison_is_as_before(
    cli: Cli, tmp_path: Path, census_files: dict[str, Path]
) -> None:
    done = _compare(cli, tmp_path, _config(tmp_path, census_files))
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert list(data) == [
        "split",
        "model_selection",
        "delta_m_baseline",
        "delta_m_note",
        "variants",
    ]
    assert all("delta_m_baselines" not in v for v in data["variants"])
    header = next(line for line in done.stdout.splitlines() if line.startswith("| variant"))
    assert header == (
        "| variant | income (auc) | never_married (auc) | Δm% vs stl | params | train s "
        "| infer ms/1k rows |"
    )
    assert "scikit-learn" not in done.stdout
    assert "Baselines" not in (tmp_path / "cmp" / "report.md").read_text()


def test_unknown_baseline_is_refused_before_anything_is_written(
    cli: Cli, tmp_path: Path, census_files: dict[str, Path]
) -> None:
    done = _compare(cli, tmp_path, _config(tmp_path, census_files), "--baselines", "gbdt,lineer")
    assert done.returncode == 2
    assert "Unknown baseline 'lineer'. Valid names: gbdt, linear." in done.stderr
    assert "Did you mean 'linear'?" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "cmp").exists()


def test_a_tagging_task_is_refused_before_training(cli: Cli, tmp_path: Path) -> None:
    rows = [
        {"tokens": ["Anna", "visits", "Rome", "."], "pos": ["PROPN", "VERB", "PROPN", "PUNCT"]},
        {"tokens": ["Bob", "likes", "Oslo", "."], "pos": ["PROPN", "VERB", "PROPN", "PUNCT"]},
    ] * 10
    path = tmp_path / "pos.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        f"""
data: {{train: {path}, valid: {path}, test: {path}}}
inputs: {{tokens: tokens}}
tasks: {{pos: {{type: tagging}}}}
model: {{architecture: hps, encoder: bilstm}}
train: {{epochs: 1, batch_size: 4}}
"""
    )
    done = _compare(cli, tmp_path, cfg, "--baselines", "gbdt")
    assert done.returncode == 2
    assert "--baselines gbdt" in done.stderr
    assert "task 'pos' of type tagging" in done.stderr
    assert "--baselines supports tables" in done.stderr
    assert not (tmp_path / "cmp").exists()


def test_two_sources_each_task_learns_from_its_own_source(
    cli: Cli, tmp_path: Path, census_sample: pd.DataFrame
) -> None:
    sources = []
    for name, task, rows in (
        ("a", "income", slice(0, 1500)),
        ("b", "never_married", slice(1500, 3000)),
    ):
        for split in ("train", "valid", "test"):
            part = census_sample[census_sample.split == split]
            part = part.iloc[rows if split == "train" else slice(rows.start // 5, rows.stop // 5)]
            part.drop(columns=["split"]).to_csv(tmp_path / f"{name}_{split}.csv", index=False)
        files = {s: tmp_path / f"{name}_{s}.csv" for s in ("train", "valid", "test")}
        sources.append(
            f"    - {{name: {name}, train: {files['train']}, valid: {files['valid']}, "
            f"test: {files['test']}, tasks: [{task}]}}"
        )
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        "data:\n  sources:\n" + "\n".join(sources) + "\n"
        "inputs: {age: numeric, class_worker: categorical, det_hh_fam_stat: categorical, "
        "weeks_worked: numeric}\n"
        "tasks: {income: {type: binary}, never_married: {type: binary}}\n"
        "model: {architecture: hps, hidden: [16], tower: [8]}\n"
        "train: {epochs: 1, batch_size: 256, lr: 0.003}\n"
    )
    done = _compare(cli, tmp_path, cfg, "--baselines", "linear")
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    stl, linear = data["variants"][0], data["baselines"][0]
    for task in TASKS:  # scored on its own source's 300 test rows, as the variants
        assert linear["tasks"][task]["n"] == stl["tasks"][task]["n"] == 300
        assert linear["tasks"][task]["n_train"] == 1500
    assert linear["delta_m_sources"]["a"]["tasks"] == ["income"]
    header = next(line for line in done.stdout.splitlines() if line.startswith("| variant"))
    assert "| Δm% a | Δm% b | Δm% vs linear |" in header
