"""The CRF's log-likelihood and Viterbi path against brute-force enumeration of every tag path."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import Tensor

from manyheads.tasks._crf import crf_log_likelihood, viterbi_decode


def _path_score(emissions: Tensor, crf: Tensor, path: tuple[int, ...]) -> Tensor:
    """s(y) of one sentence ``emissions`` [L, C] written out term by term."""
    n_tags = crf.shape[1]
    score = crf[n_tags, path[0]] + emissions[0, path[0]]
    for t in range(1, len(path)):
        score = score + crf[path[t - 1], path[t]] + emissions[t, path[t]]
    return score + crf[n_tags + 1, path[-1]]


def _all_paths(emissions: Tensor, crf: Tensor) -> dict[tuple[int, ...], Tensor]:
    length, n_tags = emissions.shape
    paths = itertools.product(range(n_tags), repeat=length)
    return {p: _path_score(emissions, crf, p) for p in paths}


def _problem(seed: int, batch: int = 3, width: int = 4, n_tags: int = 3) -> tuple[Tensor, Tensor]:
    gen = torch.Generator().manual_seed(seed)
    emissions = torch.randn(batch, width, n_tags, generator=gen, dtype=torch.float64)
    crf = torch.randn(n_tags + 2, n_tags, generator=gen, dtype=torch.float64)
    return emissions, crf


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_likelihood_matches_brute_force_on_prefix_masks(seed: int) -> None:
    emissions, crf = _problem(seed)
    lengths = [4, 2, 1]
    mask = torch.arange(4).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    tags = torch.randint(0, 3, (3, 4), generator=torch.Generator().manual_seed(seed + 10))
    got = crf_log_likelihood(emissions, tags, mask, crf)
    for b, n in enumerate(lengths):
        scores = _all_paths(emissions[b, :n], crf)
        log_z = torch.logsumexp(torch.stack(list(scores.values())), dim=0)
        gold = scores[tuple(tags[b, :n].tolist())]
        torch.testing.assert_close(got[b], gold - log_z, rtol=1e-10, atol=1e-10)


def test_probabilities_of_all_paths_sum_to_one() -> None:
    emissions, crf = _problem(3, batch=1, width=3)
    mask = torch.ones(1, 3, dtype=torch.bool)
    total = sum(
        float(crf_log_likelihood(emissions, torch.tensor([p]), mask, crf).exp())
        for p in itertools.product(range(3), repeat=3)
    )
    assert total == pytest.approx(1.0, abs=1e-12)


def test_masked_out_positions_are_skipped_not_scored() -> None:
    emissions, crf = _problem(4, batch=1, width=4)
    holes = torch.tensor([[False, True, False, True]])
    tags = torch.tensor([[2, 0, 1, 2]])
    got = crf_log_likelihood(emissions, tags, holes, crf)
    dense = crf_log_likelihood(
        emissions[:, [1, 3]], tags[:, [1, 3]], torch.ones(1, 2, dtype=torch.bool), crf
    )
    torch.testing.assert_close(got, dense)


def test_a_row_without_positions_has_log_likelihood_zero_and_no_nan_gradient() -> None:
    emissions, crf = _problem(5, batch=2)
    emissions.requires_grad_(True)
    mask = torch.tensor([[True, True, True, False], [False] * 4])
    ll = crf_log_likelihood(emissions, torch.zeros(2, 4, dtype=torch.long), mask, crf)
    assert ll[1].item() == 0.0
    ll.sum().backward()
    assert emissions.grad is not None
    assert torch.isfinite(emissions.grad).all()
    assert emissions.grad[1].abs().sum().item() == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_viterbi_returns_the_best_path_of_each_sentence(seed: int) -> None:
    emissions, crf = _problem(seed, batch=3, width=5, n_tags=3)
    lengths = [5, 3, 1]
    mask = torch.arange(5).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    got = viterbi_decode(emissions, mask, crf)
    for b, n in enumerate(lengths):
        scores = _all_paths(emissions[b, :n], crf)
        best = max(scores, key=lambda p: float(scores[p]))
        assert tuple(got[b, :n].tolist()) == best
        assert got[b, n:].tolist() == [0] * (5 - n)


def test_viterbi_without_transitions_is_the_per_token_argmax() -> None:
    emissions, _ = _problem(6, batch=2, width=6, n_tags=4)
    crf = torch.zeros(6, 4, dtype=torch.float64)
    mask = torch.ones(2, 6, dtype=torch.bool)
    assert torch.equal(viterbi_decode(emissions, mask, crf), emissions.argmax(dim=-1))


def test_viterbi_skips_holes_in_the_mask() -> None:
    emissions, crf = _problem(7, batch=1, width=4)
    holes = torch.tensor([[True, False, True, True]])
    got = viterbi_decode(emissions, holes, crf)
    dense = viterbi_decode(emissions[:, [0, 2, 3]], torch.ones(1, 3, dtype=torch.bool), crf)
    assert got[0, [0, 2, 3]].tolist() == dense[0].tolist()
    assert got[0, 1].item() == 0
