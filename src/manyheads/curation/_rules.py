"""The rules of a dataset build: filters (a keep-mask each) and duplicate finders.

Filters run in order (missing values, lengths, language); then duplicates are found on the main
text column (exact, then near); the first row (by URL) of a group is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from manyheads.curation._config import BuildConfig
from manyheads.curation._language import detect_language

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MAIN_TEXT_CHARS",
    "Dedupe",
    "Filter",
    "dedupe_rules",
    "filter_rules",
    "is_missing",
    "main_text_column",
    "row_keys",
]


def is_missing(value: object) -> bool:
    """A missing value: None, NaN or the empty string."""
    return value is None or (isinstance(value, float) and value != value) or value == ""


#: A filter: its name (for the summary) and the keep-mask it computes from the frame.
Filter = tuple[str, Callable[["pd.DataFrame"], "pd.Series"]]
#: A duplicate finder: its name and, per row, None (kept) or the key of the row it repeats.
Dedupe = tuple[str, Callable[["pd.DataFrame"], list[str | None]]]


def _present(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].map(lambda v: not is_missing(v))


def _length(frame: pd.DataFrame, column: str, n: int, *, at_least: bool) -> pd.Series:
    lengths = frame[column].map(lambda v: len(v or ""))
    return lengths >= n if at_least else lengths <= n


def _language(frame: pd.DataFrame, column: str, keep: set[str]) -> pd.Series:
    return frame[column].map(lambda v: detect_language(v or "")).isin(keep)


def filter_rules(config: BuildConfig) -> list[Filter]:
    """Filter rules in order: each maps the current frame to a keep-mask."""
    rules: list[Filter] = [(f"missing {c}", partial(_present, column=c)) for c in config.required]
    rules += [
        (f"{c} shorter than {n}", partial(_length, column=c, n=n, at_least=True))
        for c, n in config.min_chars
    ]
    rules += [
        (f"{c} longer than {n}", partial(_length, column=c, n=n, at_least=False))
        for c, n in config.max_chars
    ]
    if config.language_column and config.languages:
        keep = set(config.languages) | ({"und"} if config.keep_undetermined else set())
        name = f"language not in {','.join(config.languages)}"
        rules.append((name, partial(_language, column=config.language_column, keep=keep)))
    return rules


def _texts(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].map(lambda v: "" if is_missing(v) else str(v))


def row_keys(frame: pd.DataFrame) -> list[str]:
    """How a row is named in the summary: its URL, else its 1-based row number."""
    if "url" in frame.columns:
        return [str(u) for u in frame["url"]]
    return [f"row {i + 1}" for i in range(len(frame))]


def _not_exact_duplicate(frame: pd.DataFrame, column: str) -> list[str | None]:
    """None (kept) or the key of the first row with the same normalised, non-empty text."""
    from manyheads.crawl._dedupe import content_hash

    first: dict[str, str] = {}
    out: list[str | None] = []
    for key, text in zip(row_keys(frame), _texts(frame, column), strict=True):
        if not text.strip():  # an empty text duplicates nothing
            out.append(None)
            continue
        digest = content_hash(text)
        out.append(first.get(digest))
        first.setdefault(digest, key)
    return out


def _not_near_duplicate(frame: pd.DataFrame, column: str, threshold: float) -> list[str | None]:
    """None (kept) or the key of a kept row whose text is a near duplicate."""
    from manyheads.crawl._dedupe import NearDuplicateIndex, minhash_signature

    index = NearDuplicateIndex(threshold)
    pairs = zip(row_keys(frame), _texts(frame, column), strict=True)
    return [index.add(k, minhash_signature(t)) for k, t in pairs]


def dedupe_rules(config: BuildConfig, column: str | None) -> list[Dedupe]:
    """Duplicate rules: exact (normalised-text hash), then near (MinHash LSH); first URL wins.

    Each maps the frame to one entry per row: None (kept) or the key of the row it repeats.
    """
    if column is None:
        return []
    rules: list[Dedupe] = []
    if config.exact:
        rules.append(("exact duplicates", partial(_not_exact_duplicate, column=column)))
    if config.near_threshold is not None:
        near = partial(_not_near_duplicate, column=column, threshold=config.near_threshold)
        rules.append(("near duplicates", near))
    return rules


#: The shortest median length (characters) of a column that is a page's main text by default.
MAIN_TEXT_CHARS = 20


def main_text_column(
    frame: pd.DataFrame, config: BuildConfig, text_cols: tuple[str, ...]
) -> tuple[str | None, str]:
    """The column duplicates are found on, and why (for the summary).

    ``dedupe.column`` when set; else the first configured ``text`` column; else ``text``; else
    the string column with the longest median length, if that is at least
    :data:`MAIN_TEXT_CHARS` (a page's text, never a short label such as a category). None: no
    deduplication.
    """
    if config.dedupe_column:
        return config.dedupe_column, f"on {config.dedupe_column} (dedupe.column)"
    if config.text:
        return config.text[0], f"on {config.text[0]} (the first 'text' column)"
    if "text" in frame.columns:
        return "text", "on text (the main text column)"
    skip = {"url", config.split_key, *(lab.source for lab in config.labels)}
    lengths = {
        str(c): float(_texts(frame, str(c)).map(len).median()) if len(frame) else 0.0
        for c in text_cols
        if c not in skip
    }
    best = max(lengths, key=lambda c: lengths[c], default=None)
    if best is None or lengths[best] < MAIN_TEXT_CHARS:
        return None, (
            "off (no main text column: no 'text' column and no string column with a median "
            f"length of {MAIN_TEXT_CHARS}+ characters; set dedupe.column)"
        )
    return best, f"on {best} (the longest text column, median {lengths[best]:.0f} characters)"
