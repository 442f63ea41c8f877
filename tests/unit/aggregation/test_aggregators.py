"""Known answers and defining properties of the gradient aggregators."""

from __future__ import annotations

import pytest
import torch

from manyheads import create_method
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
from manyheads.aggregation._moco import project_simplex
from manyheads.aggregation._nash_mtl import nash_weights
from manyheads.aggregation.base import solve_active
from manyheads.errors import InvalidParameterError


def _conflicting(n_tasks: int = 4, dim: int = 30, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n_tasks, dim, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("seed", range(5))
def test_mgda_matches_the_two_task_closed_form(seed: int) -> None:
    g1, g2 = _conflicting(2, 6, seed)
    alpha = ((g2 - g1) @ g2 / (g1 - g2).pow(2).sum()).clamp(0.0, 1.0)  # Sener & Koltun Alg. 1
    expected = alpha * g1 + (1 - alpha) * g2
    got = MGDA(2)(torch.stack([g1, g2]))
    assert torch.allclose(got, expected, atol=1e-6)


def test_pcgrad_removes_the_conflicting_component() -> None:
    g1, g2 = torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 1.0])
    assert g1 @ g2 < 0
    p1 = g1 - (g1 @ g2) / (g2 @ g2) * g2
    p2 = g2 - (g1 @ g2) / (g1 @ g1) * g1
    assert torch.isclose(p1 @ g2, torch.tensor(0.0))
    assert torch.isclose(p2 @ g1, torch.tensor(0.0))
    assert torch.allclose(PCGrad(2)(torch.stack([g1, g2])), p1 + p2)


def test_pcgrad_leaves_agreeing_gradients_alone() -> None:
    grads = _conflicting().abs()
    assert torch.allclose(PCGrad(4)(grads), grads.sum(0))


def test_nash_weights_solve_the_bargaining_condition() -> None:
    grads = _conflicting(5, 40)
    gram = grads @ grads.T
    alpha = nash_weights(gram)
    assert (alpha > 0).all()
    assert torch.allclose(gram @ alpha, 1.0 / alpha, rtol=1e-5)
    update = NashMTL(5)(grads)
    assert torch.allclose(update, alpha @ grads, rtol=1e-5)


def test_nash_state_warm_starts_and_is_saved() -> None:
    method = NashMTL(3, update_every=2)
    grads = _conflicting(3)
    first = method(grads)
    again = method(2 * grads)  # reused: not recomputed on the second step
    assert torch.allclose(again, 2 * first)
    assert method.state_dict()["step"] == 2


@pytest.mark.parametrize("seed", range(5))
def test_upgrad_update_never_conflicts_with_a_task(seed: int) -> None:
    grads = _conflicting(4, 10, seed)
    assert (grads @ UPGrad(4)(grads) >= -1e-6).all()


def test_imtl_projects_equally_on_every_unit_gradient() -> None:
    grads = _conflicting(3, 10)
    update = IMTL(3)(grads)
    projections = (grads / grads.norm(dim=1, keepdim=True)) @ update
    assert torch.allclose(projections, projections[0].expand(3), atol=1e-5)


def test_cagrad_with_zero_radius_is_the_mean_gradient() -> None:
    grads = _conflicting(3)
    # the authors' step is T times the paper's d (their code multiplies by the task count)
    assert torch.allclose(CAGrad(3, c=0.0)(grads), grads.sum(0), atol=1e-5)
    assert torch.allclose(CAGrad(3, c=0.0, reduction="mean")(grads), grads.mean(0), atol=1e-6)


def test_cagrad_improves_the_worst_task_over_the_mean() -> None:
    grads = _conflicting(3, 5, seed=3)
    worst_mean = (grads @ grads.mean(0)).min() / grads.mean(0).norm()
    update = CAGrad(3, c=0.5)(grads)
    assert (grads @ update).min() / update.norm() >= worst_mean - 1e-6


