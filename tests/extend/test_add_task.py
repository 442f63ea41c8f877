"""``add-task`` on tiny census runs: old predictions bit-identical, the new task learns, LwF
reports backward transfer, lineage, the CLI, and the refusals (nothing written;
the CLI refusals are in tests/catalogue/test_add_task.py)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import torch

import manyheads as mh
from manyheads.errors import DataError, InvalidParameterError
from manyheads.extend._lineage import file_sha256
from manyheads.workflow._run import Run

Cli = Callable[..., subprocess.CompletedProcess[str]]

#: The architectures that take a new task on tables, with small options (1 epoch on 800 rows
#: each); ``mtan`` reads only images and is covered over the registry (``test_grow.py``).
ARCHS = {
    "hps": {"hidden": [16], "tower": [8]},
    "mmoe": {"n_experts": 2, "expert_hidden": [8], "tower": [4]},
    "ple": {"n_levels": 1, "expert_hidden": [8], "tower": [4]},
    "cascade": {"hidden": [8], "tower": [4]},
    "soft_sharing": {"hidden": [8], "tower": [4]},
    "stl": {"hidden": [8], "tower": [4]},
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, census_sample: pd.DataFrame) -> dict[str, Path]:
    """train (800 rows), valid and test (300 rows each) CSVs; ``old`` is train without the new
    task's label (what the source runs train on)."""
    root = tmp_path_factory.mktemp("add_task")
    out = {}
    for name, n in (("train", 800), ("valid", 300), ("test", 300)):
        part = census_sample[census_sample.split == name].head(n).drop(columns=["split"])
        out[name] = root / f"{name}.csv"
        part.to_csv(out[name], index=False)
    out["old"] = root / "old.csv"
    pd.read_csv(out["train"]).drop(columns=["never_married"]).to_csv(out["old"], index=False)
    return out


def _train(files: dict[str, Path], arch: str, options: dict[str, object]) -> Run:
    root = files["train"].parent
    mh.fit(
        files["old"],
        tasks=[mh.Task("income", type="binary")],
        valid=files["valid"],
        test=files["test"],
        architecture=arch,
        model_options=options,
        output=root / f"run-{arch}",
        epochs=1,
        batch_size=128,
        seed=0,
    )
    return mh.load(root / f"run-{arch}")


def _train_cli(files: dict[str, Path], cli: Cli) -> Run:
    """The hps run trained by ``manyheads train``: its config.yaml names its test file."""
    root = files["train"].parent
    cfg = root / "hps.yaml"
    cfg.write_text(
        f"data: {{train: {files['old']}, valid: {files['valid']}, test: {files['test']}}}\n"
        "tasks:\n  income: {type: binary}\n"
        "model: {architecture: hps, hidden: [16], tower: [8]}\n"
        "train: {epochs: 1, batch_size: 128, seed: 0}\n"
        f"output: {root / 'run-hps'}\n"
    )
    done = cli("train", str(cfg), "--quiet", cwd=root)
    assert done.returncode == 0, done.stderr
    return mh.load(root / "run-hps")


@pytest.fixture(scope="module")
def runs(files: dict[str, Path], cli: Cli) -> dict[str, Run]:
    """hps from the CLI, the others from ``mh.fit`` (whose run folder names no test file)."""
    out = {"hps": _train_cli(files, cli)}
    return out | {a: _train(files, a, o) for a, o in ARCHS.items() if a != "hps"}


