"""Build a labelled, cleaned, deduplicated, split training table from crawled records."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from manyheads._registry import did_you_mean
from manyheads.curation._clean import clean_text
from manyheads.curation._config import BuildConfig
from manyheads.curation._labels import map_label
from manyheads.curation._language import detect_language
from manyheads.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BuildSummary", "build_dataset", "read_source", "split_of"]

_TABLES = (".csv", ".csv.gz", ".parquet", ".jsonl", ".jsonl.gz")


@dataclass
class BuildSummary:
    """What a build kept and dropped, rule by rule, and the label distributions."""

    source: str
    output: str
    n_read: int = 0
    dropped: list[tuple[str, int]] = field(default_factory=list)
    n_kept: int = 0
    splits: dict[str, int] = field(default_factory=dict)
    labels: dict[str, dict[str, int]] = field(default_factory=dict)
    cleared: dict[str, dict[str, int]] = field(default_factory=dict)
    dedupe: str = ""
    dropped_rows: dict[str, list[str]] = field(default_factory=dict)

    #: Dropped rows listed per rule in the printed summary (all are in ``dropped_rows``).
    SHOWN = 5

    def __str__(self) -> str:
        from manyheads.crawl._redact import redact

        lines = [f"dataset build: {redact(self.source)} -> {self.output}"]
        lines.append(f"  {'rows read':<40}{self.n_read:>8}")
        if self.dedupe:
            lines.append(f"  dedupe: {self.dedupe}")
        for rule, n in self.dropped:
            lines.append(f"  {'dropped: ' + rule:<40}{n:>8}")
            rows = self.dropped_rows.get(rule, [])
            lines += [f"    {row}" for row in rows[: self.SHOWN]]
            if len(rows) > self.SHOWN:
                lines.append(f"    ... and {len(rows) - self.SHOWN} more")
        lines.append(f"  {'rows kept':<40}{self.n_kept:>8}")
        lines.append("  split: " + ", ".join(f"{k} {v}" for k, v in self.splits.items()))
        for name, counts in self.labels.items():
            lines.append(f"  label {name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        for name, counts in self.cleared.items():
            gone = ", ".join(f"{k} {v}" for k, v in counts.items())
            lines.append(f"  label {name}: absent from train, cleared in valid/test: {gone}")
        return "\n".join(lines)


def split_of(key: str, *, valid: float, test: float, salt: str) -> str:
    """``train``/``valid``/``test`` from a hash of ``key``: stable as rows come and go.

    Example:
        >>> split_of("http://h/review/1", valid=0.1, test=0.1, salt="manyheads")
        'train'
    """
    digest = hashlib.sha256(f"{salt}\0{key}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return "test" if u < test else "valid" if u < test + valid else "train"


def read_source(source: str) -> pd.DataFrame:
    """Records from a crawl store (path or SQLAlchemy URL) or a table file."""
    from manyheads.crawl import read_store

    lower = source.lower()
    if lower.endswith(_TABLES):
        from manyheads.data import read_table

        return read_table(source).reset_index(drop=True)
    if "://" not in source and not Path(source).exists():
        raise DataError("no such crawl store; run `manyheads crawl` first.", path=source)
    return read_store(source)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value == ""


def _select(frame: pd.DataFrame, config: BuildConfig, source: str) -> pd.DataFrame:
    import pandas as pd

    if not config.columns:
        return frame.copy()
    available = [str(c) for c in frame.columns]
    out = {}
    for name, src in config.columns:
        if src not in frame.columns:
            raise DataError(
                f"the 'columns.{name}' source field '{src}' is not in the records. "
                f"Available: {', '.join(available)}.{did_you_mean(src, available)}",
                path=source,
            )
        out[name] = frame[src]
    if "url" in frame.columns and "url" not in out:
        out = {"url": frame["url"], **out}
    return pd.DataFrame(out)


def _check_columns(frame: pd.DataFrame, config: BuildConfig, source: str) -> None:
    needed = {
        *config.text,
        *config.required,
        *(c for c, _ in config.min_chars),
        *(c for c, _ in config.max_chars),
        *([config.language_column] if config.language_column else []),
        *([config.dedupe_column] if config.dedupe_column else []),
        *(lab.source for lab in config.labels),
    }
    available = [str(c) for c in frame.columns]
    problems = sorted(c for c in needed if c not in frame.columns)
    if problems:
        hints = "".join(did_you_mean(c, available) for c in problems)
        raise DataError(
            f"column(s) {', '.join(problems)} named in the dataset config are not in the "
            f"records. Available: {', '.join(available)}.{hints}",
            path=source,
        )


Rule = tuple[str, Callable[["pd.DataFrame"], Any]]


def _present(frame: pd.DataFrame, column: str) -> Any:
    return frame[column].map(lambda v: not _missing(v))


def _length(frame: pd.DataFrame, column: str, n: int, *, at_least: bool) -> Any:
    lengths = frame[column].map(lambda v: len(v or ""))
    return lengths >= n if at_least else lengths <= n


def _language(frame: pd.DataFrame, column: str, keep: set[str]) -> Any:
    return frame[column].map(lambda v: detect_language(v or "")).isin(keep)


def _filters(config: BuildConfig) -> list[Rule]:
    """Filter rules in order: each maps the current frame to a keep-mask."""
    rules: list[Rule] = [(f"missing {c}", partial(_present, column=c)) for c in config.required]
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


def _texts(frame: pd.DataFrame, column: str) -> Any:
    return frame[column].map(lambda v: "" if _missing(v) else str(v))


def _keys(frame: pd.DataFrame) -> list[str]:
    """How a row is named in the summary: its URL, else its 1-based row number."""
    if "url" in frame.columns:
        return [str(u) for u in frame["url"]]
    return [f"row {i + 1}" for i in range(len(frame))]


def _not_exact_duplicate(frame: pd.DataFrame, column: str) -> list[str | None]:
    """None (kept) or the key of the first row with the same normalised, non-empty text."""
    from manyheads.crawl._dedupe import content_hash

    first: dict[str, str] = {}
    out: list[str | None] = []
    for key, text in zip(_keys(frame), _texts(frame, column), strict=True):
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
    pairs = zip(_keys(frame), _texts(frame, column), strict=True)
    return [index.add(k, minhash_signature(t)) for k, t in pairs]


def _dedupe(config: BuildConfig, column: str | None) -> list[Rule]:
    """Duplicate rules: exact (normalised-text hash), then near (MinHash LSH); first URL wins.

    Each maps the frame to one entry per row: None (kept) or the key of the row it repeats.
    """
    if column is None:
        return []
    rules: list[Rule] = []
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


def build_dataset(
    source: str, config: BuildConfig, output: str | Path, *, overwrite: bool = False
) -> BuildSummary:
    """Read records, clean, filter, deduplicate, label and split them; write Parquet.

    Args:
        source: a crawl store (``crawl.db``, ``sqlite:///crawl.db``, ``postgresql://...``) or
            a CSV/Parquet/JSONL table.
        config: the build config.
        output: the Parquet file to write (with a ``split`` column); its folder is created.
            Written to a temporary file and renamed.
        overwrite: replace an existing ``output`` (else it is refused, before reading).

    Raises:
        DataError: unreadable source, unknown columns, nothing left after the filters, or an
            output that exists (without ``overwrite``), is the source, or cannot be written.
    """
    import pandas as pd

    from manyheads._files import atomic_write, check_output_file, os_error

    out = Path(output)
    try:
        if out.resolve() == Path(source).resolve():
            raise DataError("is the source of the build; write the table elsewhere.", path=str(out))
    except (OSError, RuntimeError):
        pass
    if out.parent.exists() or not out.name.lower().endswith(".parquet"):
        check_output_file(out, overwrite=overwrite, extensions=(".parquet",))
    else:  # the folder is created at the end: what exists of it must be a writable folder
        folder = out.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        check_output_file(folder / out.name, overwrite=True, extensions=(".parquet",))
    frame = _select(read_source(source), config, source)
    _check_columns(frame, config, source)
    summary = BuildSummary(source=source, output=str(output), n_read=len(frame))
    if "url" in frame.columns:
        frame = frame.sort_values("url", kind="stable").reset_index(drop=True)
    text_cols = config.text or tuple(
        c for c in frame.columns if c != "url" and frame[c].map(lambda v: isinstance(v, str)).any()
    )
    for col in text_cols:
        frame[col] = frame[col].map(clean_text)
    dedupe_col, summary.dedupe = main_text_column(frame, config, tuple(text_cols))
    for rule, keep in _filters(config):
        frame = _apply(frame, keep(frame), rule, summary)
    for rule, repeats in _dedupe(config, dedupe_col):
        found = repeats(frame)
        summary.dropped_rows[rule] = [
            f"{key} (same as {first})"
            for key, first in zip(_keys(frame), found, strict=True)
            if first is not None
        ]
        frame = _apply(frame, [f is None for f in found], rule, summary)
    for spec in config.labels:
        labels = [map_label(spec, v) for v in frame[spec.source].tolist()]
        frame[spec.name] = pd.Series(labels, index=frame.index, dtype=object)
    if not len(frame):
        raise DataError("no rows left after the filters; loosen them.", path=source)
    _split(frame, config, source)
    for spec in config.labels:
        _clear_unseen(frame, spec.name, config.split_column, summary)
    summary.n_kept = len(frame)
    summary.splits = {
        k: int((frame[config.split_column] == k).sum()) for k in ("train", "valid", "test")
    }
    for spec in config.labels:
        counts = Counter("(missing)" if _missing(v) else str(v) for v in frame[spec.name])
        summary.labels[spec.name] = dict(counts.most_common())
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(exc, out.parent, "create the output folder") from None
    check_output_file(out, overwrite=overwrite, extensions=(".parquet",))
    with atomic_write(out) as tmp:
        frame.to_parquet(tmp, index=False)
    return summary


def _clear_unseen(
    frame: pd.DataFrame, label: str, split_column: str, summary: BuildSummary
) -> None:
    """A label value that no train row has cannot be learned: make it a missing label elsewhere.

    (The trainer refuses a class seen only at evaluation time; a rare class can land outside
    train by the hash split alone.)
    """
    values = frame[label]
    present = ~values.map(_missing)
    seen = set(values[present & (frame[split_column] == "train")].astype(str))
    unseen = present & ~values.astype(str).isin(seen)
    if unseen.any():
        summary.cleared[label] = dict(Counter(values[unseen].astype(str)).most_common())
        frame.loc[unseen, label] = None


def _apply(frame: pd.DataFrame, keep: Any, rule: str, summary: BuildSummary) -> pd.DataFrame:
    import numpy as np

    mask = np.asarray(keep, dtype=bool)
    summary.dropped.append((rule, int((~mask).sum())))
    if rule not in summary.dropped_rows:
        summary.dropped_rows[rule] = [k for k, m in zip(_keys(frame), mask, strict=True) if not m]
    return frame[mask].reset_index(drop=True)


def _split(frame: pd.DataFrame, config: BuildConfig, source: str) -> None:
    if config.split_key not in frame.columns:
        raise DataError(
            f"the split key column '{config.split_key}' is not in the records "
            "(set split.key to a stable id column).",
            path=source,
        )
    keys = frame[config.split_key].astype(str)
    if config.split_key == "url":
        # Hash the path and query only: the split survives a move to another host, port or
        # scheme (a mirror, http -> https, a test server on a random port).
        keys = keys.map(_url_path)
    frame[config.split_column] = keys.map(
        lambda k: split_of(k, valid=config.valid, test=config.test, salt=config.salt)
    )


def _url_path(url: str) -> str:
    """``/review/1?x=2`` from ``http://host:8000/review/1?x=2``."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
