"""Every gradient aggregator against an independent solution computed here, over hard inputs.

Input families (:func:`_jacobian`), each for T = 2..5 tasks: ``random`` (Gaussian rows),
``conflicting`` (rows alternate around ±v), ``near_parallel`` (v plus 1e-3 noise),
``zero_row`` (one task without labels), ``rank_deficient`` (T rows in a 2-dimensional span;
``rank_deficient_cone`` keeps them in a cone, so that no non-negative combination is zero),
``widely_scaled`` (random directions, norms from 1e-3 to 1e3). The Jacobian is drawn in float64
and then cast to the dtype under test; the reference is computed in float64 from the cast
Jacobian, by other means than the method (an exhaustive KKT enumeration for the min-norm point,
an SVD for Aligned-MTL, vector re-implementations of the authors' steps). Tolerances are stated
per test: float64 to 1e-6 relative (the issue's bar), float32 to the round-off of a float32
Gramian.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from manyheads.aggregation import (
    DBMTL,
    IMTL,
    MGDA,
    AlignedMTL,
    CAGrad,
    FairGrad,
    GradDrop,
    GradVac,
    MoCo,
    NashMTL,
    PCGrad,
    UPGrad,
)
from manyheads.aggregation._seeded import SeededRandom

FAMILIES = (
    "random",
    "conflicting",
    "near_parallel",
    "zero_row",
    "rank_deficient",
    "rank_deficient_cone",
    "widely_scaled",
)
DTYPES = [torch.float64, torch.float32]
EXAMPLES = settings(max_examples=20, derandomize=True, deadline=None)
cases = st.tuples(st.integers(0, 2**31 - 1), st.integers(2, 5), st.sampled_from(FAMILIES))


def _jacobian(seed: int, n_tasks: int, family: str, dim: int = 12) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    if family == "conflicting":
        signs = torch.tensor([(-1.0) ** t for t in range(n_tasks)], dtype=torch.float64)
        jac = signs[:, None] * randn(dim) + 0.5 * randn(n_tasks, dim)
    elif family == "near_parallel":
        jac = randn(dim) + 1e-3 * randn(n_tasks, dim)
    elif family == "zero_row":
        jac = randn(n_tasks, dim)
        jac[int(torch.randint(n_tasks, (1,), generator=g))] = 0.0
    elif family == "rank_deficient":
        jac = randn(n_tasks, 2) @ randn(2, dim)
    elif family == "rank_deficient_cone":
        jac = torch.rand(n_tasks, 2, generator=g, dtype=torch.float64) @ randn(2, dim)
    elif family == "widely_scaled":
        jac = randn(n_tasks, dim)
        norms = torch.logspace(-3, 3, n_tasks, dtype=torch.float64)
        norms = norms[torch.randperm(n_tasks, generator=g)]
        jac = jac / jac.norm(dim=1, keepdim=True) * norms[:, None]
    else:
        jac = randn(n_tasks, dim)
    return jac


def _cast(jac: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """The Jacobian in ``dtype`` and, in float64, exactly the same numbers."""
    low = jac.to(dtype)
    return low, low.double()


def _close(got: torch.Tensor, want: torch.Tensor, rtol: float, atol: float) -> None:
    err = float((got.double() - want).norm())
    assert err <= rtol * float(want.norm()) + atol, (err, float(want.norm()))


# --- MGDA: the min-norm point of the convex hull --------------------------------------------


def _min_norm_point(jac: torch.Tensor) -> torch.Tensor:
    """Exhaustive KKT enumeration: on each support S, min ‖Σ α_s g_s‖² s.t. Σ α = 1 is a linear
    system; the best feasible one is the min-norm point (unique, even where α is not)."""
    rows = jac[jac.norm(dim=1) > 0].numpy()
    gram = rows @ rows.T
    best, best_value = None, math.inf
    for k in range(1, len(rows) + 1):
        for support in itertools.combinations(range(len(rows)), k):
            idx = list(support)
            kkt = np.zeros((k + 1, k + 1))
            kkt[:k, :k] = gram[np.ix_(idx, idx)]
            kkt[:k, k] = kkt[k, :k] = 1.0
            rhs = np.zeros(k + 1)
            rhs[k] = 1.0
            alpha = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:k]
            if (alpha < -1e-12).any():
                continue
            point = alpha @ rows[idx]
            value = float(point @ point)
            if value < best_value:
                best, best_value = point, value
    assert best is not None
    return torch.from_numpy(best)


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=cases)
def test_mgda_is_the_min_norm_point(case: tuple[int, int, str], dtype: torch.dtype) -> None:
    """float64: ‖d - d*‖ ≤ 1e-6 ‖d*‖ + 1e-12 max‖g‖; float32: 1e-3 and 1e-6 (Gramian round-off)."""
    jac, ref = _cast(_jacobian(*case), dtype)
    got = MGDA(jac.shape[0])(jac)
    want = _min_norm_point(ref)
    scale = float(ref.norm(dim=1).max())
    if dtype == torch.float64:
        _close(got, want, 1e-6, 1e-12 * scale)
    else:
        _close(got, want, 1e-3, 1e-6 * scale)
    # never worse than the exact optimum by more than the same tolerance
    assert float(got.double().norm()) <= float(want.norm()) * (1 + 1e-3) + 1e-6 * scale


def test_mgda_widely_scaled_update_is_the_optimum_not_853_times_it() -> None:
    jac = _jacobian(7, 5, "widely_scaled")
    got, want = MGDA(5)(jac), _min_norm_point(jac)
    assert float(got.pow(2).sum()) == pytest.approx(float(want.pow(2).sum()), rel=1e-6)


# --- Nash-MTL: the bargaining condition G α = 1/α -------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=cases.filter(lambda c: c[2] != "rank_deficient"))
def test_nash_mtl_solves_the_bargaining_condition(
    case: tuple[int, int, str], dtype: torch.dtype
) -> None:
    """max_t |α_t (Gα)_t - 1| ≤ 1e-6 (float64) or 1e-3 (float32 weights and Gramian), on the
    tasks with a gradient; a task without one gets α = 0. ``rank_deficient`` rows have a zero
    non-negative combination (Pareto stationary): no solution exists there."""
    jac, ref = _cast(_jacobian(*case), dtype)
    method = NashMTL(jac.shape[0])
    update = method(jac)
    alpha = method.alpha.double()
    active = ref.norm(dim=1) > 0
    assert (alpha[~active] == 0).all()
    sub = ref[active]
    residual = alpha[active] * (sub @ sub.T @ alpha[active]) - 1.0
    assert float(residual.abs().max()) <= (1e-6 if dtype == torch.float64 else 1e-3)
    _close(update, alpha @ ref, 1e-6 if dtype == torch.float64 else 1e-5, 0.0)


def test_nash_mtl_small_task_weight_is_exact_not_biased_by_a_regulariser() -> None:
    jac = _jacobian(3, 3, "widely_scaled")
    method = NashMTL(3)
    method(jac)
    gram = jac @ jac.T
    alpha = method.alpha
    assert float((alpha * (gram @ alpha) - 1).abs().max()) < 1e-6
    # one gradient of norm 1e-3 among 1 and 1e3: its weight is large, about 1/norm
    small = int(jac.norm(dim=1).argmin())
    assert float(alpha[small]) > 100


# --- UPGrad: projections onto the dual cone -------------------------------------------------


def _dual_cone_weights(gram: np.ndarray, pref: np.ndarray) -> np.ndarray:
    """TorchJD's regularised problem solved independently: for each t, min vᵀ Ĝ v s.t.
    v ≥ p_t e_t with Ĝ = G / tr(G) + 1e-4 I (Proposition 1 of Quinton & Rey), by SLSQP."""
    n = gram.shape[0]
    reg = gram / gram.trace() + 1e-4 * np.eye(n)
    total = np.zeros(n)
    for t in range(n):
        lower = np.zeros(n)
        lower[t] = pref[t]
        result = minimize(
            lambda v, r=reg: float(v @ r @ v),
            lower + 1.0,
            jac=lambda v, r=reg: 2 * r @ v,
            bounds=[(lo, None) for lo in lower],
            method="SLSQP",
            options={"ftol": 1e-15, "maxiter": 500},
        )
        total += result.x
    return total


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=cases.filter(lambda c: c[2] not in ("zero_row", "widely_scaled")))
def test_upgrad_projects_onto_the_dual_cone(case: tuple[int, int, str], dtype: torch.dtype) -> None:
    """The weights w match an independent QP of the same problem (1e-4 relative: SLSQP's and
    quadprog's tolerances; float32 1e-3), and the update conflicts with no task beyond the
    regularisation: the KKT conditions give Ĝ w ≥ 0, i.e. g_tᵀ d ≥ -1e-4 tr(G) w_t."""
    jac, ref = _cast(_jacobian(*case), dtype)
    n = jac.shape[0]
    update = UPGrad(n)(jac)
    gram = (ref @ ref.T).numpy()
    weights = torch.from_numpy(_dual_cone_weights(gram, np.full(n, 1.0 / n)))
    tol = 1e-4 if dtype == torch.float64 else 1e-3
    _close(update, weights @ ref, tol, 0.0)
    dots = ref @ update.double()
    slack = 1e-4 * float(np.trace(gram)) * weights
    assert (dots >= -slack - tol * float(np.trace(gram)) * float(weights.max())).all()


def test_upgrad_options_reach_torchjd() -> None:
    jac = _jacobian(1, 3, "conflicting")
    pref = [0.2, 0.3, 0.5]
    update = UPGrad(3, pref_vector=pref, reg_eps=1e-3, norm_eps=0.0)(jac)
    gram = (jac @ jac.T).numpy()
    n = 3
    reg = gram / gram.trace() + 1e-3 * np.eye(n)
    total = np.zeros(n)
    for t in range(n):
        lower = np.zeros(n)
        lower[t] = pref[t]
        res = minimize(
            lambda v: float(v @ reg @ v),
            lower + 1.0,
            jac=lambda v: 2 * reg @ v,
            bounds=[(lo, None) for lo in lower],
            method="SLSQP",
            options={"ftol": 1e-15, "maxiter": 500},
        )
        total += res.x
    _close(update, torch.from_numpy(total) @ jac, 1e-4, 0.0)
    assert not torch.allclose(update, UPGrad(3)(jac))


# --- PCGrad: Algorithm 1 on the vectors -----------------------------------------------------


def _pcgrad(jac: torch.Tensor, seed: int) -> torch.Tensor:
    rng = SeededRandom(seed)
    n = jac.shape[0]
    orders = [rng.permutation(n) for _ in range(n)]
    out = torch.zeros(jac.shape[1], dtype=torch.float64)
    for i in range(n):
        g = jac[i].clone()
        for j in orders[i]:
            dot = float(g @ jac[j])
            if j != i and dot < 0 and float(jac[j] @ jac[j]) > 0:
                g = g - dot / float(jac[j] @ jac[j]) * jac[j]
        out += g
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=cases.filter(lambda c: c[2] != "near_parallel"))
def test_pcgrad_is_algorithm_1(case: tuple[int, int, str], dtype: torch.dtype) -> None:
    """Same visiting orders, projections done on vectors: 1e-6 (float64), 1e-3 (float32)
    relative to the largest gradient. (``near_parallel`` rows have inner products near zero
    after projection, where a rounding flips the conflict test.)"""
    jac, ref = _cast(_jacobian(*case), dtype)
    update = PCGrad(jac.shape[0], seed=case[0] % 1000)(jac)
    want = _pcgrad(ref, case[0] % 1000)
    scale = float(ref.norm(dim=1).max())
    _close(update, want, 0.0, (1e-6 if dtype == torch.float64 else 1e-3) * scale)


# --- IMTL-G: equal projections onto every unit gradient -------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=cases.filter(lambda c: c[2] in ("random", "conflicting", "zero_row", "widely_scaled")))
def test_imtl_projects_equally_on_every_unit_gradient(
    case: tuple[int, int, str], dtype: torch.dtype
) -> None:
    """Linearly independent rows: dᵀu_t equal over the tasks with a gradient (1e-6, float32
    1e-3, relative), and d = Σ α_t g_t with Σ α = 1 (Liu et al. 2021, Eq. 8)."""
    jac, ref = _cast(_jacobian(*case), dtype)
    update = IMTL(jac.shape[0])(jac).double()
    active = ref[ref.norm(dim=1) > 0]
    proj = active @ update / active.norm(dim=1)
    tol = 1e-6 if dtype == torch.float64 else 1e-3
    assert float((proj - proj.mean()).abs().max()) <= tol * float(proj.abs().max())
    alpha = torch.linalg.lstsq(active.T, update[:, None]).solution.flatten()
    assert float(alpha.sum()) == pytest.approx(1.0, abs=tol)


# --- Aligned-MTL: the authors' Procrustes step, by an SVD -----------------------------------


def _aligned(jac: torch.Tensor, eps: float) -> torch.Tensor:
    """J = U S Vᵀ: the aligned rows are s_min · U Vᵀ (Senushkin et al. Eq. 10, the authors'
    rank cut max λ · T · eps), summed as in the authors' code."""
    u, s, vh = torch.linalg.svd(jac, full_matrices=False)
    lam = s**2
    keep = lam > lam.max() * jac.shape[0] * eps
    u, s, vh = u[:, keep], s[keep], vh[keep]
    return s.min() * (u @ vh).sum(0)


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=cases)
def test_aligned_mtl_is_the_authors_step(case: tuple[int, int, str], dtype: torch.dtype) -> None:
    """float64: 1e-6 relative. float32: 1e-3, except ``near_parallel``/``widely_scaled``
    (eigenvalues below float32 round-off of the Gramian: left out). A zero row is left out of
    the solve (its weight is 0, as TorchJD's rank cut would also give)."""
    if dtype == torch.float32 and case[2] in ("near_parallel", "widely_scaled"):
        return
    jac, ref = _cast(_jacobian(*case), dtype)
    update = AlignedMTL(jac.shape[0])(jac)
    active = ref[ref.norm(dim=1) > 0]
    want = _aligned(active, torch.finfo(dtype).eps)
    _close(update, want, 1e-6 if dtype == torch.float64 else 1e-3, 0.0)