def _grow(run: Run, files: dict[str, Path], **kwargs: object) -> Run:
    return run.add_task("never_married", "binary", files["train"], valid=files["valid"], **kwargs)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_old_predictions_are_bit_identical(
    arch: str, runs: dict[str, Run], files: dict[str, Path]
) -> None:
    run = runs[arch]
    grown = _grow(run, files, epochs=2, patience=None)
    test = pd.read_csv(files["test"])
    x = run.preprocessor.transform(mh.workflow._run.as_frame(test), labels=False).x
    with torch.no_grad():
        before, after = run.model.eval()(x), grown.model.eval()(x)
    assert torch.equal(before["income"], after["income"])
    assert not torch.equal(after["never_married"], torch.zeros_like(after["never_married"]))
    old, new = run.predict(test), grown.predict(test)
    pd.testing.assert_series_equal(old["income"], new["income"])
    pd.testing.assert_series_equal(old["income_proba"], new["income_proba"])
    assert list(new.columns) == ["income", "income_proba", "never_married", "never_married_proba"]
    # every old weight and statistic is the source's
    state = grown.model.state_dict()
    assert all(torch.equal(v, state[k]) for k, v in run.model.state_dict().items())
    assert grown.metrics is not None
    transfer = grown.metrics["add_task"]["backward_transfer"]["income"]
    assert transfer["change"] == 0.0
    # hps: the source run's test split, from its config.yaml; fit() runs name none: valid rows
    assert grown.metrics["split"] == ("test" if arch == "hps" else "valid")


def test_new_task_learns(runs: dict[str, Run], files: dict[str, Path]) -> None:
    # on a frozen trunk: ple's new gate and experts read the input embedding (a 16-unit hps
    # bottom trained one epoch on another task leaves the new head little to read)
    grown = _grow(runs["ple"], files, epochs=3, patience=None, lr=3e-3, batch_size=64)
    losses = [row["train_loss/never_married"] for row in grown.history]
    assert losses[2] < losses[1] < losses[0]
    assert grown.metrics is not None
    assert grown.metrics["tasks"]["never_married"]["auc"] > 0.85  # chance is 0.5


@pytest.mark.parametrize("unfreeze", ["heads", "all"])
def test_lwf_trains_old_parts_and_reports_backward_transfer(
    unfreeze: str, runs: dict[str, Run], files: dict[str, Path]
) -> None:
    run = runs["mmoe"]
    grown = _grow(run, files, unfreeze=unfreeze, epochs=2, warmup_epochs=1, patience=None)
    assert grown.history[1]["distill_loss"] > 0.0  # epoch 2 distils; epoch 1 is the warm-up
    assert grown.history[0]["distill_loss"] == 0.0
    old, new = run.model.state_dict(), grown.model.state_dict()
    expert = next(k for k in old if k.startswith("experts."))
    shared_moved = not torch.equal(old[expert], new[expert])
    head = next(k for k in old if k.startswith("towers.outputs.income"))
    assert not torch.equal(old[head], new[head])
    assert shared_moved == (unfreeze == "all")
    assert grown.metrics is not None
    row = grown.metrics["add_task"]["backward_transfer"]["income"]
    assert set(row) == {"primary", "higher_is_better", "before", "after", "change"}
    assert row["primary"] == "auc"
    assert row["change"] == pytest.approx(row["after"] - row["before"])
    assert abs(row["change"]) < 0.2  # the distillation keeps the old head close
    assert grown.lineage is not None
    assert grown.lineage["unfreeze"] == unfreeze


