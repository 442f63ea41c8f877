"""Ordered token ids for sequence encoders: training, word alignment, CJK, round trips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from manyheads.data.sequence import SequenceTokenizer, fitted_max_length, split_words
from manyheads.errors import InvalidParameterError

TEXTS = ["the dress fits well", "the red dress runs small", "lovely fabric, great fit"] * 5


def test_rows_start_with_cls_end_with_sep_and_are_padded() -> None:
    tok = SequenceTokenizer(vocab_size=80, min_count=1).fit(TEXTS)
    enc = tok.encode(["the dress", "the red dress runs small"])
    vocab = tok.tokenizer_.get_vocab()  # type: ignore[union-attr]
    assert enc.ids[0, 0] == vocab["[CLS]"]
    assert enc.ids[0, 3] == vocab["[SEP]"]
    assert enc.ids[0, 4:].tolist() == [tok.pad_id_] * (enc.ids.shape[1] - 4)
    assert enc.attn.sum(axis=1).tolist() == [4, 7]
    assert enc.first is None


def test_words_align_to_their_first_piece_and_truncation_keeps_the_slot() -> None:
    tok = SequenceTokenizer(vocab_size=40, min_count=1, max_length=6).fit(TEXTS)
    words = ["fabric", "unbelievably", "small", "dress", "fit", "well", "the"]
    enc = tok.encode([words], words=True)
    pieces = tok.tokenizer_.encode(words, is_pretokenized=True)  # type: ignore[union-attr]
    firsts = {}
    for position, word in enumerate(pieces.word_ids):
        if word is not None:
            firsts.setdefault(word, position)
    assert enc.wmask is not None
    assert enc.first is not None
    assert enc.wmask.tolist() == [[True] * 7]  # every word keeps its slot (and label)
    for word in range(7):
        assert enc.first[0, word] == firsts.get(word, 0)  # cut-off words point at [CLS]
    assert len(firsts) < 7  # max_length 6 cut some words off
    assert len(set(pieces.word_ids) - {None}) == len(firsts)


def test_a_string_cell_of_a_tokens_column_is_split_into_words() -> None:
    tok = SequenceTokenizer(vocab_size=80, min_count=1).fit(TEXTS)
    enc = tok.encode(["great fit, lovely"], words=True)
    assert enc.wmask is not None
    assert int(enc.wmask.sum()) == len(split_words("great fit, lovely")) == 4


def test_chinese_text_is_tokenised_by_characters() -> None:
    texts = ["我喜欢这件衣服", "这件衣服很好", "衣服太小了"] * 3
    tok = SequenceTokenizer(vocab_size=60, min_count=1).fit(texts)
    tokens = tok.tokenizer_.encode("这件衣服很好").tokens  # type: ignore[union-attr]
    assert tokens == ["[CLS]", "这", "件", "衣", "服", "很", "好", "[SEP]"]


def test_the_default_tokenizer_trains_the_same_vocabulary_every_time() -> None:
    # tokenizers' WordPiece trainer numbers its ## pieces in hash-map order (tokenizers#1794):
    # the default must not, or the same seed trains a different model
    rng = np.random.default_rng(0)
    words = [f"{a}{b}" for a in ("re", "un", "pre", "dis", "over") for b in ("fit", "size", "wash")]
    texts = [" ".join(rng.choice(words, size=8)) for _ in range(300)]
    first = SequenceTokenizer(vocab_size=200, min_count=1).fit(texts).tokenizer_
    assert first is not None
    for _ in range(5):
        again = SequenceTokenizer(vocab_size=200, min_count=1).fit(texts).tokenizer_
        assert again is not None
        assert again.to_str() == first.to_str()


@pytest.mark.parametrize("kind", ["wordpiece", "bpe"])
def test_json_round_trip_encodes_identically(kind: str) -> None:
    tok = SequenceTokenizer(tokenizer=kind, vocab_size=70, min_count=1).fit(TEXTS)
    again = SequenceTokenizer.from_dict(json.loads(json.dumps(tok.to_dict())))
    rows = [["the", "unseen", "dress"], ["small"]]
    a, b = tok.encode(rows, words=True), again.encode(rows, words=True)
    assert np.array_equal(a.ids, b.ids)
    assert np.array_equal(a.first, b.first)  # type: ignore[arg-type]
    assert again.n_ids == tok.n_ids


def test_the_pretrained_tokenizer_is_the_model_s_own() -> None:
    from manyheads.encoders.pretrained import default_model_path

    tok = SequenceTokenizer(tokenizer="pretrained", path=str(default_model_path()), max_length=16)
    tok.fit([])
    enc = tok.encode(["a lovely dress"])
    assert enc.ids[0, 0] == 101  # BERT's [CLS]
    assert enc.ids[0, int(enc.attn[0].sum()) - 1] == 102  # [SEP]
    assert tok.pad_id_ == 0
    assert tok.n_ids == 30522


def test_bad_options_are_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="'tokenizer' option must be one of"):
        SequenceTokenizer(tokenizer="sentencepiece")
    with pytest.raises(InvalidParameterError, match="'max_length' option must be an int >= 3"):
        SequenceTokenizer(max_length=2)
    with pytest.raises(InvalidParameterError, match="needs the model 'path'"):
        SequenceTokenizer(tokenizer="pretrained")
    with pytest.raises(InvalidParameterError, match=r"No tokenizer\.json"):
        SequenceTokenizer(tokenizer="pretrained", path=str(tmp_path)).fit([])


def test_words_past_max_length_are_counted_as_cut() -> None:
    tok = SequenceTokenizer(vocab_size=60, min_count=1, max_length=6).fit(["a red dress", "a hat"])
    enc = tok.encode([["a", "red", "hat", "a", "dress", "red", "hat"], ["a", "hat"]], words=True)
    # [CLS] + 4 words + [SEP] fit in 6 pieces: the last 3 words of row 0 have no piece left
    assert enc.cut is not None
    assert enc.cut.tolist() == [3, 0]
    assert enc.first is not None
    assert enc.first[0].tolist() == [1, 2, 3, 4, 0, 0, 0]


def test_preprocessing_warns_with_the_count_of_cut_words() -> None:
    import pandas as pd

    from manyheads.data.preprocess import TablePreprocessor
    from manyheads.errors import DataWarning
    from manyheads.tasks import Task

    rows = [["a", "red", "dress"] * 4, ["a", "hat"], ["red"] * 9]
    frame = pd.DataFrame({"words": rows, "t": [["X"] * len(r) for r in rows]})
    frame.attrs["path"] = "dev.jsonl"
    options = {"mode": "sequence", "max_length": 8, "min_count": 1, "vocab_size": 60}
    pre = TablePreprocessor({"words": "tokens"}, [Task("t", type="tagging")], text_options=options)
    pre.fit(frame)
    with pytest.warns(DataWarning) as caught:
        pre.transform(frame, labels=False)
    message = str(caught[0].message)
    assert message.startswith(
        "dev.jsonl: column 'words': 9 words in 2 of 3 rows come after the first 8 pieces "
        "(model.encoder_options.max_length), so they have no piece of their own: every encoder "
        "predicts them from its output at the row's first position (the [CLS] start marker)"
    )
    assert "bilstm and cnn have no position limit" in message


@pytest.mark.parametrize(("words", "expected"), [(True, 130), (False, 128)])
def test_a_max_length_of_none_is_fitted_to_the_training_rows(words: bool, expected: int) -> None:
    rows = [["a", "red", "dress"], ["red"] * 128]  # 128 words + [CLS] + [SEP] = 130 pieces
    tok = SequenceTokenizer(max_length=None, min_count=1, vocab_size=60).fit(rows, words=words)
    assert tok.max_length == expected
    assert tok.fitted_length
    enc = tok.encode(rows, words=True)
    assert enc.cut is not None
    assert enc.cut.tolist() == [0, 0 if words else 2]
    again = SequenceTokenizer.from_dict(tok.to_dict())
    assert again.max_length == expected
    assert not again.fitted_length


def test_fitted_max_length_takes_the_longest_word_row_or_a_high_text_percentile() -> None:
    assert fitted_max_length([10, 500], words=True) == 500
    assert fitted_max_length([150] * 2000 + [9000], words=False) == 150
    assert fitted_max_length([], words=True) == 128