def test_fairgrad_solves_its_fairness_condition() -> None:
    grads = _conflicting(3, 20)
    gram = grads @ grads.T
    w = FairGrad(3, alpha=2.0).weights(gram)
    assert torch.allclose(gram @ w, w.pow(-1 / 2.0), rtol=1e-3)


def test_aligned_mtl_update_has_equal_components_on_orthogonal_gradients() -> None:
    grads = torch.tensor([[3.0, 0.0], [0.0, 1.0]])
    # the authors sum the aligned rows (TorchJD averages: reduction="mean")
    assert torch.allclose(AlignedMTL(2)(grads), torch.tensor([1.0, 1.0]))
    assert torch.allclose(AlignedMTL(2, reduction="mean")(grads), torch.tensor([0.5, 0.5]))


@pytest.mark.parametrize("n_tasks", [1, 2, 3, 6])  # row-by-row sums up to 4 tasks, then reductions
def test_graddrop_keeps_one_sign_per_coordinate_and_leak_one_is_the_sum(n_tasks: int) -> None:
    grads = _conflicting(n_tasks, 2000)
    update = GradDrop(n_tasks)(grads)
    positive, negative = grads.clamp(min=0).sum(0), grads.clamp(max=0).sum(0)
    assert torch.all(torch.isclose(update, positive) | torch.isclose(update, negative))
    if n_tasks > 1:  # both sides occur
        assert bool(torch.isclose(update, positive).any() and torch.isclose(update, negative).any())
    assert torch.allclose(GradDrop(n_tasks, leak=1.0)(grads), grads.sum(0))


def test_graddrop_leak_mixes_the_sum_into_the_kept_side() -> None:
    # Σ_t (ℓ + (1 - ℓ) M_t) g_t = ℓ Σ g + (1 - ℓ) kept, with the same draws for the same seed
    grads = _conflicting(3, 500)
    kept = GradDrop(3, seed=5)(grads)
    mixed = GradDrop(3, leak=0.3, seed=5)(grads)
    assert torch.allclose(mixed, 0.3 * grads.sum(0) + 0.7 * kept)


@pytest.mark.parametrize(("positive", "negative", "purity"), [(1.0, -3.0, 0.25), (3.0, -1.0, 0.75)])
def test_graddrop_keeps_the_positive_sign_with_probability_the_sign_purity(
    positive: float, negative: float, purity: float
) -> None:
    # Eq. 1: P = (1 + sum g / sum |g|) / 2; the positive side is kept when P > U, U ~ U(0, 1).
    n = 200_000
    grads = torch.tensor([[positive], [negative]]).expand(2, n).contiguous()
    update = GradDrop(2, seed=3)(grads)
    assert set(update.unique().tolist()) == {positive, negative}
    share = float((update == positive).double().mean())
    assert abs(share - purity) < 4 * (purity * (1 - purity) / n) ** 0.5  # 4 standard errors


def test_gradvac_leaves_gradients_above_their_targets_alone() -> None:
    grads = torch.tensor([[1.0, 0.2], [0.3, 1.0]])
    method = GradVac(2)
    assert torch.allclose(method(grads), grads.sum(0))
    assert method.phi_hat[0, 1] > 0
    assert method.phi_hat[1, 0] > 0


def test_gradvac_raises_the_similarity_to_its_target() -> None:
    method = GradVac(2, beta=1.0)
    method.phi_hat.fill_(0.5)
    grads = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    update = method(grads)
    assert torch.allclose(update, torch.full((2,), 1.0 + 0.5 / 0.75**0.5, dtype=torch.float64))


def test_moco_weights_stay_on_the_simplex() -> None:
    method = MoCo(3)
    for seed in range(4):
        method(_conflicting(3, 10, seed).float())
    assert torch.isclose(method.lambd.sum(), torch.tensor(1.0))
    assert (method.lambd >= 0).all()
    assert torch.allclose(
        project_simplex(torch.tensor([0.2, 0.3, 0.5])), torch.tensor([0.2, 0.3, 0.5])
    )


