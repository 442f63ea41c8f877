"""The Learning-without-Forgetting loss and the add-task settings."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from manyheads.errors import InvalidParameterError
from manyheads.extend import AddTaskSettings, settings_of
from manyheads.extend._lwf import distill_loss


@pytest.mark.parametrize(
    ("task_type", "shape"),
    [("binary", (8,)), ("multilabel", (8, 3)), ("multiclass", (8, 4)), ("tagging", (2, 5, 4))],
)
def test_distillation_is_zero_at_the_teacher_and_pulls_towards_it(
    task_type: str, shape: tuple[int, ...]
) -> None:
    torch.manual_seed(0)
    teacher = torch.randn(shape)
    assert float(distill_loss(task_type, teacher, teacher, 2.0)) == pytest.approx(0.0, abs=1e-6)
    student = torch.randn(shape, requires_grad=True)
    loss = distill_loss(task_type, student, teacher, 2.0)
    assert float(loss.detach()) > 0.0
    loss.backward()
    assert student.grad is not None
    stepped = (student - 0.1 * student.grad).detach()
    assert float(distill_loss(task_type, stepped, teacher, 2.0)) < float(loss.detach())


def test_multiclass_distillation_is_t_squared_kl_of_softened_outputs() -> None:
    student, teacher = torch.tensor([[1.0, 0.0, -1.0]]), torch.tensor([[0.0, 2.0, 0.0]])
    p, q = F.softmax(student / 3.0, -1), F.softmax(teacher / 3.0, -1)
    expected = 9.0 * float((q * (q.log() - p.log())).sum())
    assert float(distill_loss("multiclass", student, teacher, 3.0)) == pytest.approx(expected)


def test_values_use_the_squared_difference() -> None:
    student, teacher = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 0.0]])
    assert float(distill_loss("box", student, teacher, 2.0)) == pytest.approx(2.5)


def test_settings_are_checked_by_name() -> None:
    assert settings_of({"lr": 0.01}) == AddTaskSettings(lr=0.01)
    with pytest.raises(InvalidParameterError, match=r"'temperature' setting of add-task .* \(0, "):
        AddTaskSettings(temperature=0.0)
    with pytest.raises(InvalidParameterError, match="Did you mean 'patience'"):
        settings_of({"patiense": 2})
