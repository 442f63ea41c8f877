"""Ranking metrics (GAUC, NDCG@k, recall@k) against per-user loops over scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata
from sklearn.metrics import ndcg_score, roc_auc_score

from manyheads.tasks._ranking import (
    gauc,
    ndcg_at_k,
    ranking_metrics,
    recall_at_k,
    tie_averaged_ranks,
)


def _lists(seed: int, ties: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 3000
    group = rng.integers(0, 150, size=n).astype(str)  # string ids, ~20 impressions each
    score = rng.random(n)
    if ties:
        score = np.round(score, 1)
    y = (rng.random(n) < 0.2 + 0.5 * score).astype(int)
    return group, y, score


@pytest.mark.parametrize("ties", [False, True])
def test_gauc_is_the_impression_weighted_mean_of_per_user_auc(ties: bool) -> None:
    group, y, score = _lists(0, ties)
    num = den = 0.0
    for g in np.unique(group):
        m = group == g
        if 0 < y[m].sum() < m.sum():
            num += m.sum() * roc_auc_score(y[m], score[m])
            den += m.sum()
    assert gauc(group, y, score) == pytest.approx(num / den, abs=1e-12)


@pytest.mark.parametrize("k", [1, 5, 10])
def test_ndcg_matches_scikit_learn_per_user(k: int) -> None:
    group, y, score = _lists(1, ties=False)
    values = [
        ndcg_score(y[group == g][None], score[group == g][None], k=k)
        for g in np.unique(group)
        if y[group == g].sum() > 0
    ]
    assert ndcg_at_k(group, y, score, k) == pytest.approx(np.mean(values), abs=1e-12)


@pytest.mark.parametrize("k", [1, 3, 10])
def test_recall_at_k_matches_a_loop(k: int) -> None:
    group, y, score = _lists(2, ties=False)
    values = []
    for g in np.unique(group):
        m = group == g
        if y[m].sum() == 0:
            continue
        top = np.argsort(-score[m], kind="stable")[:k]
        values.append(y[m][top].sum() / y[m].sum())
    assert recall_at_k(group, y, score, k) == pytest.approx(np.mean(values), abs=1e-12)


def test_tie_averaged_ranks_match_scipy_per_group() -> None:
    group, _, score = _lists(3, ties=True)
    codes = np.unique(group, return_inverse=True)[1]
    ranks = tie_averaged_ranks(codes, score)
    for g in range(5):
        np.testing.assert_allclose(ranks[codes == g], rankdata(score[codes == g]))


def test_perfect_and_undefined_lists() -> None:
    group = np.array([0, 0, 0, 1, 1])
    y = np.array([1, 0, 0, 0, 0])  # user 1 has no positive: left out of every metric
    perfect = ranking_metrics(group, y, np.array([0.9, 0.1, 0.2, 0.5, 0.6]), k=2)
    assert perfect == {"gauc": 1.0, "ndcg@2": 1.0, "recall@2": 1.0}
    nothing = ranking_metrics(np.array([0, 0]), np.array([0, 0]), np.array([0.1, 0.2]))
    assert all(np.isnan(v) for v in nothing.values())
    empty = ranking_metrics(np.array([]), np.array([]), np.array([]))
    assert all(np.isnan(v) for v in empty.values())
