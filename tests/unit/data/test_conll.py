"""CoNLL-U and CoNLL readers: one row per sentence, index = line of the first word."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from manyheads.data.conll import read_conll
from manyheads.data.io import read_table
from manyheads.errors import DataError

CONLLU = """\
# newdoc id = doc1
# sent_id = doc1-0001
# text = I don't know.
1\tI\tI\tPRON\tPRP\t_\t4\tnsubj\t4:nsubj\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t4:aux\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t4:advmod\t_
4\tknow\tknow\tVERB\tVB\t_\t0\troot\t0:root\t_
4.1\tit\t_\t_\t_\t_\t_\t_\t4:obj\t_
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t4:punct\t_

# sent_id = doc1-0002
# text = Go!
1\tGo\tgo\tVERB\tVB\t_\t0\troot\t0:root\tSpaceAfter=No
2\t!\t!\tPUNCT\t.\t_\t1\tpunct\t1:punct\t_
"""

IOB2 = """\
# sent_id = doc1-0001
# text = Peter lives in New York
1\tPeter\tB-PER\t-\tann
2\tlives\tO\t-\t-
3\tin\tO\t-\t-
4\tNew\tB-LOC\t-\tann
5\tYork\tI-LOC\t-\tann

# sent_id = doc1-0002
1\t#\tO\t-\t-
2\tfun\tO\t-\t-
"""

V0 = """\
# sent_id = s1
1\tAl\tB-ORG\t-\tstephen
2\tsaid\tO
3\tit\tO

# sent_id = s2
1\tOK\tO
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_conllu_keeps_syntactic_words_and_skips_ranges_and_empty_nodes(tmp_path: Path) -> None:
    frame = read_conll(_write(tmp_path, "d.conllu", CONLLU))
    assert frame.columns.tolist() == ["tokens", "lemma", "upos", "xpos", "sent_id"]
    assert frame["tokens"].tolist() == [["I", "do", "n't", "know", "."], ["Go", "!"]]
    assert frame["upos"].iloc[0] == ["PRON", "AUX", "PART", "VERB", "PUNCT"]
    assert frame["lemma"].iloc[1] == ["go", "!"]
    assert frame["sent_id"].tolist() == ["doc1-0001", "doc1-0002"]
    assert frame.index.tolist() == [4, 14]  # the line of each sentence's first word
    assert frame.attrs["path"].endswith("d.conllu")


def test_conllu_gz_reads_the_same(tmp_path: Path) -> None:
    plain = read_conll(_write(tmp_path, "d.conllu", CONLLU))
    packed = read_conll(_write(tmp_path, "d.conllu.gz", CONLLU))
    assert packed.equals(plain)


def test_conllu_with_a_wrong_column_count_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.conllu", CONLLU.replace("4\tknow\tknow\tVERB\t", "4\tknow\t"))
    with pytest.raises(
        DataError, match=r"bad\.conllu, line 8: expected the 10 tab-separated columns of CoNLL-U"
    ):
        read_conll(path)


def test_iob2_drops_the_index_and_names_several_tag_columns(tmp_path: Path) -> None:
    frame = read_conll(_write(tmp_path, "dev.iob2", IOB2))
    assert frame.columns.tolist() == ["tokens", "tag1", "tag2", "tag3", "sent_id"]
    assert frame["tokens"].tolist() == [["Peter", "lives", "in", "New", "York"], ["#", "fun"]]
    assert frame["tag1"].iloc[0] == ["B-PER", "O", "O", "B-LOC", "I-LOC"]
    assert frame["sent_id"].tolist() == ["doc1-0001", "doc1-0002"]
    assert frame.index.tolist() == [3, 10]


def test_trailing_columns_present_on_some_lines_only_are_dropped(tmp_path: Path) -> None:
    frame = read_conll(_write(tmp_path, "train.iob2.gz", V0))
    assert frame.columns.tolist() == ["tokens", "tag", "sent_id"]
    assert frame["tag"].tolist() == [["B-ORG", "O", "O"], ["O"]]


def test_a_line_without_its_tag_names_file_line_and_the_expected_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.iob2", V0.replace("3\tit\tO", "3\tit"))
    with pytest.raises(
        DataError,
        match=r"bad\.iob2, line 4: 1 column\(s\) after the token index; expected 4 like the "
        r"first token line \(line 2\)",
    ):
        read_conll(path)


def test_a_missing_index_in_an_indexed_file_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.iob2", IOB2.replace("2\tfun\tO", "fun\tO"))
    with pytest.raises(DataError, match=r"bad\.iob2, line 11: expected the token index"):
        read_conll(path)


def test_whitespace_conll_without_index_drops_docstart(tmp_path: Path) -> None:
    text = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n"
    frame = read_conll(_write(tmp_path, "eng.conll", text))
    assert frame.columns.tolist() == ["tokens", "tag1", "tag2", "tag3"]
    assert frame["tokens"].tolist() == [["EU", "rejects"], ["Peter"]]
    assert frame["tag3"].tolist() == [["B-ORG", "O"], ["B-PER"]]
    assert frame.index.tolist() == [3, 6]


def test_words_only_file_reads_for_prediction(tmp_path: Path) -> None:
    frame = read_conll(_write(tmp_path, "raw.conll", "EU\nrejects\n\nPeter\n"))
    assert frame.columns.tolist() == ["tokens"]
    assert frame["tokens"].tolist() == [["EU", "rejects"], ["Peter"]]


def test_a_file_without_sentences_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"empty\.conll: no sentence found"):
        read_conll(_write(tmp_path, "empty.conll", "# only a comment\n\n"))


def test_read_table_dispatches_conll_files(tmp_path: Path) -> None:
    frame = read_table(_write(tmp_path, "dev.bio", IOB2))
    assert frame.index.tolist() == [3, 10]
    assert frame.attrs["row_word"] == "line"


def test_jsonl_token_and_tag_lists_survive_read_table(tmp_path: Path) -> None:
    rows = [
        {"tokens": ["EU", "rejects"], "pos": ["PROPN", "VERB"], "ner": ["B-ORG", "O"]},
        {"tokens": ["Peter"], "pos": ["PROPN"]},
    ]
    path = _write(tmp_path, "t.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    frame = read_table(path)
    assert frame["tokens"].tolist() == [["EU", "rejects"], ["Peter"]]
    assert frame["ner"].iloc[0] == ["B-ORG", "O"]
    assert frame["ner"].isna().tolist() == [False, True]
    assert frame.index.tolist() == [1, 2]


def test_tokens_and_tags_of_different_lengths_fail_in_fit_naming_the_line(tmp_path: Path) -> None:
    import manyheads as mh

    rows = [
        {"tokens": ["EU", "rejects"], "ner": ["B-ORG", "O"]},
        {"tokens": ["Peter", "left"], "ner": ["B-PER"]},
    ]
    path = _write(tmp_path, "t.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(
        DataError,
        match=r"t\.jsonl, line 2, column 'ner': 2 tokens in 'tokens' but 1 tags in 'ner'",
    ):
        mh.fit(
            read_table(path),
            tasks=[mh.Task("ner", type="tagging", scheme="bio")],
            inputs={"tokens": "tokens"},
            valid=read_table(path),
            model_options={"encoder": "bilstm", "encoder_options": {"min_count": 1}},
            epochs=1,
        )