def test_aligned_mtl_mean_reduction_is_torchjd_scale() -> None:
    jac = _jacobian(2, 4, "random")
    assert torch.allclose(AlignedMTL(4, reduction="mean")(jac) * 4, AlignedMTL(4)(jac))


# --- CAGrad: the authors' step (CAGrad repository, nyuv2/utils.py) --------------------------


def _cagrad(jac: torch.Tensor, c: float) -> torch.Tensor:
    """Re-implemented on the vectors: SLSQP on the dual from the uniform start, then
    g0 + λ g_w, / (1 + c²), × T ("to match the sum loss")."""
    n = jac.shape[0]
    gg = (jac @ jac.T).numpy()
    start = np.ones(n) / n
    radius = c * math.sqrt(gg.mean() + 1e-8) + 1e-8
    result = minimize(
        lambda x: float(x @ gg @ start + radius * math.sqrt(x @ gg @ x + 1e-8)),
        start,
        bounds=[(0, 1)] * n,
        constraints=({"type": "eq", "fun": lambda x: 1 - x.sum()},),
    )
    gw = torch.from_numpy(result.x) @ jac
    lmbda = radius / (float(gw.norm()) + 1e-8)
    return (jac.mean(0) + lmbda * gw) / (1 + c**2) * n


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=cases.filter(lambda c: c[2] != "widely_scaled"))
def test_cagrad_is_the_authors_step(case: tuple[int, int, str], dtype: torch.dtype) -> None:
    """Same solver, same start: 1e-5 relative (float64; SLSQP's stopping tolerance on the
    Gramian versus the vectors), 1e-3 (float32). Widely scaled gradients are left out: the
    authors' absolute 1e-8 terms and SLSQP's default tolerance decide there, not the method."""
    jac, ref = _cast(_jacobian(*case), dtype)
    update = CAGrad(jac.shape[0], c=0.4)(jac)
    _close(update, _cagrad(ref, 0.4), 1e-5 if dtype == torch.float64 else 1e-3, 1e-7)