def test_cli_writes_a_run_with_lineage_that_predicts(
    runs: dict[str, Run], files: dict[str, Path], cli: Cli
) -> None:
    source = runs["hps"].directory
    assert source is not None
    root = files["train"].parent
    out = root / "grown"
    done = cli(
        "add-task", str(source), "--task", "never_married:binary", "--data", str(files["train"]),
        "--valid", str(files["valid"]), "-o", str(out), "--epochs", "1", "--quiet",
        "task.never_married.metrics=[auc,accuracy]", "train.batch_size=128", cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.search(r"income: auc before [\d.]+ after [\d.]+ \(change \+0\.0\)", done.stdout)
    assert "never_married: auc" in done.stdout
    names = {p.name for p in out.iterdir()}
    assert {".manyheads-run", "model.json", "model.safetensors", "metrics.json"} <= names
    meta = json.loads((out / "model.json").read_text())
    lineage = meta["lineage"]
    assert lineage["source"] == str(source.resolve())
    assert lineage["source_weights_sha256"] == file_sha256(source / "model.safetensors")
    assert lineage["added_task"]["name"] == "never_married"
    assert lineage["added_task"]["metrics"] == ["auc", "accuracy"]
    assert lineage["unfreeze"] == "none"
    assert lineage["date"].startswith("20")
    loaded = mh.load(out)
    assert loaded.lineage == lineage
    assert [t.name for t in loaded.tasks] == ["income", "never_married"]
    preds = root / "preds.csv"
    done = cli("predict", str(out), str(files["test"]), "-o", str(preds), cwd=root)
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(preds)
    assert {"income", "never_married_proba"} <= set(frame.columns)
    # the source run is untouched
    assert mh.load(source).lineage is None


def test_refusals_name_the_problem_and_write_nothing(
    runs: dict[str, Run], files: dict[str, Path]
) -> None:
    run = runs["hps"]
    out = files["train"].parent / "refused-api"
    with pytest.raises(InvalidParameterError, match="Unknown task type 'bogus'"):
        run.add_task("x", "bogus", files["train"], output=out)
    no_label = files["old"]
    with pytest.raises(
        DataError,
        match=re.escape(
            f"{no_label}, column 'never_married': the label column 'never_married' of the new "
            "task 'never_married' is "
            "missing."
        ),
    ):
        run.add_task("never_married", "binary", no_label, output=out)
    with pytest.raises(InvalidParameterError, match="The 'unfreeze' setting of add-task must"):
        run.add_task("never_married", "binary", files["train"], unfreeze="some", output=out)
    with pytest.raises(InvalidParameterError, match=r"Unknown add-task setting\(s\) \['epoch'\]"):
        run.add_task("never_married", "binary", files["train"], epoch=1, output=out)
    with pytest.raises(InvalidParameterError, match="is the source run: add-task writes"):
        run.add_task("never_married", "binary", files["train"], output=run.directory)
    other = runs["mmoe"].directory
    with pytest.raises(InvalidParameterError, match=r"already holds a finished run\. Choose"):
        run.add_task("never_married", "binary", files["train"], output=other)
    assert not out.exists()


def test_unsupported_architecture_is_refused(files: dict[str, Path]) -> None:
    run = _train(files, "cross_stitch", {"hidden": [8], "tower": [4]})
    out = files["train"].parent / "refused-cs"
    with pytest.raises(
        InvalidParameterError,
        match=re.escape(
            "Cannot add task 'never_married' to a 'cross_stitch' model: its cross-stitch units "
            "mix the T task columns with a T x T matrix, so a new task changes the units every "
            "old task reads (shared tensor 'alphas.0' [1, 1] -> [2, 2])."
        ),
    ):
        run.add_task("never_married", "binary", files["train"], output=out)
    assert not out.exists()


def test_a_new_multilabel_task_gets_thresholds_tuned_on_its_validation_rows(
    runs: dict[str, Run], files: dict[str, Path]
) -> None:
    root = files["train"].parent
    for name in ("train", "valid"):
        frame = pd.read_csv(files[name])
        frame["nm"] = (frame["never_married"].astype(str) == "1").astype(int)
        frame["rich"] = (frame["income"].astype(str) == "1").astype(int)
        frame.to_csv(root / f"ml-{name}.csv", index=False)
    task = mh.Task("status", type="multilabel", columns=["nm", "rich"])
    grown = runs["hps"].add_task(task, None, root / "ml-train.csv", valid=root / "ml-valid.csv")
    thresholds = grown.preprocessor.task_states_["status"]["thresholds"]
    assert len(thresholds) == 2
    assert all(0 < t < 1 for t in thresholds)
    assert "thresholds" not in grown.preprocessor.task_states_["income"]  # old states untouched
    assert (
        grown.preprocessor.task_states_["income"] == runs["hps"].preprocessor.task_states_["income"]
    )
