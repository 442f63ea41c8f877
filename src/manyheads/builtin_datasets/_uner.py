"""UD English-EWT (UPOS, r2.9) joined with Universal NER (UNER v1) tags: POS + NER per word.

The files live in ``$MANYHEADS_DATA/uner-en-ewt/`` (its README.md says where they come from). For
each split the CoNLL-U file gives the words and UPOS tags, the UNER ``.iob2`` file the NER tags;
the two are joined on ``# sent_id`` (both readers skip multiword ranges and empty nodes, so the
words line up one to one). The training NER tags are UNER's pre-release v0 file (the final train
file is not in the snapshot); its extra labels ``B-OTH``/``I-OTH`` and ``B-O`` become ``O``.
Validation and test are the official UD dev/test sentences with the final UNER dev/test tags.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from manyheads.builtin_datasets._registry import DatasetSplits, data_root
from manyheads.data.conll import read_conll
from manyheads.errors import DataError, InvalidParameterError
from manyheads.tasks.task import Task

__all__ = ["load_uner_en_ewt"]

_FILES = {
    "train": ("en_ewt-ud-train.conllu.gz", "en_ewt-ud-train.v0-prerelease.iob2.gz"),
    "valid": ("en_ewt-ud-dev.conllu.gz", "en_ewt-ud-dev.iob2.gz"),
    "test": ("en_ewt-ud-test.conllu.gz", "en_ewt-ud-test.iob2.gz"),
}
#: UNER v0 labels that the final release does not have.
_TO_O = frozenset({"B-OTH", "I-OTH", "B-O"})


def load_uner_en_ewt(*, limit: int | None = None) -> DatasetSplits:
    """POS (17 UPOS tags) and NER (PER/ORG/LOC, BIO) on the 12,543 / 2,001 / 2,077 sentences
    of UD English-EWT r2.9 (train / valid / test).

    Args:
        limit: keep only the first ``limit`` sentences of each split (quick runs and tests).

    Raises:
        DataError: ``$MANYHEADS_DATA/uner-en-ewt`` is missing, or the two layers of a split do
            not align (a sentence without NER tags, or with another number of words).

    Needs the data folder, so no doctest: ``load_dataset("uner-en-ewt", limit=100).train`` has
    the columns ``tokens``, ``pos``, ``ner`` (lists, one value per word) and ``sent_id``.
    """
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise InvalidParameterError(
            f"The 'limit' option of dataset uner-en-ewt must be an int >= 1 or None. Got {limit!r}."
        )
    root = data_root("uner-en-ewt")
    frames = {split: _split(root, ud, ner, limit) for split, (ud, ner) in _FILES.items()}
    return DatasetSplits(
        name="uner-en-ewt",
        train=frames["train"],
        valid=frames["valid"],
        test=frames["test"],
        tasks=(Task("pos", type="tagging"), Task("ner", type="tagging", scheme="bio")),
        inputs={"tokens": "tokens"},
        description="UD English-EWT r2.9 UPOS + Universal NER v1 (train: UNER v0 pre-release)",
    )


def _split(root: Path, ud_file: str, ner_file: str, limit: int | None) -> pd.DataFrame:
    """The UD sentences of one split with their UPOS and (joined) NER tags."""
    ud = read_conll(root / ud_file)
    ner = read_conll(root / ner_file)
    if limit is not None:
        ud = ud.iloc[:limit]
    column = "tag" if "tag" in ner.columns else "tag1"
    tags = dict(zip(ner["sent_id"], ner[column], strict=True))
    joined = []
    for line, sent_id, words in zip(ud.index, ud["sent_id"], ud["tokens"], strict=True):
        row = tags.get(sent_id)
        if row is None or len(row) != len(words):
            got = "no sentence" if row is None else f"{len(row)} tags"
            raise DataError(
                f"sentence '{sent_id}' has {len(words)} words here but {got} in {ner_file}: "
                "the UD and UNER files do not align. Use the files listed in the README.",
                path=str(root / ud_file),
                line=int(line),
            )
        joined.append(["O" if tag in _TO_O else tag for tag in row])
    frame = pd.DataFrame(
        {"tokens": ud["tokens"], "pos": ud["upos"], "ner": joined, "sent_id": ud["sent_id"]},
        index=ud.index,
    )
    frame.attrs.update(ud.attrs)
    return frame