# --- DB-MTL: LibMTL's DB_MTL step over several steps ----------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=cases)
def test_db_mtl_is_libmtls_step(case: tuple[int, int, str], dtype: torch.dtype) -> None:
    """Three steps with changing losses: buffer starts at 0, buffer ← g + β_k (buffer - g),
    α = max‖buffer‖ / (‖buffer_t‖ + 1e-8), update Σ α_t buffer_t. 1e-9 (float64), 1e-5
    (float32) relative."""
    seed, n, family = case
    method = DBMTL(n)
    buffer = torch.zeros(n, 12, dtype=torch.float64)
    for step in range(1, 4):
        jac, ref = _cast(_jacobian(seed + step, n, family), dtype)
        losses = torch.linspace(0.5, 2.0, n, dtype=torch.float64) * step
        method.observe_losses(losses.to(dtype))
        update = method(jac)
        grads = ref / (losses.to(dtype).double()[:, None] + 1e-8)
        buffer = grads + (0.9 / step**0.5) * (buffer - grads)
        norms = buffer.norm(dim=1)
        want = (norms.max() / (norms + 1e-8)) @ buffer
        _close(update, want, 1e-9 if dtype == torch.float64 else 1e-5, 0.0)


# --- FairGrad: G w = w^(-1/α) ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(
    case=cases.filter(lambda c: c[2] != "rank_deficient"),
    alpha=st.sampled_from([0.5, 1.0, 2.0]),
)
def test_fairgrad_solves_its_condition(
    case: tuple[int, int, str], alpha: float, dtype: torch.dtype
) -> None:
    """max_t |(G w)_t w_t^(1/α) - 1| ≤ 1e-6 (float64), 1e-3 (float32) on the tasks with a
    gradient (Ban & Ji Eq. 4); a task without one gets 0. Left out: ``rank_deficient`` (no
    solution: a zero non-negative combination), and float32 ``widely_scaled`` with α ≠ 1 (the
    float32 Gramian's round-off is amplified by the power)."""
    if dtype == torch.float32 and case[2] == "widely_scaled" and alpha != 1.0:
        return
    jac, ref = _cast(_jacobian(*case), dtype)
    update = FairGrad(jac.shape[0], alpha=alpha)(jac)
    gram = ref @ ref.T
    w = torch.linalg.lstsq(ref.T, update.double()[:, None]).solution.flatten()
    active = ref.norm(dim=1) > 0
    sub_w = FairGrad(jac.shape[0], alpha=alpha).weights(jac @ jac.T).double()
    assert (sub_w[~active] == 0).all()
    residual = (gram @ sub_w)[active] * sub_w[active] ** (1.0 / alpha) - 1.0
    assert float(residual.abs().max()) <= (1e-6 if dtype == torch.float64 else 1e-3)
    if case[2] in ("random", "conflicting", "widely_scaled") and dtype == torch.float64:
        assert torch.allclose(w, sub_w, rtol=1e-6)  # the update is Σ w_t g_t


