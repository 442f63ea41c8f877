"""The two text datasets: counts from their READMEs, the documented splits, labels."""

from __future__ import annotations

from pathlib import Path

from manyheads.builtin_datasets import load_dataset


def test_clothing_reviews_counts_and_split(shared_data: Path) -> None:
    ds = load_dataset("womens-clothing-reviews")
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (18099, 2268, 2261)
    assert len(ds.train) + len(ds.valid) + len(ds.test) == 22628  # README: usable rows
    # the split is the file's row index mod 10; frame index = CSV line = row index + 2
    assert set((ds.test.index - 2) % 10) == {9}
    assert set((ds.valid.index - 2) % 10) == {8}
    everything = [ds.train, ds.valid, ds.test]
    departments = sum(f["department"].value_counts() for f in everything)
    assert departments["Tops"] == 10048
    assert departments["Trend"] == 118
    assert sorted(ds.train["rating"].unique()) == [1, 2, 3, 4, 5]
    assert [t.name for t in ds.tasks] == ["department", "rating", "recommended"]
    assert ds.inputs == {"review": "text"}


def test_sentiment_sentences_counts_and_split(shared_data: Path) -> None:
    ds = load_dataset("sentiment-sentences")
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (2400, 300, 300)
    assert ds.test["domain"].value_counts().to_dict() == {"amazon": 100, "imdb": 100, "yelp": 100}
    full = [ds.train, ds.valid, ds.test]
    assert sum(int((f["sentiment"] == 1).sum()) for f in full) == 1500  # 500 per file
    # imdb holds U+0085 characters inside sentences: they must not split a line
    imdb = sum(len(f[f["domain"] == "imdb"]) for f in full)
    assert imdb == 1000
    assert set((ds.test.index - 1) % 10) == {9}
