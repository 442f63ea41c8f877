"""End-to-end CLI runs on small real data (census-income rows shipped in the package)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

Cli = Callable[..., subprocess.CompletedProcess[str]]


def _config(tmp_path: Path, files: dict[str, Path], **extra: str) -> Path:
    text = f"""
data: {{train: {files["train"]}, valid: {files["valid"]}, test: {files["test"]}}}
tasks:
  income: {{type: binary}}
  never_married: {{type: binary}}
model: {{architecture: mmoe, n_experts: 4, expert_hidden: [16], tower: [8]}}
train: {{epochs: 2, batch_size: 256, lr: 0.003, monitor: income.auc}}
output: {tmp_path / "run"}
"""
    for key, value in extra.items():
        text = text.replace(key, value)
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return path


def test_train_eval_predict_on_census_rows(
    cli: Cli, tmp_path: Path, census_files: dict[str, Path]
) -> None:
    cfg = _config(tmp_path, census_files)
    done = cli("train", str(cfg), "train.epochs=3", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run = tmp_path / "run"
    for name in ("config.yaml", "model.safetensors", "model.json", "metrics.json", "history.csv"):
        assert (run / name).exists(), name
    assert list(run.glob("events.out.tfevents.*"))
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["split"] == "test"
    assert metrics["architecture"] == "mmoe"
    assert len(pd.read_csv(run / "history.csv")) == 3  # the override won over the file
    assert metrics["tasks"]["income"]["primary"] == "auc"
    assert metrics["tasks"]["income"]["n"] == 600
    assert metrics["tasks"]["income"]["auc"] > 0.80
    assert metrics["tasks"]["never_married"]["auc"] > 0.95

    out = tmp_path / "pred.csv"
    pred = cli("predict", str(run), str(census_files["test"]), "-o", str(out), cwd=tmp_path)
    assert pred.returncode == 0, pred.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["income", "income_proba", "never_married", "never_married_proba"]
    assert len(frame) == 600

    one = tmp_path / "one.csv"
    data = str(census_files["test"])
    asked = cli("predict", str(run), data, "-o", str(one), "--tasks", "income", cwd=tmp_path)
    assert asked.returncode == 0, asked.stderr
    only = pd.read_csv(one)  # the asked task's columns, the numbers of the full prediction
    assert list(only.columns) == ["income", "income_proba"]
    pd.testing.assert_frame_equal(only, frame[["income", "income_proba"]])
    typo = cli("predict", str(run), data, "-o", str(one), "--overwrite", "--tasks", "incme",
               cwd=tmp_path)  # fmt: skip
    assert typo.returncode == 2
    assert "Traceback" not in typo.stderr
    assert "'incme'" in typo.stderr
    assert "income" in typo.stderr
    assert pd.read_csv(one).equals(only)  # a refused run leaves the earlier file as it was

    ev = cli("eval", str(run), str(census_files["test"]), cwd=tmp_path)
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout)["tasks"]["income"]["auc"] == pytest.approx(
        metrics["tasks"]["income"]["auc"], abs=1e-6
    )
    assert json.loads((run / "eval-test.json").read_text())["tasks"]["income"]["n"] == 600


def test_validate_reports_every_problem_and_exits_2(
    cli: Cli, tmp_path: Path, census_files: dict[str, Path]
) -> None:
    cfg = _config(tmp_path, census_files)
    text = cfg.read_text().replace(
        "never_married: {type: binary}",
        "never_married: {type: regression}\n  age: {type: binary}\n  hours: {type: binary}",
    )
    cfg.write_text(text)
    done = cli("validate", str(cfg), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "column 'age': task 'age' is binary but the column has 91 distinct label(s)" in (
        done.stderr
    )
    assert "label column 'hours' of task 'hours' not found" in done.stderr
    ok = cli("validate", str(_config(tmp_path, census_files)), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "OK" in ok.stdout


BAD_INPUTS = [
    ("missing file", {"{train: TRAIN,": "{train: nope.csv,"}, r"nope\.csv: file not found"),
    (
        "unknown column",
        {"never_married: {type: binary}": "never_married: {type: binary}\n  ghost: {type: binary}"},
        "label column 'ghost' of task 'ghost' is missing",
    ),
    (
        "duplicate task",
        {
            "never_married: {type: binary}": "never_married: {type: binary}\n"
            "  never_married: {type: binary}"
        },
        "duplicate key 'never_married'",
    ),
    (
        "task column is an input",
        {"train: {": "inputs: {age: numeric, income: numeric}\ntrain: {"},
        "also an input",
    ),
    (
        "regression target with text",
        {
            "never_married: {type: binary}": "never_married: {type: binary}\n"
            "  cls: {type: regression, column: class_worker}"
        },
        r"line 2, column 'class_worker': regression task 'cls' needs numbers, got ",
    ),
]


@pytest.mark.parametrize(("case", "edits", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exits_2_with_a_message_and_no_finished_run(
    cli: Cli,
    tmp_path: Path,
    census_files: dict[str, Path],
    case: str,
    edits: dict[str, str],
    message: str,
) -> None:
    import re

    cfg = _config(tmp_path, census_files)
    text = cfg.read_text().replace("{train: " + str(census_files["train"]) + ",", "{train: TRAIN,")
    text = text.replace("TRAIN", str(census_files["train"]))
    for old, new in edits.items():
        text = text.replace(old.replace("TRAIN", str(census_files["train"])), new)
    cfg.write_text(text)
    done = cli("train", str(cfg), "--quiet", cwd=tmp_path)
    assert done.returncode == 2, (case, done.stderr)
    assert "Traceback" not in done.stderr
    assert re.search(message, done.stderr), done.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert not (tmp_path / "run" / "model.json").exists()


def test_numeric_input_with_text_and_unseen_test_class(
    cli: Cli, tmp_path: Path, census_files: dict[str, Path]
) -> None:
    test = pd.read_csv(census_files["test"], dtype=str, keep_default_na=False)
    test.loc[4, "age"] = "forty"
    test.to_csv(census_files["test"], index=False)
    cfg = _config(tmp_path, census_files)
    cfg.write_text(
        cfg.read_text().replace("train: {", "inputs: {age: numeric, sex: categorical}\ntrain: {")
    )
    done = cli("train", str(cfg), "--quiet", cwd=tmp_path)
    assert done.returncode == 2
    assert f"{census_files['test']}, line 6, column 'age': numeric input expected, got 'forty'" in (
        done.stderr
    )
    test.loc[4, "age"] = "40"
    test.loc[7, "never_married"] = "7"
    test.to_csv(census_files["test"], index=False)
    done = cli("train", str(cfg), "data.unseen_labels=error", "--quiet", cwd=tmp_path)
    assert done.returncode == 2
    assert (
        f"{census_files['test']}, line 9, column 'never_married': class '7' of task "
        "'never_married' was never seen in the training data"
    ) in done.stderr
    assert not (tmp_path / "run").exists()


def test_empty_file(cli: Cli, tmp_path: Path, census_files: dict[str, Path]) -> None:
    census_files["valid"].write_text("")
    done = cli("train", str(_config(tmp_path, census_files)), cwd=tmp_path)
    assert done.returncode == 2
    assert f"{census_files['valid']}: the file is empty" in done.stderr


def test_ls_lists_every_family(cli: Cli, tmp_path: Path) -> None:
    done = cli("ls", cwd=tmp_path)
    assert done.returncode == 0
    for word in (
        "architectures:",
        "mmoe",
        "methods:",
        "ew",
        "tasks:",
        "multilabel",
        "metrics:",
        "auc",
        "datasets:",
        "census-income",
    ):
        assert word in done.stdout


def test_compare_writes_reports_with_delta_m(
    cli: Cli, tmp_path: Path, census_files: dict[str, Path]
) -> None:
    cfg = _config(tmp_path, census_files)
    done = cli(
        "compare",
        str(cfg),
        "--architectures",
        "stl,hps",
        "--seeds",
        "2",
        "-o",
        str(tmp_path / "cmp"),
        "train.epochs=1",
        "--quiet",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    names = [v["name"] for v in data["variants"]]
    assert names == ["stl", "hps+ew"]
    assert data["split"] == "test"
    stl, hps = data["variants"]

    def delta(variant: dict, seed: int) -> float:  # type: ignore[type-arg]
        terms = [
            -(variant["tasks"][t]["per_seed"][seed] - stl["tasks"][t]["mean"])
            / stl["tasks"][t]["mean"]
            for t in ("income", "never_married")  # both AUC: higher is better -> sign -1
        ]
        return 100 * sum(terms) / 2

    for variant in (stl, hps):
        expected = [delta(variant, 0), delta(variant, 1)]
        assert variant["delta_m"]["per_seed"] == pytest.approx(expected, abs=1e-9)
        assert variant["delta_m"]["mean"] == pytest.approx(sum(expected) / 2, abs=1e-9)
    assert stl["delta_m"]["mean"] == pytest.approx(0.0, abs=1e-9)
    assert hps["n_parameters"] < stl["n_parameters"]
    report = (tmp_path / "cmp" / "report.md").read_text()
    assert "Negative Δm% means better than the single-task models" in report
    assert "validation" in report
    html = (tmp_path / "cmp" / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2
    assert "| stl |" in done.stdout
    assert "report:" in done.stdout
