"""BAM!'s loss in closed form: λ = 0 is the teacher's soft loss, λ = 1 the gold loss, in between
the linear mix; rows without a gold label learn from the teacher alone; λ rises linearly."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from manyheads.distill import Annealing, DistilledTask, linear_lambda
from manyheads.distill._losses import pack
from manyheads.engine.events import Events
from manyheads.tasks import FittedTask, Task


class Fixed(Annealing):
    """An annealing held at one λ."""

    def __init__(self, lam: float) -> None:
        super().__init__()
        self.fixed = lam

    @property
    def lam(self) -> float:
        return self.fixed


def taught(
    fitted: FittedTask, lam: float, temperature: float = 1.0, width: int = 1
) -> DistilledTask:
    dtype = torch.int64 if fitted.task.type in ("multiclass", "tagging") else torch.float32
    return DistilledTask(fitted.task, fitted.state, width, dtype, temperature, Fixed(lam))


G = torch.Generator().manual_seed(0)
N, C = 6, 3
OUT = torch.randn(N, C, generator=G)
TEACHER = torch.randn(N, C, generator=G)
GOLD = torch.tensor([0, 2, 1, 1, 0, 2])
ALL = torch.ones(N, dtype=torch.bool)
MULTICLASS = FittedTask(Task("y", type="multiclass"), {"classes": ["a", "b", "c"]})


def soft_ce(out: torch.Tensor, teacher: torch.Tensor, t: float) -> torch.Tensor:
    """Hinton's soft loss by hand: T² · mean_rows −Σ_c p_teacher(c) log p_student(c), at T."""
    p = torch.softmax(teacher / t, dim=1)
    return t * t * -(p * torch.log_softmax(out / t, dim=1)).sum(dim=1).mean()


def loss_of(task: DistilledTask, gold: torch.Tensor, labelled: torch.Tensor) -> torch.Tensor:
    return task.loss(OUT, pack(gold, labelled, TEACHER, level="row"), ALL)


@pytest.mark.parametrize("t", [1.0, 2.0, 4.0])
def test_lambda_zero_is_the_teachers_soft_loss(t: float) -> None:
    got = loss_of(taught(MULTICLASS, 0.0, t), GOLD, ALL)
    assert float(got) == pytest.approx(float(soft_ce(OUT, TEACHER, t)), rel=1e-6)


def test_lambda_one_is_the_gold_loss() -> None:
    got = loss_of(taught(MULTICLASS, 1.0, 3.0), GOLD, ALL)
    assert float(got) == pytest.approx(float(F.cross_entropy(OUT, GOLD)), rel=1e-6)


@pytest.mark.parametrize("lam", [0.25, 0.5, 0.9])
def test_between_it_is_cross_entropy_against_the_mixed_target(lam: float) -> None:
    """At T = 1, BAM!'s target λ·onehot(y) + (1 − λ)·softmax(teacher), as one cross-entropy."""
    mixed = lam * F.one_hot(GOLD, C).float() + (1 - lam) * torch.softmax(TEACHER, dim=1)
    expected = -(mixed * torch.log_softmax(OUT, dim=1)).sum(dim=1).mean()
    assert float(loss_of(taught(MULTICLASS, lam), GOLD, ALL)) == pytest.approx(
        float(expected), rel=1e-6
    )


def test_rows_without_a_gold_label_learn_from_the_teacher_alone() -> None:
    labelled = torch.tensor([True, True, True, False, False, False])
    task = taught(MULTICLASS, 1.0)
    got = loss_of(task, GOLD, labelled)
    gold_part = F.cross_entropy(OUT[:3], GOLD[:3])
    teacher_part = soft_ce(OUT[3:], TEACHER[3:], 1.0)
    assert float(got) == pytest.approx(float(0.5 * gold_part + 0.5 * teacher_part), rel=1e-6)
    # the (missing) labels of the unlabelled rows change nothing
    other = GOLD.clone()
    other[3:] = (other[3:] + 1) % C
    assert float(loss_of(task, other, labelled)) == float(got)
    # with no gold label at all, the loss is the teacher's at every λ
    none = torch.zeros(N, dtype=torch.bool)
    for lam in (0.0, 0.5, 1.0):
        only = loss_of(taught(MULTICLASS, lam), GOLD, none)
        assert float(only) == pytest.approx(float(soft_ce(OUT, TEACHER, 1.0)), rel=1e-6)


def test_binary_uses_the_tempered_sigmoid_scaled_by_t_squared() -> None:
    fitted = FittedTask(Task("y", type="binary"), {"classes": ["0", "1"]})
    out, teacher, gold = OUT[:, 0], TEACHER[:, 0], (GOLD > 0).float()
    packed = pack(gold, ALL, teacher, level="row")
    t = 2.0
    soft = t * t * F.binary_cross_entropy_with_logits(out / t, torch.sigmoid(teacher / t))
    assert float(taught(fitted, 0.0, t).loss(out, packed, ALL)) == pytest.approx(float(soft))
    gold_loss = F.binary_cross_entropy_with_logits(out, gold)
    assert float(taught(fitted, 1.0, t).loss(out, packed, ALL)) == pytest.approx(float(gold_loss))