# --- GradDrop: the sign rule; at the features, purity per feature over the batch ------------


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=cases)
def test_graddrop_keeps_one_sign_per_coordinate(
    case: tuple[int, int, str], dtype: torch.dtype
) -> None:
    """Each coordinate of the update is the sum of the positive or of the negative entries of
    its column (exactly, up to one rounding), and leak = 1 is the plain sum."""
    jac, ref = _cast(_jacobian(*case), dtype)
    update = GradDrop(jac.shape[0], seed=case[0] % 97)(jac).double()
    positive, negative = ref.clamp(min=0).sum(0), ref.clamp(max=0).sum(0)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    scale = ref.abs().sum(0) * tol + 1e-30
    assert (((update - positive).abs() <= scale) | ((update - negative).abs() <= scale)).all()
    leak = GradDrop(jac.shape[0], leak=1.0)(jac).double()
    assert torch.allclose(leak, ref.sum(0), rtol=tol, atol=float(scale.max()))


def test_graddrop_rep_grad_purity_is_per_feature_over_the_batch() -> None:
    """Re-implementation of the paper's Section 3.3 (and LibMTL's rule) with the same U."""
    g = torch.Generator().manual_seed(0)
    features = torch.randn(6, 4, generator=g, dtype=torch.float64)  # [B, D]
    jac = torch.randn(3, 24, generator=g, dtype=torch.float64)  # [T, B·D]
    method = GradDrop(3, seed=5)
    u = SeededRandom(0)
    u.rng_state.copy_(method.rng.rng_state)
    draws = u.draw(lambda gen: torch.rand(4, generator=gen)).double()
    got = method.aggregate_features(jac, [features])
    per = jac.reshape(3, 6, 4)
    pure = (per * features.sign()).sum(1)  # [T, D]
    purity = 0.5 * (1 + pure.sum(0) / pure.abs().sum(0))
    mask = ((purity > draws) & (pure > 0)) | ((purity < draws) & (pure < 0))  # [T, D]
    want = (per * mask[:, None, :]).sum(0).reshape(-1)
    assert torch.allclose(got, want, atol=1e-12)
    # the same mask for every sample of a feature: a per-(sample, feature) rule would differ
    assert not torch.allclose(got, GradDrop(3, seed=5)(jac))


