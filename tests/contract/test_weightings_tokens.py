"""Every balancing method on a token-level text model: a tagging task next to a row task.

The features are per-token (``[B, 1 + W, D]``) and the tagging loss masks padding words; each
method (and its ``rep_grad`` form where it has one) must train such a model without error and
with finite losses, as it does a table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import manyheads as mh
from manyheads import create_method, list_methods

WORDS = ["the", "red", "dress", "fits", "well", "badly", "Paris", "Anna", "in", "buys"]


def _frame(n: int = 96) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(n):
        tokens = [str(w) for w in rng.choice(WORDS, size=int(rng.integers(2, 8)))]
        tags = ["B-LOC" if w == "Paris" else "B-PER" if w == "Anna" else "O" for w in tokens]
        rows.append({"tokens": tokens, "ner": tags, "good": int("well" in tokens)})
    return pd.DataFrame(rows)


def _variants() -> list[tuple[str, bool]]:
    out = []
    for name in list_methods():
        out.append((name, False))
        method = create_method(name, 2)
        if getattr(method, "supports_rep_grad", False):
            out.append((name, True))
    return out


@pytest.mark.parametrize(("name", "rep_grad"), _variants())
def test_every_method_trains_a_token_level_model(name: str, rep_grad: bool) -> None:
    frame = _frame()
    run = mh.fit(
        frame,
        tasks=[mh.Task("ner", type="tagging", scheme="bio"), mh.Task("good", type="binary")],
        inputs={"tokens": "tokens"},
        architecture="hps",
        model_options={
            "encoder": "bilstm",
            "encoder_options": {"hidden": 8, "embedding_dim": 8, "min_count": 1},
            "hidden": [8],
            "tower": [],
        },
        method=name,
        method_options={"rep_grad": True} if rep_grad else {},
        epochs=2,
        batch_size=32,
        clip_norm=1.0,
    )
    assert run.history, "no epoch recorded"
    for record in run.history:
        assert np.isfinite(record["train_loss/ner"])
        assert np.isfinite(record["train_loss/good"])
    tags = run.predict(frame.head(3))["ner"].tolist()
    assert [len(t) for t in tags] == [len(t) for t in frame["tokens"].head(3)]