def test_multilabel_is_per_label() -> None:
    fitted = FittedTask(
        Task("y", type="multilabel", columns=("a", "b", "c")), {"labels": ["a", "b", "c"]}
    )
    gold = (torch.rand(N, C, generator=G) > 0.5).float()
    packed = pack(gold, ALL, TEACHER, level="row")
    # both parts sum the labels' BCE (the multilabel task's loss), averaged over rows
    soft = C * F.binary_cross_entropy_with_logits(OUT, torch.sigmoid(TEACHER))
    lam = 0.3
    expected = lam * C * F.binary_cross_entropy_with_logits(OUT, gold) + (1 - lam) * soft
    got = taught(fitted, lam, width=C).loss(OUT, packed, ALL)
    assert float(got) == pytest.approx(float(expected), rel=1e-6)


def test_regression_mixes_the_target_value() -> None:
    fitted = FittedTask(Task("y", type="regression"), {"mean": 0.0, "std": 1.0})
    out, teacher, gold = OUT[:, 0], TEACHER[:, 0], TEACHER[:, 1]
    labelled = torch.tensor([True, True, True, True, False, False])
    packed = pack(gold, labelled, teacher, level="row")
    lam = 0.25
    target = torch.where(labelled, lam * gold + (1 - lam) * teacher, teacher)
    got = taught(fitted, lam).loss(out, packed, ALL)
    assert float(got) == pytest.approx(float(F.mse_loss(out, target)), rel=1e-6)
    assert float(taught(fitted, 0.0).loss(out, packed, ALL)) == pytest.approx(
        float(F.mse_loss(out, teacher)), rel=1e-6
    )


def test_box_mixes_each_coordinate() -> None:
    from manyheads.tasks._box import corners

    fitted = FittedTask(Task("b", type="box", columns=("x0", "y0", "x1", "y1")), {})
    out = torch.randn(N, 4, generator=G)
    teacher = corners(torch.randn(N, 4, generator=G))
    gold = corners(torch.randn(N, 4, generator=G))
    packed = pack(gold, ALL, teacher, level="row")
    plain = FittedTask(fitted.task, {})
    half = 0.5 * gold + 0.5 * teacher
    got = taught(fitted, 0.5, width=4).loss(out, packed, ALL)
    assert float(got) == pytest.approx(float(plain.loss(out, half, ALL)), rel=1e-6)


def test_tagging_is_per_token_over_the_covered_slots() -> None:
    fitted = FittedTask(Task("pos", type="tagging"), {"tags": ["A", "B", "C"]})
    out = torch.randn(2, 4, C, generator=G)
    teacher = torch.randn(2, 4, C, generator=G)
    gold = torch.tensor([[0, 1, 2, 0], [2, 2, -1, 0]])
    labelled = torch.tensor([[True, True, True, False], [True, True, False, False]])
    covered = torch.tensor([[True, True, True, False], [True, True, True, False]])
    packed = pack(gold, labelled, teacher, level="token")
    # λ = 0: the soft loss over the 6 covered tokens
    p = torch.softmax(teacher, dim=-1)
    per_token = -(p * torch.log_softmax(out, dim=-1)).sum(-1)
    got = taught(fitted, 0.0).loss(out, packed, covered)
    assert float(got) == pytest.approx(float(per_token[covered].mean()), rel=1e-6)
    # λ = 1: the 5 labelled tokens' gold loss, and the teacher alone on the 6th covered token
    gold_loss = F.cross_entropy(out[labelled], gold[labelled])
    expected = (5 * gold_loss + per_token[1, 2]) / 6
    got = taught(fitted, 1.0).loss(out, packed, covered)
    assert float(got) == pytest.approx(float(expected), rel=1e-6)


def test_lambda_rises_linearly_per_step_and_resumes() -> None:
    assert [linear_lambda(s, 4) for s in (0, 1, 2, 3, 4, 9)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    annealing, events = Annealing(), Events()
    annealing.attach(events)
    events.send("train_start", n_epochs=3, n_batches=10, start_epoch=1)
    seen = []
    for step in range(1, 31):
        events.send("step_end", epoch=1 + (step - 1) // 10, step=step, losses={})
        seen.append(annealing.lam)
    assert seen == pytest.approx([s / 30 for s in range(1, 31)])
    resumed = Annealing()
    resumed.attach(events2 := Events())
    events2.send("train_start", n_epochs=3, n_batches=10, start_epoch=3)  # after epoch 2
    assert resumed.lam == pytest.approx(20 / 30)
    assert Annealing(anneal=False).lam == 0.0


def test_gradients_flow_to_the_student_only() -> None:
    out = OUT.clone().requires_grad_(True)
    teacher = TEACHER.clone().requires_grad_(True)
    packed = pack(GOLD, ALL, teacher.detach(), level="row")
    taught(MULTICLASS, 0.5).loss(out, packed, ALL).backward()
    assert out.grad is not None
    assert torch.isfinite(out.grad).all()
    assert teacher.grad is None