# --- GradVac: LibMTL's GradVac step on the vectors -------------------------------------------


def _gradvac(jac: torch.Tensor, orders: list[list[int]], phi_hat: np.ndarray) -> torch.Tensor:
    """Wang et al. Eq. 3-4 as LibMTL writes them (cosine with the current projected row)."""
    out = torch.zeros(jac.shape[1], dtype=torch.float64)
    for i in range(jac.shape[0]):
        g = jac[i].clone()
        for j in orders[i]:
            if j == i or float(jac[j].norm()) == 0 or float(g.norm()) == 0:
                continue
            phi = float(g @ jac[j] / (g.norm() * jac[j].norm()))
            target = phi_hat[i, j]
            if phi < target:
                root = math.sqrt(1 - target**2)
                w = float(g.norm()) * (target * math.sqrt(1 - phi**2) - phi * root)
                g = g + w / (float(jac[j].norm()) * root + 1e-12) * jac[j]
            phi_hat[i, j] = 0.5 * target + 0.5 * phi
        out += g
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=cases.filter(lambda c: c[2] != "near_parallel"))
def test_gradvac_is_the_papers_step(case: tuple[int, int, str], dtype: torch.dtype) -> None:
    """Two steps (the targets move): 1e-6 (float64), 1e-3 (float32) of the largest gradient.
    (``near_parallel``: cosines within round-off of the targets flip the test ``φ < φ̂``.)"""
    seed, n, family = case
    method = GradVac(n, seed=seed % 1000)
    rng = SeededRandom(seed % 1000)
    phi_hat = np.zeros((n, n))
    for step in range(2):
        jac, ref = _cast(_jacobian(seed + step, n, family), dtype)
        update = method(jac)
        want = _gradvac(ref, [rng.permutation(n) for _ in range(n)], phi_hat)
        scale = float(ref.norm(dim=1).max())
        _close(update, want, 0.0, (1e-6 if dtype == torch.float64 else 1e-3) * scale)


