"""Read CoNLL-U and column-per-token CoNLL files into one row per sentence.

Each cell of a token column holds the list of a sentence's values (one per word), which is what a
``tokens`` input and a ``tagging`` task read. The frame's index is the 1-based line of each
sentence's first word line, so errors downstream name the line (see :mod:`manyheads.data.io`).

**CoNLL-U** (``.conllu``, ``.conllu.gz``; https://universaldependencies.org/format.html): columns
``tokens`` (FORM), ``lemma``, ``upos``, ``xpos`` and ``sent_id`` (from ``# sent_id = ...``).
Multiword-token ranges (ID ``n-m``) and empty nodes (ID ``n.m``) are skipped, so the words are the
syntactic words that treebank annotations (and UNER's NER tags) align to.

**Generic CoNLL** (``.conll``, ``.iob``, ``.iob2``, ``.bio``, ``.bioes``, each also ``.gz``): one
token per line, tab- or whitespace-separated columns (tabs when the first token line has one),
a blank line between sentences, ``#`` comment lines before a sentence (``# sent_id = ...`` is
kept as ``sent_id``; a ``#`` line inside a sentence is a token), ``-DOCSTART-`` sentences dropped.
The columns:

* a leading token index is dropped: the file has one when the first fields of its first sentence
  read 1, 2, 3, ...; then every line must start with an integer (``n-m`` / ``n.m`` lines skipped);
* the word column is ``tokens``; one further column is ``tag``, several are ``tag1``, ``tag2`` ...;
* lines may differ in width only by trailing columns: the frame keeps the columns that every
  line has. (UNER's pre-release files write ``index word tag`` for O tokens and ``index word tag -
  annotator`` for entity tokens: they read as ``tokens`` and ``tag``.) A line that lacks the word
  or, when the first token line has tags, every tag, is a DataError naming its line.
"""

from __future__ import annotations

import gc
import gzip
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from manyheads.errors import DataError

__all__ = ["CONLL_SUFFIXES", "is_conll", "read_conll"]

_BASES = (".conllu", ".conll", ".iob", ".iob2", ".bio", ".bioes")
CONLL_SUFFIXES = tuple(s for base in _BASES for s in (base, base + ".gz"))
_SUB_WORD = re.compile(r"^\d+[-.]\d+$")  # multiword range n-m or empty node n.m
_CONLLU_COLUMNS = {"tokens": 1, "lemma": 2, "upos": 3, "xpos": 4}


@dataclass
class _Sentence:
    """The token lines ``(line number, fields)`` of one sentence and its ``sent_id``."""

    sent_id: str | None = None
    lines: list[tuple[int, list[str]]] = field(default_factory=list)


def is_conll(path: str | Path) -> bool:
    """True for a file name with one of :data:`CONLL_SUFFIXES`.

    Example:
        >>> is_conll("en_ewt-ud-dev.conllu.gz"), is_conll("train.iob2"), is_conll("a.csv")
        (True, True, False)
    """
    return str(path).lower().endswith(CONLL_SUFFIXES)


def read_conll(path: str | Path) -> pd.DataFrame:
    """Read a CoNLL-U or CoNLL file into one row per sentence (list cells, one value per word).

    Args:
        path: a file ending in one of :data:`CONLL_SUFFIXES`.

    Raises:
        DataError: the file is missing, unreadable, holds no sentence, or a line is malformed
            (the message names the file and line).

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.iob2"
        >>> _ = path.write_text("1\\tEU\\tB-ORG\\n2\\trejects\\tO\\n\\n1\\tPeter\\tB-PER\\n")
        >>> frame = read_conll(path)
        >>> frame.index.tolist(), frame.columns.tolist(), frame["tag"].tolist()
        ([1, 4], ['tokens', 'tag'], [['B-ORG', 'O'], ['B-PER']])
    """
    text = str(path)
    conllu = text.lower().endswith((".conllu", ".conllu.gz"))
    with _paused_gc():
        sentences = list(_sentences(Path(path), conllu=conllu))
        if not conllu:
            sentences = [s for s in sentences if "-DOCSTART-" not in s.lines[0][1][:2]]
        kept = _syntactic_words(sentences, text) if conllu else _data_columns(sentences, text)
        if not kept:
            raise DataError("no sentence found (token lines separated by blank lines).", path=text)
        frame = _conllu_frame(kept) if conllu else _generic_frame(kept, text)
    frame.index = pd.Index([s.lines[0][0] for s in kept])
    frame.attrs["path"] = text
    frame.attrs["row_word"] = "line"
    return frame


@contextmanager
def _paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: parsing creates millions of small acyclic lists, and
    the collections they trigger would take 3/4 of the reading time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text without the line break)``, or a DataError on unreadable files."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig") as fh:
            for lineno, line in enumerate(fh, start=1):
                yield lineno, line.rstrip("\r\n")
    except FileNotFoundError:
        raise DataError("file not found. Check the path.", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"not UTF-8 text ({exc.reason}). Re-save the file as UTF-8.", path=str(path)
        ) from None
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read the file: {exc}.", path=str(path)) from None


