"""Multi-source runs: each task from its own file, sampling across sources, per-source metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from manyheads import create_method
from manyheads.architectures import create_model
from manyheads.config.load import build_config
from manyheads.config.train import TrainSettings
from manyheads.data.preprocess import InputSpec
from manyheads.data.sampling import SourceSampler, source_probabilities
from manyheads.data.tensors import EncodedTable
from manyheads.engine.events import Events
from manyheads.engine.loop import LoopState, train_one_epoch
from manyheads.errors import ConfigError, DataError, InvalidParameterError
from manyheads.tasks._fitted import FittedTask
from manyheads.tasks.task import Task
from manyheads.workflow._fit import train_config


def _write_sources(tmp_path: Path, n_a: int = 600, n_b: int = 200) -> dict[str, Path]:
    """Source a: x -> binary a; source b: column 'feat' (renamed to x) -> regression b."""
    rng = np.random.default_rng(0)
    files = {}
    xa = rng.normal(size=n_a)
    a = pd.DataFrame({"x": xa, "a": (xa + 0.2 * rng.normal(size=n_a) > 0).astype(int)})
    xb = rng.normal(size=n_b)
    b = pd.DataFrame({"feat": xb, "b": 3.0 * xb + 0.1 * rng.normal(size=n_b)})
    for name, frame in (("a", a), ("b", b)):
        cut = int(len(frame) * 0.7)
        for split, part in (("train", frame[:cut]), ("test", frame[cut:])):
            path = tmp_path / f"{name}_{split}.csv"
            part.to_csv(path, index=False)
            files[f"{name}_{split}"] = path
    return files


def _config(files: dict[str, Path], **data: object) -> dict[str, object]:
    return {
        "data": {
            "sources": [
                {
                    "name": "A",
                    "train": str(files["a_train"]),
                    "test": str(files["a_test"]),
                    "tasks": ["a"],
                },
                {
                    "name": "B",
                    "train": str(files["b_train"]),
                    "test": str(files["b_test"]),
                    "tasks": ["b"],
                    "columns": {"feat": "x"},
                },
            ],
            **data,
        },
        "inputs": {"x": "numeric"},
        "tasks": {"a": {"type": "binary"}, "b": {"type": "regression"}},
        "model": {"architecture": "hps", "hidden": [16], "tower": [8]},
        "train": {"epochs": 4, "batch_size": 32, "lr": 0.01},
        "output": None,
    }


def test_each_source_trains_and_is_evaluated_on_its_own_splits(tmp_path: Path) -> None:
    files = _write_sources(tmp_path)
    run = train_config(build_config(_config(files, sampling="uniform")))
    metrics = run.metrics
    assert metrics is not None
    sources = metrics["sources"]
    assert set(sources) == {"A", "B"}
    assert set(sources["A"]["tasks"]) == {"a"}
    assert set(sources["B"]["tasks"]) == {"b"}
    assert sources["A"]["tasks"]["a"]["n"] == 180  # A's own test rows, not B's
    assert sources["B"]["tasks"]["b"]["n"] == 60
    assert sources["A"]["tasks"]["a"]["auc"] > 0.9
    assert sources["B"]["tasks"]["b"]["r2"] > 0.8
    # the stacked metrics agree with the per-source ones (each task lives in one source)
    assert metrics["tasks"]["a"]["auc"] == pytest.approx(sources["A"]["tasks"]["a"]["auc"])
    sampling = metrics["sampling"]
    assert sampling["mode"] == "uniform"
    assert sampling["epoch_examples"] == 378 + 126  # 10% of each train held out for valid
    per = sampling["sources"]
    assert per["A"]["examples_per_epoch"] == per["B"]["examples_per_epoch"] == 252


def test_temperature_changes_the_mix_and_not_the_epoch_length(tmp_path: Path) -> None:
    files = _write_sources(tmp_path)
    config = _config(files, sampling="temperature", temperature=2.0)
    config["train"] = {"epochs": 1, "batch_size": 32}
    run = train_config(build_config(config))
    assert run.metrics is not None
    per = run.metrics["sampling"]["sources"]
    expected = source_probabilities([378, 126], "temperature", 2.0)
    assert per["A"]["probability"] == pytest.approx(expected[0], abs=1e-6)
    assert per["A"]["examples_per_epoch"] + per["B"]["examples_per_epoch"] == 504
    assert 252 < per["A"]["examples_per_epoch"] < 378  # between uniform and proportional


def test_a_bad_cell_names_its_own_source_file_and_line(tmp_path: Path) -> None:
    files = _write_sources(tmp_path)
    frame = pd.read_csv(files["b_train"])
    frame["feat"] = frame["feat"].astype(object)
    frame.loc[4, "feat"] = "n/a?"
    frame.to_csv(files["b_train"], index=False)
    with pytest.raises(DataError) as info:
        train_config(build_config(_config(files)))
    message = str(info.value)
    assert "b_train.csv" in message
    assert "line 6" in message  # header is line 1, row 4 (0-based) is line 6
    assert "a_train.csv" not in message


def test_source_config_problems_are_all_reported() -> None:
    raw = {
        "data": {
            "train": "x.csv",
            "sources": [{"train": "a.csv", "tasks": ["a", "zzz"]}, {"tasks": ["a"]}],
            "sampling": "temprature",
        },
        "tasks": {"a": {"type": "binary"}, "b": {"type": "binary"}},
    }
    with pytest.raises(ConfigError) as info:
        build_config(raw)
    text = str(info.value)
    assert "'data.sources' replaces 'data.train'" in text
    assert "names unknown task 'zzz'" in text
    assert "'data.sources[1].' needs exactly one of 'train' (a file) or 'dataset'" in text
    assert "task 'b' is in no source" in text
    assert "Did you mean 'temperature'?" in text


def test_sampler_probabilities_counts_and_determinism() -> None:
    assert source_probabilities([300, 100], "temperature", 1.0) == pytest.approx([0.75, 0.25])
    sampler = SourceSampler([300, 100], "temperature", 1e9)  # T -> inf is uniform
    assert sampler.counts == [200, 200]
    first = sampler.order(torch.Generator().manual_seed(3))
    again = sampler.order(torch.Generator().manual_seed(3))
    assert torch.equal(first, again)
    small = first[first >= 300] - 300
    assert torch.bincount(small, minlength=100).tolist() == [2] * 100  # each row twice
    large = first[first < 300]
    assert len(set(large.tolist())) == 200  # subsampled without replacement


def test_compare_reports_delta_m_per_source(tmp_path: Path) -> None:
    from manyheads.workflow._compare import compare

    files = _write_sources(tmp_path)
    config = build_config(_config(files))
    result = compare(
        config, architectures=["hps"], methods=["ew"], seeds=1, output=tmp_path / "cmp"
    )
    by_name = {v["name"]: v for v in result.variants}
    assert set(by_name["hps+ew"]["delta_m_sources"]) == {"A", "B"}
    assert by_name["stl"]["delta_m_sources"]["A"]["mean"] == pytest.approx(0.0)
    assert by_name["hps+ew"]["delta_m_sources"]["B"]["tasks"] == ["b"]
    assert "Δm% A" in result.table()


def test_compare_encodes_the_data_once_and_matches_separate_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from manyheads.data.preprocess import TablePreprocessor
    from manyheads.workflow._compare import compare

    fits = []
    original = TablePreprocessor.fit

    def counted(self: TablePreprocessor, *args: object, **kwargs: object) -> TablePreprocessor:
        fits.append(1)
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(TablePreprocessor, "fit", counted)
    files = _write_sources(tmp_path)
    config = build_config(_config(files))
    result = compare(
        config, architectures=["hps", "mmoe"], methods=["ew"], seeds=2, output=tmp_path / "c"
    )
    assert len(fits) == 1  # stl, hps and mmoe x 2 seeds share one fitted preprocessor
    mmoe_model = {"architecture": "mmoe", "tower": [8]}  # compare drops hps's hidden for mmoe
    alone = train_config(build_config({**_config(files), "model": mmoe_model}))
    assert alone.metrics is not None
    mmoe = next(v for v in result.variants if v["name"] == "mmoe+ew")
    for task in ("a", "b"):
        primary = alone.metrics["tasks"][task]["primary"]
        assert mmoe["tasks"][task]["per_seed"][0] == alone.metrics["tasks"][task][primary]


@pytest.mark.parametrize("task_loss", ["mean", "share"])
def test_task_loss_share_scales_each_task_by_its_labelled_rows(task_loss: str) -> None:
    # one batch of 4 rows; task b is labelled on one: with `share` its loss (and so the step
    # on its own head) is a quarter of the `mean` one, task a's is unchanged
    tasks = [FittedTask(Task(name, type="regression"), {"mean": 0.0, "std": 1.0}) for name in "ab"]
    g = torch.Generator().manual_seed(0)
    table = EncodedTable(
        x={"num": torch.randn(4, 3, generator=g)},
        y={"a": torch.randn(4, generator=g), "b": torch.randn(4, generator=g)},
        mask={"a": torch.ones(4, dtype=torch.bool), "b": torch.tensor([True, False, False, False])},
        n_rows=4,
    )
    steps = {}
    for mode in ("mean", task_loss):
        torch.manual_seed(0)
        model = create_model("hps", InputSpec(3, (), ()), {"a": 1, "b": 1}, hidden=[8], tower=[])
        before = {t: [p.detach().clone() for p in model.task_parameters(t)] for t in "ab"}
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        train_one_epoch(
            model,
            table,
            tasks=tasks,
            method=create_method("ew", 2),
            settings=TrainSettings(batch_size=4, task_loss=mode),
            loop=LoopState(optimizer, torch.Generator().manual_seed(0), torch.device("cpu")),
            events=Events(),
        )
        steps[mode] = {
            t: torch.cat(
                [
                    (p - q).flatten()
                    for p, q in zip(model.task_parameters(t), before[t], strict=True)
                ]
            )
            for t in "ab"
        }
    scale = 0.25 if task_loss == "share" else 1.0
    torch.testing.assert_close(steps[task_loss]["b"], scale * steps["mean"]["b"])
    torch.testing.assert_close(steps[task_loss]["a"], steps["mean"]["a"])


def test_task_loss_must_be_mean_or_share() -> None:
    with pytest.raises(
        InvalidParameterError, match=r"The 'task_loss' setting must be one of \('mean', 'share'\)"
    ):
        TrainSettings(task_loss="sum")
