"""Turn crawled records into a clean, labelled, split training table (``manyheads dataset build``).

See ``docs/crawl.md``.
"""

from __future__ import annotations

from manyheads.curation._build import build_dataset
from manyheads.curation._clean import clean_text
from manyheads.curation._config import (
    BuildConfig,
    LabelSpec,
    load_build_config,
    parse_build_config,
)
from manyheads.curation._language import detect_language
from manyheads.curation._split import split_of
from manyheads.curation._summary import BuildSummary

__all__ = [
    "BuildConfig",
    "BuildSummary",
    "LabelSpec",
    "build_dataset",
    "clean_text",
    "detect_language",
    "load_build_config",
    "parse_build_config",
    "split_of",
]
