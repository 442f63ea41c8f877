"""Build a labelled, cleaned, deduplicated, split training table from crawled records.

The steps are :func:`build_dataset`'s, in order; the rules are in
:mod:`manyheads.curation._rules`, the split in :mod:`manyheads.curation._split` and the report in
:mod:`manyheads.curation._summary`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from manyheads._registry import did_you_mean
from manyheads.curation._clean import clean_text
from manyheads.curation._config import BuildConfig
from manyheads.curation._labels import map_label
from manyheads.curation._rules import (
    dedupe_rules,
    filter_rules,
    is_missing,
    main_text_column,
    row_keys,
)
from manyheads.curation._split import assign_splits, split_of
from manyheads.curation._summary import BuildSummary
from manyheads.errors import DataError

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import ArrayLike

__all__ = ["BuildSummary", "build_dataset", "read_source", "split_of"]

_TABLES = (".csv", ".csv.gz", ".parquet", ".jsonl", ".jsonl.gz")


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
    out = Path(output)
    _check_output(out, source, overwrite=overwrite)
    frame = _select(read_source(source), config, source)
    _check_columns(frame, config, source)
    summary = BuildSummary(source=source, output=str(output), n_read=len(frame))
    frame, text_cols = _cleaned(frame, config)
    dedupe_col, summary.dedupe = main_text_column(frame, config, text_cols)
    frame = _filtered(frame, config, dedupe_col, summary)
    _add_labels(frame, config)
    if not len(frame):
        raise DataError("no rows left after the filters; loosen them.", path=source)
    assign_splits(frame, config, source)
    for spec in config.labels:
        _clear_unseen(frame, spec.name, config.split_column, summary)
    _count(frame, config, summary)
    _write(frame, out, overwrite=overwrite)
    return summary


def _check_output(out: Path, source: str, *, overwrite: bool) -> None:
    """Refuse, before reading, an output that is the source or cannot be written."""
    from manyheads._files import check_output_file

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


def _cleaned(frame: pd.DataFrame, config: BuildConfig) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The rows sorted by URL (the first of duplicates is kept), their text columns cleaned."""
    if "url" in frame.columns:
        frame = frame.sort_values("url", kind="stable").reset_index(drop=True)
    text_cols = config.text or tuple(
        c for c in frame.columns if c != "url" and frame[c].map(lambda v: isinstance(v, str)).any()
    )
    for col in text_cols:
        frame[col] = frame[col].map(clean_text)
    return frame, tuple(text_cols)


def _filtered(
    frame: pd.DataFrame, config: BuildConfig, dedupe_col: str | None, summary: BuildSummary
) -> pd.DataFrame:
    """The rows that pass every filter, then every duplicate rule; the dropped are reported."""
    for rule, keep in filter_rules(config):
        frame = _apply(frame, keep(frame), rule, summary)
    for rule, repeats in dedupe_rules(config, dedupe_col):
        found = repeats(frame)
        summary.dropped_rows[rule] = [
            f"{key} (same as {first})"
            for key, first in zip(row_keys(frame), found, strict=True)
            if first is not None
        ]
        frame = _apply(frame, [f is None for f in found], rule, summary)
    return frame


def _add_labels(frame: pd.DataFrame, config: BuildConfig) -> None:
    import pandas as pd

    for spec in config.labels:
        labels = [map_label(spec, v) for v in frame[spec.source].tolist()]
        frame[spec.name] = pd.Series(labels, index=frame.index, dtype=object)


def _count(frame: pd.DataFrame, config: BuildConfig, summary: BuildSummary) -> None:
    """The kept rows, per split and per label value, into ``summary``."""
    summary.n_kept = len(frame)
    summary.splits = {
        k: int((frame[config.split_column] == k).sum()) for k in ("train", "valid", "test")
    }
    for spec in config.labels:
        counts = Counter("(missing)" if is_missing(v) else str(v) for v in frame[spec.name])
        summary.labels[spec.name] = dict(counts.most_common())


def _write(frame: pd.DataFrame, out: Path, *, overwrite: bool) -> None:
    """Parquet through a temporary file; the folder is created first."""
    from manyheads._files import atomic_write, check_output_file, os_error

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(exc, out.parent, "create the output folder") from None
    check_output_file(out, overwrite=overwrite, extensions=(".parquet",))
    with atomic_write(out) as tmp:
        frame.to_parquet(tmp, index=False)


def _clear_unseen(
    frame: pd.DataFrame, label: str, split_column: str, summary: BuildSummary
) -> None:
    """A label value that no train row has cannot be learned: make it a missing label elsewhere.

    (The trainer refuses a class seen only at evaluation time; a rare class can land outside
    train by the hash split alone.)
    """
    values = frame[label]
    present = ~values.map(is_missing)
    seen = set(values[present & (frame[split_column] == "train")].astype(str))
    unseen = present & ~values.astype(str).isin(seen)
    if unseen.any():
        summary.cleared[label] = dict(Counter(values[unseen].astype(str)).most_common())
        frame.loc[unseen, label] = None


def _apply(frame: pd.DataFrame, keep: ArrayLike, rule: str, summary: BuildSummary) -> pd.DataFrame:
    import numpy as np

    mask = np.asarray(keep, dtype=bool)
    summary.dropped.append((rule, int((~mask).sum())))
    if rule not in summary.dropped_rows:
        summary.dropped_rows[rule] = [
            k for k, m in zip(row_keys(frame), mask, strict=True) if not m
        ]
    return frame[mask].reset_index(drop=True)
