"""Twitter Financial News (zeroshot, MIT): topic (20 classes) and sentiment (3 classes).

The files live in ``$MANYHEADS_DATA/twitter-financial-news/`` (its README.md says where they come
from). The two label sets are on **different tweets**, so a multi-task model on them is a
two-source run (``data.sources``, one source per ``part``). Following the folder README's
protocol, the official validation files are the test sets, and validation is a seeded 10% of each
training file, held out by near-duplicate group (the text with its links removed, lower-cased,
whitespace collapsed), so that retweets of one headline stay on one side.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from manyheads.builtin_datasets._registry import DatasetSplits, data_root
from manyheads.errors import DataError, InvalidParameterError
from manyheads.tasks.task import Task

__all__ = ["SENTIMENT_LABELS", "TOPIC_LABELS", "load_twitter_news"]

#: The label names of the dataset cards, by label id.
TOPIC_LABELS = (
    "Analyst Update",
    "Fed | Central Banks",
    "Company | Product News",
    "Treasuries | Corporate Debt",
    "Dividend",
    "Earnings",
    "Energy | Oil",
    "Financials",
    "Currencies",
    "General News | Opinion",
    "Gold | Metals | Materials",
    "IPO",
    "Legal | Regulation",
    "M&A | Investments",
    "Macro",
    "Markets",
    "Politics",
    "Personnel Change",
    "Stock Commentary",
    "Stock Movement",
)
SENTIMENT_LABELS = ("Bearish", "Bullish", "Neutral")
_PARTS = {
    "topic": ("topic_train.csv.gz", "topic_valid.csv", TOPIC_LABELS),
    "sentiment": ("sent_train.csv", "sent_valid.csv", SENTIMENT_LABELS),
}
_LINK = re.compile(r"https?://\S+")
_SPACE = re.compile(r"\s+")


def load_twitter_news(
    *,
    part: str = "both",
    seed: int = 0,
    limit: int | None = None,
    train_rows: int | None = None,
) -> DatasetSplits:
    """Finance tweets with a ``topic`` or a ``sentiment`` label, input column ``text``.

    Args:
        part: ``"topic"`` (16,990 / 4,117 tweets, 20 classes), ``"sentiment"`` (9,543 / 2,388,
            Bearish / Bullish / Neutral) or ``"both"``: the two sets stacked, each row labelled
            for its own task only (the other is missing, so it trains that task alone).
        seed: the seed of the 10% validation hold-out (by near-duplicate group).
        limit: keep only ``limit`` rows of each file, drawn with ``seed`` (quick runs and tests;
            the files are sorted by label, so the first rows would hold one class).
        train_rows: keep only ``train_rows`` training rows of each part, drawn with ``seed``
            after the validation hold-out (validation and test stay whole: shorter runs).

    Raises:
        InvalidParameterError: an unknown ``part`` or a bad ``limit``.
        DataError: the folder or a file is missing, or a file is not ``text,label`` with label
            ids in range.

    Needs the data folder, so no doctest: ``load_dataset("twitter-financial-news",
    part="topic").train`` has the columns ``text`` and ``topic``; rows are indexed by their
    data row number in the file (1-based, header excluded).
    """
    if part not in (*_PARTS, "both"):
        raise InvalidParameterError(
            "The 'part' option of dataset twitter-financial-news must be 'topic', 'sentiment' "
            f"or 'both'. Got {part!r} instead."
        )
    for option, value in (("limit", limit), ("train_rows", train_rows)):
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            raise InvalidParameterError(
                f"The '{option}' option of dataset twitter-financial-news must be an int >= 1 "
                f"or None. Got {value!r} instead."
            )
    parts = list(_PARTS) if part == "both" else [part]
    splits = [_load_part(name, seed, limit, train_rows) for name in parts]
    train, valid, test = (
        _stack([s[i] for s in splits], parts, kind)
        for i, kind in enumerate(("train", "valid", "test"))
    )
    tasks = tuple(Task(name, type="multiclass", metrics=("accuracy", "macro_f1")) for name in parts)
    return DatasetSplits(
        name="twitter-financial-news",
        train=train,
        valid=valid,
        test=test,
        tasks=tasks,
        inputs={"text": "text"},
        description=f"Twitter Financial News ({part}): test = the official validation files",
    )


def _stack(frames: list[pd.DataFrame], parts: list[str], kind: str) -> pd.DataFrame:
    """One part's frame as it is, or both parts stacked (index: ``topic:12`` / ``sentiment:3``)."""
    if len(frames) == 1:
        return frames[0]
    keyed = []
    for name, frame in zip(parts, frames, strict=True):
        copy = frame.copy()
        copy.index = pd.Index([f"{name}:{i}" for i in frame.index])
        keyed.append(copy)
    out = pd.concat(keyed)
    out.attrs["path"] = f"twitter-financial-news ({kind})"
    return out


