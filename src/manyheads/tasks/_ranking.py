"""Ranking metrics over each user's list: AUC, GAUC, NDCG@k and recall@k (docs/ranking.md).

Every function takes flat arrays, one entry per impression: ``group`` (the user id, any
hashable values), ``y`` (0/1 labels) and ``score`` (the predicted probability), and is
vectorised: one stable sort by (group, score), then per-group sums with ``np.bincount``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["gauc", "ndcg_at_k", "ranking_metrics", "recall_at_k", "tie_averaged_ranks"]


def _codes(group: np.ndarray) -> np.ndarray:
    """Dense integer codes 0..G-1 of the group values."""
    return np.unique(np.asarray(group), return_inverse=True)[1].reshape(-1)


def tie_averaged_ranks(codes: np.ndarray, score: np.ndarray) -> np.ndarray:
    """1-based ranks of ``score`` inside each group, ties sharing their average rank.

    Example:
        >>> tie_averaged_ranks(np.array([0, 0, 0, 1]), np.array([0.2, 0.5, 0.2, 0.9])).tolist()
        [1.5, 3.0, 1.5, 1.0]
    """
    order = np.lexsort((score, codes))
    c, s = codes[order], score[order]
    n = len(c)
    new_group = np.r_[True, c[1:] != c[:-1]]
    new_tie = new_group | np.r_[True, s[1:] != s[:-1]]
    tie_id = np.cumsum(new_tie) - 1
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    position = np.arange(n) - group_start + 1.0  # 1-based rank inside the group
    mean_rank = np.bincount(tie_id, position) / np.bincount(tie_id)
    ranks = np.empty(n)
    ranks[order] = mean_rank[tie_id]
    return ranks


def _per_group_auc(codes: np.ndarray, y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """AUC of each group (Mann-Whitney U with tie-averaged ranks); NaN without both classes."""
    ranks = tie_averaged_ranks(codes, score)
    n_groups = int(codes.max()) + 1
    n_pos = np.bincount(codes, y, minlength=n_groups)
    n_all = np.bincount(codes, minlength=n_groups).astype(np.float64)
    n_neg = n_all - n_pos
    rank_sum = np.bincount(codes, ranks * y, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def gauc(group: np.ndarray, y: np.ndarray, score: np.ndarray) -> float:
    """Group AUC: each user's AUC weighted by the user's impressions (Zhou et al., DIN, 2018).

    ``sum_u n_u AUC_u / sum_u n_u`` over the users with both a positive and a negative (an AUC
    is undefined otherwise); NaN when no user has both.

    Example:
        >>> g = np.array(["a", "a", "a", "b", "b"])
        >>> gauc(g, np.array([1, 0, 0, 1, 0]), np.array([0.9, 0.1, 0.5, 0.2, 0.4]))
        0.6
    """
    codes = _codes(group)
    if len(codes) == 0:
        return float("nan")
    y = np.asarray(y, dtype=np.float64)
    auc = _per_group_auc(codes, y, np.asarray(score, dtype=np.float64))
    weight = np.bincount(codes).astype(np.float64)
    ok = np.isfinite(auc)
    return float(np.sum(auc[ok] * weight[ok]) / np.sum(weight[ok])) if ok.any() else float("nan")


def _top_k(codes: np.ndarray, score: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(order, slot)``: rows sorted by group then score descending (ties: original order),
    and each sorted row's 0-based slot in its group's list."""
    order = np.lexsort((np.arange(len(codes)), -score, codes))
    c = codes[order]
    n = len(c)
    new_group = np.r_[True, c[1:] != c[:-1]]
    start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    return order, np.arange(n) - start


@dataclass(frozen=True)
class _Ranked:
    """The impressions of each user ranked by score: what NDCG@k and recall@k read."""

    codes: np.ndarray  # [N] the user code of each row
    y: np.ndarray  # [N] the labels, float64
    order: np.ndarray  # rows sorted by user, then score descending (see _top_k)
    slot: np.ndarray  # each sorted row's 0-based slot in its user's list
    n_pos: np.ndarray  # [n_users] the positives of each user


def _ranked(group: np.ndarray, y: np.ndarray, score: np.ndarray, k: int) -> _Ranked | None:
    """Each user's impressions ranked by ``score``; None without impressions."""
    codes = _codes(group)
    if len(codes) == 0:
        return None
    labels = np.asarray(y, dtype=np.float64)
    order, slot = _top_k(codes, np.asarray(score, dtype=np.float64), k)
    n_pos = np.bincount(codes, labels, minlength=int(codes.max()) + 1)
    return _Ranked(codes, labels, order, slot, n_pos)


def ndcg_at_k(group: np.ndarray, y: np.ndarray, score: np.ndarray, k: int = 10) -> float:
    """Mean NDCG@k over the users with at least one positive (binary gains).

    ``DCG@k = sum_{i<k} y_(i) / log2(i + 2)`` over the user's impressions sorted by ``score``
    (ties keep their input order), divided by the DCG of the ideal order (all positives first).

    Example:
        >>> g = np.array([0, 0, 0, 1, 1])
        >>> round(ndcg_at_k(g, np.array([0, 1, 0, 0, 0]), np.array([0.9, 0.5, 0.1, 0.3, 0.2])), 4)
        0.6309
    """
    ranked = _ranked(group, y, score, k)
    if ranked is None:
        return float("nan")
    gain, slot = ranked.y[ranked.order], ranked.slot
    discount = np.where(slot < k, 1.0 / np.log2(slot + 2.0), 0.0)
    dcg = np.bincount(ranked.codes[ranked.order], gain * discount, minlength=len(ranked.n_pos))
    ideal_cum = np.cumsum(1.0 / np.log2(np.arange(k) + 2.0))
    has = ranked.n_pos > 0
    idcg = ideal_cum[np.minimum(ranked.n_pos[has], k).astype(int) - 1]
    return float(np.mean(dcg[has] / idcg)) if has.any() else float("nan")


def recall_at_k(group: np.ndarray, y: np.ndarray, score: np.ndarray, k: int = 10) -> float:
    """Mean recall@k over the users with at least one positive: the share of the user's
    positives among the user's ``k`` highest-scored impressions.

    Example:
        >>> g = np.array([0, 0, 0, 1, 1])
        >>> recall_at_k(g, np.array([1, 1, 0, 0, 1]), np.array([0.9, 0.1, 0.5, 0.3, 0.2]), k=1)
        0.25
    """
    ranked = _ranked(group, y, score, k)
    if ranked is None:
        return float("nan")
    order, n_pos = ranked.order, ranked.n_pos
    hits = np.bincount(
        ranked.codes[order], ranked.y[order] * (ranked.slot < k), minlength=len(n_pos)
    )
    has = n_pos > 0
    return float(np.mean(hits[has] / n_pos[has])) if has.any() else float("nan")


def ranking_metrics(
    group: np.ndarray, y: np.ndarray, score: np.ndarray, *, k: int = 10
) -> dict[str, float]:
    """``gauc``, ``ndcg@k`` and ``recall@k`` of one binary task over the labelled rows given.

    Example:
        >>> g, y = np.array([0, 0, 1, 1]), np.array([1, 0, 0, 1])
        >>> ranking_metrics(g, y, np.array([0.8, 0.2, 0.3, 0.6]), k=1)
        {'gauc': 1.0, 'ndcg@1': 1.0, 'recall@1': 1.0}
    """
    return {
        "gauc": gauc(group, y, score),
        f"ndcg@{k}": ndcg_at_k(group, y, score, k),
        f"recall@{k}": recall_at_k(group, y, score, k),
    }
