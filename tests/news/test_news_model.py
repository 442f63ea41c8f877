"""The twitter-financial-news loader and the news-monitoring model config (issue 20 §1)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.catalogue._harness import call_cli

from manyheads.builtin_datasets import load_dataset
from manyheads.builtin_datasets._twitter_news import SENTIMENT_LABELS, TOPIC_LABELS
from manyheads.config.load import build_config
from manyheads.errors import DataError, InvalidParameterError
from manyheads.workflow._fit import train_config

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "examples" / "news-monitoring" / "model.yaml"


@pytest.fixture(autouse=True)
def _data() -> None:
    folder = Path(os.environ.get("MANYHEADS_DATA", "")) / "twitter-financial-news"
    if not os.environ.get("MANYHEADS_DATA") or not folder.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"the twitter-financial-news data is missing ({folder}); set MANYHEADS_DATA"
            )
        pytest.skip("needs $MANYHEADS_DATA/twitter-financial-news")


def test_the_loader_follows_the_folder_protocol() -> None:
    topic = load_dataset("twitter-financial-news", part="topic")
    sent = load_dataset("twitter-financial-news", part="sentiment")
    # the official validation files are the test sets; 10% of train is held out by group
    assert topic.test is not None
    assert sent.test is not None
    assert len(topic.test) == 4117
    assert len(sent.test) == 2388
    assert len(topic.train) + len(topic.valid) == 16990
    assert len(sent.train) + len(sent.valid) == 9543
    assert 0.09 < len(topic.valid) / 16990 < 0.11
    assert list(topic.train.columns) == ["text", "topic"]
    assert set(topic.train["topic"]) == set(TOPIC_LABELS)
    assert set(sent.test["sentiment"]) == set(SENTIMENT_LABELS)
    # README's example rows: data row numbers index the frames
    assert sent.test.loc[1, "sentiment"] == "Bearish"
    assert sent.test.loc[1, "text"].startswith("$ALLY - Ally Financial pulls outlook")
    assert topic.test.loc[1, "topic"] == "Analyst Update"

    # near-duplicates (links removed, lower-cased) never straddle train and validation
    def key(t: str) -> str:
        return " ".join(w for w in t.lower().split() if not w.startswith("http"))

    assert not set(topic.train.text.map(key)) & set(topic.valid.text.map(key))
    assert [t.name for t in topic.tasks] == ["topic"]
    assert topic.inputs == {"text": "text"}


def test_both_parts_stack_with_the_other_label_missing() -> None:
    both = load_dataset("twitter-financial-news", limit=200, seed=1)
    assert len(both.train) + len(both.valid) == 400
    assert both.train["topic"].isna().sum() + both.valid["topic"].isna().sum() == 200
    assert both.train.index[0].startswith("topic:")
    again = load_dataset("twitter-financial-news", limit=200, seed=1)
    assert both.train.equals(again.train)  # seeded
    small = load_dataset("twitter-financial-news", part="topic", train_rows=50)
    assert len(small.train) == 50
    assert small.test is not None
    assert len(small.test) == 4117


def test_bad_options_name_the_option_and_the_choices() -> None:
    with pytest.raises(InvalidParameterError, match=r"'part' option .* 'topic', 'sentiment' or"):
        load_dataset("twitter-financial-news", part="topics")
    with pytest.raises(InvalidParameterError, match=r"'train_rows' option .* Got 0"):
        load_dataset("twitter-financial-news", train_rows=0)


def test_a_file_with_a_bad_label_names_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "twitter-financial-news"
    folder.mkdir()
    (folder / "sent_train.csv").write_text("text,label\nup we go,1\nhmm,7\n")
    (folder / "sent_valid.csv").write_text("text,label\nfine,2\n")
    monkeypatch.setenv("MANYHEADS_DATA", str(tmp_path))
    with pytest.raises(DataError, match=r"sent_train\.csv.*line 3.*0\.\.2; got '7'") as info:
        load_dataset("twitter-financial-news", part="sentiment")
    assert "line 3" in str(info.value)


def _model() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(MODEL.read_text())
    return raw


def test_the_model_config_validates(capsys: pytest.CaptureFixture[str]) -> None:
    outcome = call_cli(["validate", str(MODEL)], capsys)
    assert outcome.code == 0, outcome.stderr
    raw = _model()
    assert [s["tasks"] for s in raw["data"]["sources"]] == [["topic"], ["sentiment"]]
    assert raw["inputs"] == {"text": "text"}
    assert raw["model"]["encoder"] == "pretrained"


def test_the_model_config_trains_one_epoch_on_a_slice() -> None:
    raw = _model()
    for source in raw["data"]["sources"]:
        source["dataset_options"]["limit"] = 150  # every file: train, validation and test
    raw["model"]["encoder"] = "cnn"  # small and from scratch: the pretrained one is benchmarked
    raw["model"]["encoder_options"] = {"max_length": 48, "n_filters": 16, "embedding_dim": 32}
    raw["train"].update(epochs=1, lr_encoder=None, eval_batch_size=128)
    raw["output"] = None
    run = train_config(build_config(raw))
    assert run.metrics is not None
    assert set(run.metrics["tasks"]) == {"topic", "sentiment"}
    assert run.metrics["tasks"]["topic"]["n"] == 150
    assert run.metrics["tasks"]["sentiment"]["n"] == 150
    assert set(run.metrics["sources"]) == {"topic", "sentiment"}
    out = run.predict(load_dataset("twitter-financial-news", limit=5).test[["text"]])
    assert set(out["topic"]) <= set(TOPIC_LABELS)
    assert set(out["sentiment"]) <= set(SENTIMENT_LABELS)
