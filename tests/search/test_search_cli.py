"""``manyheads search`` end to end on a small table: the files it writes, the final test, the
folds, the Pareto front, --resume after a killed search, the journal storage, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
import yaml

from manyheads.config.load import load_config
from tests.search._helpers import run_search, write_files


def _study(folder: Path, storage: str | None = None) -> optuna.Study:
    url = storage or f"sqlite:///{folder / 'out' / 'study.db'}"
    return optuna.load_study(study_name="manyheads", storage=url)


def test_search_writes_best_config_report_and_tests_the_choice_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_files(tmp_path)
    assert run_search(tmp_path, "--trials", "3", "-o", "out", "--objective", "y.auc") == 0
    printed = json.loads(capsys.readouterr().out)
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} >= {
        ".manyheads-search",
        "best.yaml",
        "study.db",
        "search.json",
        "report.html",
        "final",
    }
    # best.yaml is the config with the chosen trial's values; it loads as any config does
    best = load_config(out / "best.yaml")
    trial = _study(tmp_path).best_trial
    assert best.train.lr == pytest.approx(trial.params["train.lr"])
    assert best.model.architecture == trial.params["model.architecture"]
    assert list(best.model.options["hidden"]) == json.loads(trial.params["model.hidden"])
    assert printed["best_values"] == [pytest.approx(trial.value)]
    # the search trained on train (300 rows - 60 test - 24 valid) and never on the test rows;
    # the final run trained on train + valid and scored the 60 test rows once
    report = json.loads((out / "search.json").read_text())
    assert report["evaluation"] == "trained on train (216 rows), scored on valid (24)"
    final = report["final"]
    assert (final["train_rows"], final["test_rows"], final["tested"]) == (240, 60, True)
    metrics = json.loads((out / "final" / "metrics.json").read_text())
    assert metrics["split"] == "test"
    assert metrics["tasks"]["y"]["n"] == 60
    assert final["tasks"]["y"]["auc"] == pytest.approx(metrics["tasks"]["y"]["auc"])
    page = (out / "report.html").read_text()
    assert "<svg" in page
    assert "Optimisation history" in page
    assert "Top 3 trials" in page
    assert "<script" not in page
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")


def test_cross_validated_multi_objective_search_reports_the_pareto_front(tmp_path: Path) -> None:
    write_files(tmp_path)
    args = ["--trials", "3", "-o", "out", "--cv", "3", "--objective", "y.auc", "z.rmse"]
    assert run_search(tmp_path, *args, "--no-final") == 0
    report = json.loads((tmp_path / "out" / "search.json").read_text())
    assert report["evaluation"].startswith("3 folds stratified over y of train + valid (240 rows)")
    assert report["directions"] == ["maximize", "minimize"]
    assert report["pareto_trials"]
    assert report["final"] is None
    for row in report["top_trials"]:
        assert len(row["best_epochs"]) == 3  # one training per fold
        mean, std = row["cv"]["y"]["auc"]
        assert 0.5 < mean <= 1.0
        assert std >= 0.0
    assert "Pareto front" in (tmp_path / "out" / "report.html").read_text()


def test_a_killed_search_continues_with_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_files(tmp_path)
    assert run_search(tmp_path, "--trials", "2", "-o", "out", "--no-final") == 0
    # the state a kill leaves: a trial RUNNING in the study
    study = _study(tmp_path)
    study.ask()
    capsys.readouterr()
    assert run_search(tmp_path, "--trials", "3", "-o", "out", "--no-final") == 2
    assert "already holds a search (study.db). Pass --resume" in capsys.readouterr().err
    assert run_search(tmp_path, "--trials", "3", "-o", "out", "--no-final", "--resume") == 0
    states = [t.state.name for t in _study(tmp_path).get_trials()]
    assert states.count("FAIL") == 1
    assert "RUNNING" not in states
    assert states.count("COMPLETE") + states.count("PRUNED") == 3
    retried = [t for t in _study(tmp_path).get_trials() if "retry_of" in t.user_attrs]
    assert [t.user_attrs["retry_of"] for t in retried] == [2]


def test_journal_storage_delta_m_against_a_cached_stl_baseline_and_timeout(tmp_path: Path) -> None:
    write_files(tmp_path)
    journal = f"journal:{tmp_path / 'study.log'}"
    args = ["--trials", "5", "-o", "out", "--storage", journal, "--objective", "delta_m"]
    assert run_search(tmp_path, *args, "--no-final", "--timeout", "0.001") == 0
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "study.log"))
    )
    study = optuna.load_study(study_name="manyheads", storage=storage)
    baseline = study.user_attrs["stl_baseline"]
    assert set(baseline) == {"y", "z"}
    assert 0.5 < baseline["y"] <= 1.0
    assert not (tmp_path / "out" / "study.db").exists()
    report = json.loads((tmp_path / "out" / "search.json").read_text())
    assert report["trials"]["complete"] + report["trials"]["pruned"] == 1  # --timeout stopped it
    assert report["objective"] == ["Δm% vs stl"]
    assert report["stl_baseline"] == baseline


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--objective", "y.aucc"], "has no metric 'aucc'. Did you mean 'auc'"),
        (
            ["--cv", "3", "--group-by", "gg"],
            "column 'gg' for the folds not found. Did you mean 'g'",
        ),
        (["--group-by", "g"], "shape the folds of --cv K; pass --cv"),
        (["--pruner", "medain"], "--pruner 'medain' is unknown. Did you mean 'median'"),
        (["--storage", "mongodb://x"], "is not a storage URL"),
    ],
)
def test_bad_options_exit_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    write_files(tmp_path)
    assert run_search(tmp_path, "--trials", "1", "-o", "out", *args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_a_bad_space_key_exits_2_before_any_data_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_files(tmp_path, space="train.lrr: {float: [0.001, 0.01]}\n")
    (tmp_path / "data.csv").unlink()
    assert run_search(tmp_path, "--trials", "1", "-o", "out") == 2
    err = capsys.readouterr().err
    assert "space.yaml: 1 problem" in err
    assert "Did you mean 'lr'" in err
    assert not (tmp_path / "out").exists()
    assert yaml.safe_load((tmp_path / "space.yaml").read_text())  # the user's file untouched