# --- MoCo: Eq. 9-11 on the vectors ----------------------------------------------------------


def _simplex(v: torch.Tensor) -> torch.Tensor:
    """Projection onto the simplex by bisection on the threshold (not the sort-based rule)."""
    lo, hi = float(v.min()) - 1.0, float(v.max())
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if float((v - mid).clamp(min=0).sum()) > 1.0:
            lo = mid
        else:
            hi = mid
    return (v - 0.5 * (lo + hi)).clamp(min=0)


@pytest.mark.parametrize("dtype", DTYPES)
@EXAMPLES
@given(case=cases)
def test_moco_is_its_documented_step(case: tuple[int, int, str], dtype: torch.dtype) -> None:
    """Three steps: Y ← Y - β_k (Y - J) from Y = 0, λ ← Π_Δ(λ - γ_k Y Yᵀ λ / max diag),
    update Yᵀ λ. 1e-6 (float64: MoCo keeps λ in a float32 buffer), 1e-4 (float32) relative."""
    seed, n, family = case
    method = MoCo(n)
    y = torch.zeros(n, 12, dtype=torch.float64)
    lambd = torch.full((n,), 1.0 / n, dtype=torch.float64)
    for step in range(1, 4):
        jac, ref = _cast(_jacobian(seed + step, n, family), dtype)
        update = method(jac)
        y = y - 0.5 / step**0.5 * (y - ref)
        gram = y @ y.T
        lambd = _simplex(lambd - 0.1 / step**0.5 * gram @ lambd / gram.diagonal().max())
        want = lambd @ y
        _close(update, want, 1e-6 if dtype == torch.float64 else 1e-4, 1e-12)


# --- seeded methods start over on reset() ---------------------------------------------------


@pytest.mark.parametrize("name", ["pcgrad", "graddrop"])
def test_seeded_aggregators_restart_their_draws_on_reset(name: str) -> None:
    jac = _jacobian(11, 4, "conflicting")
    method = PCGrad(4, seed=3) if name == "pcgrad" else GradDrop(4, seed=3)
    first = [method(jac) for _ in range(3)]
    method.reset()
    again = [method(jac) for _ in range(3)]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], first[1]) or name == "pcgrad"