def _sentences(path: Path, *, conllu: bool) -> Iterator[_Sentence]:
    """Blank-line separated blocks of token lines; ``#`` lines before the tokens are comments."""
    current = _Sentence()
    tabs: bool | None = True if conllu else None
    for lineno, line in _lines(path):
        if not line.strip():
            if current.lines:
                yield current
            current = _Sentence()
            continue
        if line.startswith("#") and (conllu or not current.lines):
            key, sep, value = line[1:].partition("=")
            if sep and key.strip() == "sent_id":
                current.sent_id = value.strip()
            continue
        if tabs is None:
            tabs = "\t" in line
        fields = line.rstrip().split("\t") if tabs else line.split()
        current.lines.append((lineno, fields))
    if current.lines:
        yield current


def _syntactic_words(sentences: list[_Sentence], path: str) -> list[_Sentence]:
    """CoNLL-U sentences without multiword ranges and empty nodes (and without empty ones)."""
    kept = []
    for sentence in sentences:
        words = []
        for lineno, fields in sentence.lines:
            if len(fields) != 10:
                raise DataError(
                    f"expected the 10 tab-separated columns of CoNLL-U (ID FORM LEMMA UPOS XPOS "
                    f"FEATS HEAD DEPREL DEPS MISC); got {len(fields)}. Fix the line.",
                    path=path,
                    line=lineno,
                )
            if not _SUB_WORD.match(fields[0]):
                words.append((lineno, fields))
        if words:
            kept.append(_Sentence(sentence.sent_id, words))
    return kept


def _conllu_frame(sentences: list[_Sentence]) -> pd.DataFrame:
    """FORM, LEMMA, UPOS, XPOS of the syntactic words, and ``sent_id``."""
    columns: dict[str, list[object]] = {
        name: [[f[i] for _, f in s.lines] for s in sentences] for name, i in _CONLLU_COLUMNS.items()
    }
    columns["sent_id"] = [s.sent_id for s in sentences]
    return pd.DataFrame(columns)


def _data_columns(sentences: list[_Sentence], path: str) -> list[_Sentence]:
    """Sentences whose fields are the data columns (the token index dropped, if any)."""
    if not sentences:
        return []
    indexed = _has_index(sentences[0])
    kept = [_Sentence(s.sent_id, _data_fields(s, indexed, path)) for s in sentences]
    return [s for s in kept if s.lines]


def _generic_frame(sentences: list[_Sentence], path: str) -> pd.DataFrame:
    """``tokens`` and ``tag`` / ``tag1``, ``tag2``, ... (and ``sent_id`` when the file has it)."""
    rows = [s.lines for s in sentences]
    first_line, first = rows[0][0]
    needed = min(len(first), 2)
    width = len(first)
    for sentence in rows:
        for lineno, fields in sentence:
            if len(fields) < needed:
                raise DataError(
                    f"{len(fields)} column(s) after the token index; expected {len(first)} like "
                    f"the first token line (line {first_line}): the word and its tag(s). Lines "
                    "may only lack trailing columns, never the word or every tag.",
                    path=path,
                    line=lineno,
                )
            width = min(width, len(fields))
    names = ["tokens"] + (["tag"] if width == 2 else [f"tag{i}" for i in range(1, width)])
    columns: dict[str, list[object]] = {
        name: [[f[i] for _, f in sentence] for sentence in rows] for i, name in enumerate(names)
    }
    if any(s.sent_id is not None for s in sentences):
        columns["sent_id"] = [s.sent_id for s in sentences]
    return pd.DataFrame(columns)


def _has_index(sentence: _Sentence) -> bool:
    """Whether the first fields of a sentence count 1, 2, 3, ... (a token index column)."""
    firsts = [f[0] for _, f in sentence.lines if not _SUB_WORD.match(f[0])]
    widths = [len(f) for _, f in sentence.lines]
    return min(widths) >= 2 and firsts == [str(i) for i in range(1, len(firsts) + 1)]


def _data_fields(sentence: _Sentence, indexed: bool, path: str) -> list[tuple[int, list[str]]]:
    """The sentence's lines without the index column (and without ``n-m`` / ``n.m`` lines)."""
    if not indexed:
        return sentence.lines
    out = []
    for lineno, fields in sentence.lines:
        if _SUB_WORD.match(fields[0]):
            continue
        if not fields[0].isdigit():
            raise DataError(
                f"expected the token index (an integer) in the first column, as on the file's "
                f"first lines; got {fields[0]!r}. Fix the line.",
                path=path,
                line=lineno,
            )
        out.append((lineno, fields[1:]))
    return out