def test_db_mtl_scales_every_log_gradient_to_the_largest_norm() -> None:
    method = DBMTL(2)
    method.observe_losses(torch.tensor([2.0, 0.5]))
    grads = torch.tensor([[4.0, 0.0], [0.0, 1.0]])
    # log-gradients: [2, 0] and [0, 2]; the EMA starts at zero as in LibMTL, so step 1 holds
    # (1 - 0.9) of them: [0.2, 0] and [0, 0.2], both already at the largest norm.
    assert torch.allclose(method(grads), torch.tensor([0.2, 0.2]))


def test_solve_active_leaves_zero_rows_out() -> None:
    gram = torch.diag(torch.tensor([1.0, 0.0, 4.0]))
    weights = solve_active(gram, lambda g: torch.arange(1.0, g.shape[0] + 1))
    assert torch.equal(weights, torch.tensor([1.0, 0.0, 2.0]))


def test_mgda_ignores_a_task_without_labels() -> None:
    grads = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    assert torch.allclose(MGDA(3)(grads), torch.tensor([0.5, 0.5]))


@pytest.mark.parametrize("name", ["pcgrad", "cagrad", "nash_mtl", "gradvac", "moco", "fairgrad"])
def test_rep_grad_is_refused_where_the_paper_needs_parameter_gradients(name: str) -> None:
    with pytest.raises(InvalidParameterError, match=f"'{name}' does not support rep_grad"):
        create_method(name, 2, rep_grad=True)


def test_rep_grad_is_refused_for_loss_weightings() -> None:
    with pytest.raises(InvalidParameterError, match=r"'rep_grad' option does not apply to .*'uw'"):
        create_method("uw", 2, rep_grad=True)


def test_unknown_option_names_the_valid_ones() -> None:
    with pytest.raises(InvalidParameterError, match="Unknown option 'cc' for method 'cagrad'"):
        create_method("cagrad", 2, cc=0.1)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: CAGrad(2, c=-1.0), "'c' option of CAGrad"),
        (lambda: GradDrop(2, leak=2.0), "'leak' option of GradDrop"),
        (lambda: GradVac(2, beta=2.0), "'beta' option of GradVac"),
        (lambda: NashMTL(2, update_every=0), "'update_every' option of NashMTL"),
        (lambda: FairGrad(2, alpha=0.0), "'alpha' option of FairGrad"),
        (lambda: MGDA(0), "'n_tasks' option of MGDA"),
    ],
)
def test_bad_parameters_are_named(factory: object, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        factory()  # type: ignore[operator]


def test_upgrad_options_reach_the_user_through_the_registry() -> None:
    method = create_method("upgrad", 3, pref_vector=[1.0, 2.0, 3.0], reg_eps=1e-3, norm_eps=0.0)
    assert isinstance(method, UPGrad)
    projector = method.solver.projector
    assert (projector.reg_eps, projector.norm_eps) == (1e-3, 0.0)
    assert method.solver.pref_vector is not None
    assert method.solver.pref_vector.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"pref_vector": [1.0, 2.0]}, "'pref_vector' option of UPGrad must be a list of 3"),
        (
            {"pref_vector": [1.0, -2.0, 1.0]},
            "'pref_vector' option of UPGrad must be a list, each item a float > 0",
        ),
        ({"reg_eps": -1.0}, "'reg_eps' option of UPGrad must be a float >= 0"),
        ({"norm_eps": float("inf")}, "'norm_eps' option of UPGrad"),
        (
            {"solver": "cvxpy"},
            "'solver' option of UPGrad must be one of quadprog\\. Got 'cvxpy' instead\\.",
        ),
    ],
)
def test_upgrad_refuses_bad_options(options: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        create_method("upgrad", 3, **options)


@pytest.mark.parametrize("name", ["cagrad", "aligned_mtl"])
def test_reduction_option_is_checked(name: str) -> None:
    with pytest.raises(
        InvalidParameterError,
        match=r"'reduction' option of .* must be one of sum, mean\. Got 'avg' instead\.",
    ):
        create_method(name, 2, reduction="avg")