def _load_part(
    name: str, seed: int, limit: int | None, train_rows: int | None
) -> tuple[pd.DataFrame, ...]:
    """``(train, valid, test)`` of one part: column ``text`` and the label column ``name``."""
    root = data_root("twitter-financial-news")
    train_file, test_file, labels = _PARTS[name]
    train = _read(root / train_file, name, labels, seed, limit)
    test = _read(root / test_file, name, labels, seed, limit)
    in_valid = _valid_groups(train["text"], seed)
    valid = train[in_valid].copy()
    train = train[~in_valid].copy()
    if train_rows is not None and train_rows < len(train):
        keep = np.random.default_rng(seed).permutation(len(train))[:train_rows]
        train = train.iloc[np.sort(keep)].copy()
    for frame, path in ((train, train_file), (valid, train_file), (test, test_file)):
        frame.attrs["path"] = str(root / path)
    return train, valid, test


def _read(
    path: object, name: str, labels: tuple[str, ...], seed: int, limit: int | None
) -> pd.DataFrame:
    """A ``text,label`` file with the label ids replaced by their names."""
    try:
        raw = pd.read_csv(path, keep_default_na=False, dtype={"text": str})
    except FileNotFoundError:
        raise DataError(
            "file missing from the twitter-financial-news folder; restore it (its README lists "
            "the files and their SHA-256).",
            path=str(path),
        ) from None
    if list(raw.columns) != ["text", "label"]:
        raise DataError(
            f"expected the header 'text,label', got {','.join(map(str, raw.columns))!r}.",
            path=str(path),
        )
    ids = pd.to_numeric(raw["label"], errors="coerce")
    bad = ~ids.isin(range(len(labels)))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"column 'label' must be an integer id in 0..{len(labels) - 1}; "
            f"got {str(raw['label'].iloc[row])!r}. Restore the file listed in the folder's "
            "README.",
            path=str(path),
            line=row + 2,
        )
    frame = pd.DataFrame(
        {"text": raw["text"].to_numpy(dtype=object), name: [labels[int(i)] for i in ids]},
        index=pd.RangeIndex(1, len(raw) + 1),
    )
    if limit is not None and limit < len(frame):
        keep = np.sort(np.random.default_rng(seed).permutation(len(frame))[:limit])
        frame = frame.iloc[keep]
    return frame


def _valid_groups(text: pd.Series, seed: int) -> np.ndarray:
    """A boolean mask: the rows of a seeded 10% of near-duplicate groups (at least one row)."""
    key = text.map(lambda t: _SPACE.sub(" ", _LINK.sub(" ", t)).strip().lower())
    groups = key.unique()
    order = np.random.default_rng(seed).permutation(len(groups))
    sizes = key.value_counts()
    chosen: set[str] = set()
    n_rows = 0
    for g in order:
        if n_rows >= max(1, len(text) // 10):
            break
        chosen.add(groups[g])
        n_rows += int(sizes[groups[g]])
    if n_rows >= len(text):
        raise DataError("too few tweets to hold out a validation split; raise 'limit'.")
    return np.asarray(key.isin(chosen).to_numpy(), dtype=bool)
