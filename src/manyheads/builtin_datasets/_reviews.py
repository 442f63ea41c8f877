"""Two text datasets with two labels per row, read from ``$MANYHEADS_DATA``.

* ``womens-clothing-reviews``: 23,486 reviews of a women's clothing shop (CC0, Kaggle). Rows without
  review text or department are dropped (22,628 remain); the split is the folder README's
  suggestion by the file's own row index: ``idx % 10`` in 0..7 train, 8 validation, 9 test. Tasks:
  ``department`` (6 classes), ``rating`` (1-5 stars, 5 classes), ``recommended`` (binary). Input:
  ``review`` (the review text; the optional title is prepended when ``title=True``).
* ``sentiment-sentences``: Kotzias et al. (KDD 2015), 3,000 review sentences from amazon, imdb and
  yelp (1,000 each). Tasks: ``sentiment`` (binary) and ``domain`` (3 classes). There is no official
  split; ours is per file by line number, ``line % 10`` in 0..7 train, 8 validation, 9 test. The
  lines are split on ``\\n`` only (imdb holds U+0085 characters, which ``str.splitlines`` treats as
  line breaks) and never through a CSV parser (quotes would merge lines).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from manyheads.builtin_datasets._registry import DatasetSplits, data_root
from manyheads.errors import DataError
from manyheads.tasks.task import Task

__all__ = ["load_clothing_reviews", "load_sentiment_sentences"]

_CLOTHING = "womens_clothing_ecommerce_reviews.csv.gz"
_DOMAINS = {
    "amazon": "amazon_cells_labelled.txt",
    "imdb": "imdb_labelled.txt",
    "yelp": "yelp_labelled.txt",
}


def _split_by(
    frame: pd.DataFrame,
    position: np.ndarray,
    path: str,
    *,
    name: str,
    tasks: tuple[Task, ...],
    inputs: dict[str, str],
    description: str,
) -> DatasetSplits:
    """The dataset ``name`` of ``frame`` split by ``position % 10``: 0..7 train, 8 validation,
    9 test (each part remembers its source ``path``)."""
    parts = []
    for rows in (position % 10 <= 7, position % 10 == 8, position % 10 == 9):
        part = frame[rows].copy()
        part.attrs["path"] = path
        parts.append(part)
    train, valid, test = parts
    return DatasetSplits(name, train, valid, test, tasks, inputs, description)


def load_clothing_reviews(*, title: bool = False, limit: int | None = None) -> DatasetSplits:
    """The clothing reviews with department, rating and recommended labels.

    Args:
        title: prepend the review title to the text.
        limit: keep only the first ``limit`` usable reviews (smoke tests).
    """
    path = data_root("womens-clothing-reviews") / _CLOTHING
    raw = pd.read_csv(path, index_col=0, keep_default_na=True)
    raw.index = raw.index.astype(np.int64)
    text = raw["Review Text"].astype("string").str.strip()
    keep = text.notna() & text.ne("") & raw["Department Name"].notna()
    if title:
        text = raw["Title"].fillna("").astype("string").str.strip() + ". " + text
    frame = pd.DataFrame(
        {
            "review": text[keep].astype(str),
            "department": raw.loc[keep, "Department Name"].astype(str),
            "rating": raw.loc[keep, "Rating"].astype(np.int64),
            "recommended": raw.loc[keep, "Recommended IND"].astype(np.int64),
        }
    )
    if limit is not None:
        frame = frame.iloc[:limit]
    position = frame.index.to_numpy()
    frame.index = pd.Index(position + 2)  # the CSV line of the row (header is line 1)
    if len(frame) == 0:
        raise DataError("no usable review (text and department) found.", path=str(path))
    return _split_by(
        frame,
        position,
        str(path),
        name="womens-clothing-reviews",
        tasks=(
            Task("department", type="multiclass", metrics=("accuracy", "macro_f1")),
            Task("rating", type="multiclass", metrics=("accuracy", "macro_f1")),
            Task("recommended", type="binary", metrics=("f1", "auc", "accuracy")),
        ),
        inputs={"review": "text"},
        description="women's clothing reviews: department + rating + recommended (idx % 10 split)",
    )


def load_sentiment_sentences(*, limit: int | None = None) -> DatasetSplits:
    """The labelled sentences with sentiment and domain labels.

    Args:
        limit: keep only the first ``limit`` sentences of each file (smoke tests).
    """
    root = data_root("sentiment-labelled-sentences")
    frames = []
    for domain, name in _DOMAINS.items():
        path = root / name
        lines = path.read_bytes().decode("utf-8").split("\n")
        rows = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            sentence, sep, label = line.rpartition("\t")
            if not sep or label.strip() not in ("0", "1"):
                raise DataError(
                    "expected 'sentence<TAB>0|1' on every line.", path=str(path), line=number
                )
            rows.append((number, sentence.strip(), int(label), domain))
        frames.append(pd.DataFrame(rows, columns=["line", "sentence", "sentiment", "domain"]))
        if limit is not None:
            frames[-1] = frames[-1].iloc[:limit]
    frame = pd.concat(frames, ignore_index=True)
    position = frame["line"].to_numpy() - 1
    frame.index = pd.Index(frame.pop("line").to_numpy())
    return _split_by(
        frame,
        position,
        str(root),
        name="sentiment-sentences",
        tasks=(
            Task("sentiment", type="binary", metrics=("accuracy", "f1", "auc")),
            Task("domain", type="multiclass", metrics=("accuracy", "macro_f1")),
        ),
        inputs={"sentence": "text"},
        description="Kotzias et al. 2015 sentences: sentiment + domain (line % 10 split)",
    )
