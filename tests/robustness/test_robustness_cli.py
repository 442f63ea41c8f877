"""``manyheads robustness`` end to end: a comparison's stl and hps runs side by side on real
census rows, every input kind through the Python API, and bad input refused (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import manyheads as mh
from manyheads.cli.main import main
from manyheads.robustness import robustness

PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def census_test(census_sample: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 test rows of the census sample, as a file."""
    path = tmp_path_factory.mktemp("census") / "test.csv"
    rows = census_sample[census_sample.split == "test"].head(400)
    rows.drop(columns=["split"]).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def comparison(
    census_sample: pd.DataFrame, census_test: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A one-epoch ``compare`` of stl and hps on 1,500 census rows (test: 400 rows)."""
    folder = tmp_path_factory.mktemp("compare")
    files = {}
    for split, n in (("train", 1500), ("valid", 400)):
        files[split] = folder / f"{split}.csv"
        rows = census_sample[census_sample.split == split].head(n)
        rows.drop(columns=["split"]).to_csv(files[split], index=False)
    cfg = folder / "cfg.yaml"
    cfg.write_text(
        f"""
data: {{train: {files["train"]}, valid: {files["valid"]}, test: {census_test}}}
tasks: {{income: {{type: binary}}, never_married: {{type: binary}}}}
model: {{architecture: hps, hidden: [16], tower: [8]}}
train: {{epochs: 1, batch_size: 256, lr: 0.003}}
"""
    )
    out = folder / "cmp"
    argv = ["compare", str(cfg), "--architectures", "stl,hps", "--seeds", "1", "-o", str(out)]
    assert main([*argv, "--quiet"]) == 0
    return out


def test_a_comparison_is_measured_side_by_side_under_noise(
    comparison: Path,
    census_test: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    out = tmp_path / "robust"
    argv = ["robustness", str(comparison), str(census_test), "-o", str(out)]
    assert main([*argv, "--strengths", "1.0,0.5"]) == 0
    printed = capsys.readouterr().out
    assert "| stl | category_dropout |" in printed
    assert "| hps+ew | gaussian |" in printed
    data = json.loads((out / "robustness.json").read_text())
    assert data["strengths"] == [0.0, 0.5, 1.0]
    assert {"gaussian", "category_dropout"} <= set(data["corruptions"])
    assert "age" in data["corruptions"]["gaussian"]["columns"]
    assert list(data["variants"]) == ["stl", "hps+ew"]
    compared = json.loads((comparison / "comparison.json").read_text())
    for variant in compared["variants"]:
        entries = data["variants"][variant["name"]]
        for task in ("income", "never_married"):
            # the clean rows are the test split compare scored: the same numbers
            clean = entries["gaussian"][0]["tasks"][task]["mean"]
            assert clean == pytest.approx(variant["tasks"][task]["mean"], abs=1e-6)
            assert entries["category_dropout"][0]["tasks"][task]["degradation"] == 0.0
        # every category unseen: the model is left with the numbers (a one-epoch model may
        # even score better: measured, not assumed); the drop is in % of the clean value
        full = entries["category_dropout"][2]["tasks"]["income"]
        clean = entries["category_dropout"][0]["tasks"]["income"]["mean"]
        assert full["mean"] != pytest.approx(clean, abs=1e-4)
        assert full["degradation"] == pytest.approx(100 * (clean - full["mean"]) / clean)
        summary = data["summary"][variant["name"]]["category_dropout"]
        drops = [e["mean_degradation"] for e in entries["category_dropout"][1:]]
        assert summary == pytest.approx(sum(drops) / 2)
    for task in ("income", "never_married"):
        assert (out / f"robustness-{task}.png").read_bytes()[:4] == PNG
    assert "mean drop %" in (out / "robustness.md").read_text()
    # a second report into the same folder needs --overwrite
    assert main([*argv, "--strengths", "1.0,0.5"]) == 2
    assert "already holds a robustness report" in capsys.readouterr().err


def test_text_and_category_inputs_get_their_corruptions(toy_frame: pd.DataFrame) -> None:
    tasks = [mh.Task("good", type="binary"), mh.Task("shade", type="multiclass")]
    inputs = {"x": "numeric", "colour": "categorical", "review": "text"}
    run = mh.fit(toy_frame, tasks=tasks, inputs=inputs, epochs=3, lr=0.01, batch_size=32)
    result = robustness({"hps": [run]}, toy_frame, strengths=[1.0])
    assert result.corruptions == {
        "gaussian": ["x"],
        "category_dropout": ["colour"],
        "word_dropout": ["review"],
        "typos": ["review"],
    }
    # 'shade' is a function of the colour alone: with every colour unseen it cannot be known
    dropped = result.variants["hps"]["category_dropout"][1]["tasks"]["shade"]
    assert dropped["degradation"] > 20.0
    assert result.variants["hps"]["word_dropout"][1]["tasks"]["good"]["mean"] <= 1.0


def test_single_task_runs_of_different_tasks_side_by_side(toy_frame: pd.DataFrame) -> None:
    inputs = {"x": "numeric", "colour": "categorical"}
    good = mh.fit(toy_frame, tasks=[mh.Task("good", type="binary")], inputs=inputs, epochs=2)
    shade = mh.fit(toy_frame, tasks=[mh.Task("shade", type="multiclass")], inputs=inputs, epochs=2)
    result = robustness({"good": [good], "shade": [shade]}, toy_frame, strengths=[0.5])
    assert list(result.tasks) == ["good", "shade"]
    assert list(result.variants["good"]["gaussian"][1]["tasks"]) == ["good"]
    assert list(result.variants["shade"]["gaussian"][1]["tasks"]) == ["shade"]
    from manyheads.robustness import table

    assert "| good | gaussian |" in table(result)


def test_tokens_and_images(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MANYHEADS_DATA", str(shared_data))
    words = mh.load_dataset("uner-en-ewt", limit=30)
    tagger = mh.fit(
        words.train,
        tasks=[words.tasks[0]],
        inputs=words.inputs,
        epochs=1,
        model_options={"encoder": "bilstm", "encoder_options": {"embedding_dim": 8, "hidden": 8}},
    )
    result = robustness({"hps": [tagger]}, words.train, strengths=[0.5])
    assert list(result.corruptions) == ["typos"]
    images = mh.load_dataset("fashion-mnist-loc", n_train=100, n_test=40)
    model = mh.fit(
        images.train,
        tasks=list(images.tasks),
        inputs=images.inputs,
        epochs=1,
        model_options={"encoder": "lenet"},
    )
    result = robustness({"hps": [model]}, images.test, strengths=[0.5])
    assert list(result.corruptions) == ["pixel_noise"]
    entries = result.variants["hps"]["pixel_noise"]
    assert entries[1]["tasks"]["box"]["mean"] != entries[0]["tasks"]["box"]["mean"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--corruptions", "gausian"], "Unknown corruption 'gausian'. Did you mean 'gaussian'?"),
        (["--corruptions", "pixel_noise"], "Corruption 'pixel_noise' applies to image inputs"),
        (["--strengths", "2"], "'category_dropout' is a probability .* must be in \\[0, 1\\]"),
        (["--strengths", "-1"], "must be a finite number >= 0. Got -1.0"),
        (["--strengths", "a"], "--strengths must be comma-separated numbers"),
    ],
)
def test_bad_options_are_refused_without_a_traceback(
    comparison: Path,
    census_test: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    import re

    out = tmp_path / "robust"
    argv = ["robustness", str(comparison), str(census_test), "-o", str(out), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(message, err), err
    assert not (out / "robustness.json").exists()


def test_the_output_folder_is_never_someone_elses(
    tmp_path: Path, census_test: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main(["robustness", str(tmp_path / "run"), str(census_test), "-o", str(mine)]) == 2
    assert "no .manyheads-robustness marker" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "keep me"
    assert main(["robustness", str(census_test), "-o", str(tmp_path / "x")]) == 2
    assert "needs at least one RUN and the DATA" in capsys.readouterr().err
