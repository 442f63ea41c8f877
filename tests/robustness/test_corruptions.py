"""Each corruption: strength 0 is the identity, the strength sets how much changes, seeded,
and the shape that the labels depend on (a tokens row's length) is kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import manyheads as mh
from manyheads.robustness import CORRUPTIONS, corrupt_frame
from manyheads.robustness._corruptions import (
    UNSEEN_CATEGORY,
    category_dropout,
    character_typos,
    gaussian_noise,
    pixel_noise,
    typo,
    word_dropout,
)


def _rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_gaussian_noise_has_the_asked_scale_and_keeps_missing_cells() -> None:
    column = pd.Series(np.random.default_rng(0).normal(5.0, 2.0, size=20_000))
    column[3] = np.nan
    noisy = gaussian_noise(column, 0.5, _rng())
    assert bool(noisy.isna()[3])
    assert np.nanstd(noisy - column) == pytest.approx(0.5 * np.nanstd(column), rel=0.03)
    assert gaussian_noise(column, 0.0, _rng()).equals(column)


@pytest.mark.parametrize("strength", [0.0, 0.3, 1.0])
def test_category_dropout_replaces_the_asked_share(strength: float) -> None:
    column = pd.Series(["red", "blue"] * 5_000)
    out = category_dropout(column, strength, _rng())
    share = float((out == UNSEEN_CATEGORY).mean())
    assert share == pytest.approx(strength, abs=0.02)
    assert (out[out != UNSEEN_CATEGORY] == column[out != UNSEEN_CATEGORY]).all()


def test_a_dropped_category_lands_on_the_unseen_index(toy_frame: pd.DataFrame) -> None:
    run = mh.fit(
        toy_frame,
        tasks=[mh.Task("shade", type="multiclass")],
        inputs={"colour": "categorical"},
        epochs=1,
    )
    dropped = toy_frame.assign(colour=category_dropout(toy_frame.colour, 1.0, _rng()))
    encoded = run.preprocessor.transform(dropped, labels=False).x
    assert int(next(iter(encoded.values())).abs().sum()) == 0  # index 0: unseen or missing
    clean = run.preprocessor.transform(toy_frame, labels=False).x
    assert int(next(iter(clean.values())).min()) >= 1


def test_word_dropout_drops_the_asked_share_of_words() -> None:
    column = pd.Series(["one two three four five"] * 2_000 + [None])
    out = word_dropout(column, 0.25, _rng())
    kept = sum(len(c.split()) for c in out.tolist()[:-1])
    assert kept / 10_000 == pytest.approx(0.75, abs=0.02)
    assert pd.isna(out.tolist()[-1])


def test_typos_change_words_and_keep_a_tokens_row_aligned() -> None:
    words = ["London", "is", "big", "and", "rainy"] * 400
    out = character_typos(pd.Series([words, " ".join(words)]), 1.0, _rng())
    assert len(out[0]) == len(words)  # one tag per word still lines up
    changed = np.mean([a != b for a, b in zip(out[0], words, strict=True)])
    assert changed > 0.75  # every word of 2+ letters gets a slip (a swap of equal letters not)
    assert len(out[1].split()) == len(words)
    assert character_typos(pd.Series([words]), 0.0, _rng())[0] == words
    assert typo("a", np.random.default_rng(3)) == "a"  # too short for a slip


def test_pixel_noise_keeps_dtype_and_range() -> None:
    images = pd.Series([np.full((8, 8), 250, dtype=np.uint8), np.zeros((8, 8), dtype=np.uint8)])
    out = pixel_noise(images, 0.5, _rng())
    assert all(o.dtype == np.uint8 and o.shape == (8, 8) for o in out)
    assert out[0].astype(int).mean() < 250  # clipped at 255, so the bright image darkens
    floats = pd.Series([np.linspace(0, 1, 16).reshape(4, 4)])
    noisy = pixel_noise(floats, 0.1, _rng())[0]
    assert noisy.min() >= 0.0
    assert noisy.max() <= 1.0


def test_corrupt_frame_is_seeded_and_leaves_labels_alone(toy_frame: pd.DataFrame) -> None:
    frames = [
        corrupt_frame(toy_frame, ["review"], CORRUPTIONS["typos"], 0.5, np.random.default_rng(1))
        for _ in range(2)
    ]
    assert frames[0].equals(frames[1])
    assert not frames[0].review.equals(toy_frame.review)
    for label in ("good", "shade", "score", "x"):
        assert frames[0][label].equals(toy_frame[label])
