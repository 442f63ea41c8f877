"""uner-en-ewt: UD UPOS joined with UNER NER on sent_id; the counts of the data's README."""

from __future__ import annotations

import collections
import gzip
from pathlib import Path

import pytest
from seqeval.metrics.sequence_labeling import get_entities

from manyheads.builtin_datasets import DatasetSplits, list_datasets, load_dataset
from manyheads.errors import DataError, InvalidParameterError

UPOS = {
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM",
    "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X",
}  # fmt: skip
NER = {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"}


@pytest.fixture(scope="module")
def uner(shared_data: Path) -> DatasetSplits:
    return load_dataset("uner-en-ewt")


def test_is_registered() -> None:
    assert "uner-en-ewt" in list_datasets()


def test_split_sizes_words_and_tag_sets_match_the_readme(uner: DatasetSplits) -> None:
    assert uner.test is not None
    splits = {"train": uner.train, "valid": uner.valid, "test": uner.test}
    assert {k: len(v) for k, v in splits.items()} == {"train": 12543, "valid": 2001, "test": 2077}
    words = {k: int(v["tokens"].map(len).sum()) for k, v in splits.items()}
    assert words == {"train": 204579, "valid": 25149, "test": 25097}
    for frame in splits.values():
        assert frame.columns.tolist() == ["tokens", "pos", "ner", "sent_id"]
        assert (frame["pos"].map(len) == frame["tokens"].map(len)).all()
        assert (frame["ner"].map(len) == frame["tokens"].map(len)).all()
        assert {t for row in frame["pos"] for t in row} == UPOS
        assert {t for row in frame["ner"] for t in row} == NER


def test_train_spans_after_mapping_oth_and_b_o_to_o(uner: DatasetSplits) -> None:
    spans = collections.Counter(e[0] for row in uner.train["ner"] for e in get_entities(row))
    assert spans == {"PER": 2873, "LOC": 2698, "ORG": 1434}
    assert uner.test is not None
    test_spans = collections.Counter(e[0] for row in uner.test["ner"] for e in get_entities(row))
    assert test_spans == {"PER": 449, "LOC": 317, "ORG": 322}


def test_tasks_and_inputs(uner: DatasetSplits) -> None:
    assert [(t.name, t.type, t.scheme) for t in uner.tasks] == [
        ("pos", "tagging", None),
        ("ner", "tagging", "bio"),
    ]
    assert uner.inputs == {"tokens": "tokens"}
    first = uner.train.iloc[0]
    assert first["tokens"][:3] == ["Al", "-", "Zaman"]
    assert first["ner"][:5] == ["B-ORG", "I-ORG", "I-ORG", "O", "O"]  # B-OTH -> O
    assert uner.train.index[0] == 5  # the line of the first word in the CoNLL-U file


def test_limit_keeps_the_first_sentences_of_each_split(shared_data: Path) -> None:
    data = load_dataset("uner-en-ewt", limit=4)
    assert data.test is not None
    assert (len(data.train), len(data.valid), len(data.test)) == (4, 4, 4)


def test_limit_must_be_a_positive_int() -> None:
    with pytest.raises(InvalidParameterError, match="'limit' option of dataset uner-en-ewt"):
        load_dataset("uner-en-ewt", limit=0)


def _gz(path: Path, text: str) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(text)


def _conllu(sent_id: str, words: list[tuple[str, str]]) -> str:
    lines = [f"# sent_id = {sent_id}"]
    lines += [f"{i}\t{w}\t{w}\t{p}\t_\t_\t0\tdep\t_\t_" for i, (w, p) in enumerate(words, 1)]
    return "\n".join(lines) + "\n\n"


def _fake_folder(tmp_path: Path, train_ner: str) -> Path:
    folder = tmp_path / "uner-en-ewt"
    folder.mkdir()
    ud = _conllu("a-1", [("Al", "PROPN"), ("left", "VERB")]) + _conllu("a-2", [("Go", "VERB")])
    dev_ner = (
        "# sent_id = a-2\n1\tGo\tO\t-\t-\n\n# sent_id = a-1\n1\tAl\tB-PER\t-\tx\n2\tleft\tO\t-\t-\n"
    )
    for split in ("train", "dev", "test"):
        _gz(folder / f"en_ewt-ud-{split}.conllu.gz", ud)
    _gz(folder / "en_ewt-ud-train.v0-prerelease.iob2.gz", train_ner)
    _gz(folder / "en_ewt-ud-dev.iob2.gz", dev_ner)
    _gz(folder / "en_ewt-ud-test.iob2.gz", dev_ner)
    return folder


def test_join_follows_sent_id_and_maps_v0_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v0 = "# sent_id = a-1\n1\tAl\tB-OTH\t-\tx\n2\tleft\tB-O\n\n# sent_id = a-2\n1\tGo\tI-OTH\n"
    _fake_folder(tmp_path, v0)
    monkeypatch.setenv("MANYHEADS_DATA", str(tmp_path))
    data = load_dataset("uner-en-ewt")
    assert data.train["ner"].tolist() == [["O", "O"], ["O"]]
    assert data.valid["ner"].tolist() == [["B-PER", "O"], ["O"]]  # dev NER is in another order
    assert data.valid["pos"].tolist() == [["PROPN", "VERB"], ["VERB"]]


def test_misaligned_layers_name_the_sentence_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v0 = "# sent_id = a-1\n1\tAl\tO\n\n# sent_id = a-2\n1\tGo\tO\n"
    _fake_folder(tmp_path, v0)
    monkeypatch.setenv("MANYHEADS_DATA", str(tmp_path))
    with pytest.raises(
        DataError,
        match=r"en_ewt-ud-train\.conllu\.gz, line 2: sentence 'a-1' has 2 words here but 1 tags "
        r"in en_ewt-ud-train\.v0-prerelease\.iob2\.gz",
    ):
        load_dataset("uner-en-ewt")
