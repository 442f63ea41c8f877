"""synthetic-ccp: seeded, chunked, and its known truth holds in the sampled labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from manyheads.builtin_datasets import _synthetic_ccp as ccp
from manyheads.builtin_datasets import load_dataset
from manyheads.errors import DataError, InvalidParameterError

N = 20_000


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return ccp.generate_synthetic_ccp(N, seed=3)


def test_seeded_and_reproducible(frame: pd.DataFrame) -> None:
    again = ccp.generate_synthetic_ccp(N, seed=3)
    pd.testing.assert_frame_equal(frame, again)
    other = ccp.generate_synthetic_ccp(N, seed=4)
    assert not np.array_equal(frame["p_click"].to_numpy(), other["p_click"].to_numpy())


def test_funnel_labels_are_consistent(frame: pd.DataFrame) -> None:
    clicked = frame["click"] == 1
    assert (frame["purchase"] <= frame["click"]).all()
    assert frame["conversion"].isna().eq(~clicked).all()  # CVR label only where clicked
    assert (frame.loc[clicked, "conversion"] == frame.loc[clicked, "conversion_if_clicked"]).all()
    expected = frame["click"] * frame["conversion_if_clicked"]
    assert (frame["purchase"] == expected).all()


def test_labels_follow_the_true_probabilities(frame: pd.DataFrame) -> None:
    # binomial standard errors at 20k rows are ~0.002 (click) and ~0.0025 (conversion)
    assert frame["click"].mean() == pytest.approx(frame["p_click"].mean(), abs=0.01)
    converted = frame["conversion_if_clicked"].mean()
    assert converted == pytest.approx(frame["p_cvr"].mean(), abs=0.01)
    assert 0.03 < frame["click"].mean() < 0.15


def test_position_bias_and_sample_selection_bias(frame: pd.DataFrame) -> None:
    by_position = frame.groupby("position")["click"].mean()
    assert by_position[1] > 2 * by_position[10]
    clicked = frame["click"] == 1
    # the shared intent makes clicked impressions convert far more often than unclicked ones
    # would have: the bias that a model trained on clicked rows only inherits
    cvr_clicked = frame.loc[clicked, "conversion_if_clicked"].mean()
    cvr_unclicked = frame.loc[~clicked, "conversion_if_clicked"].mean()
    assert cvr_clicked > 1.5 * cvr_unclicked
    assert frame.loc[clicked, "p_cvr"].mean() > frame.loc[~clicked, "p_cvr"].mean()


def test_chunks_are_written_to_parquet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ccp, "CHUNK", 3000)  # 7 chunks, each from its own child seed
    path = ccp.write_synthetic_ccp(tmp_path / "ccp.parquet", 20_000, seed=1)
    written = pd.read_parquet(path)
    pd.testing.assert_frame_equal(written, ccp.generate_synthetic_ccp(20_000, seed=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ccp.parquet"]  # no temporary left
    with pytest.raises(DataError, match=r"ccp.parquet: already exists. Pass --overwrite"):
        ccp.write_synthetic_ccp(path, 100)
    ccp.write_synthetic_ccp(path, 100, overwrite=True)
    assert len(pd.read_parquet(path)) == 100


def test_loader_splits_tasks_and_inputs() -> None:
    ds = load_dataset("synthetic-ccp", n_impressions=5000, seed=0)
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (3500, 500, 1000)
    assert [t.name for t in ds.tasks] == ["click", "purchase"]
    assert not set(ds.inputs) & {*ccp.TRUTH, "click", "purchase", "conversion"}
    assert ds.train.index[0] == 1
    assert "synthetic-ccp" in ds.test.attrs["path"]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"n_impressions": 5}, r"'n_impressions' option of synthetic-ccp must be an int >= 10"),
        ({"seed": -1}, r"'seed' option of synthetic-ccp must be an int >= 0. Got -1"),
        ({"test_fraction": 0.9}, r"'test_fraction' option of synthetic-ccp must be in"),
        ({"test_fraction": "x"}, r"'test_fraction' option of synthetic-ccp must be in"),
        ({"n_rows": 5}, r"'synthetic-ccp' has no option 'n_rows'. .*Its options: n_impressions"),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        load_dataset("synthetic-ccp", **options)
