"""``bench/speed_floor.py``: the FLOPs counted from a model's shapes, the kinds of profiled work
and the GEMM rate."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))

import speed_floor
from manyheads.architectures import create_model
from manyheads.data.preprocess import InputSpec


def test_linear_flops_count_three_times_the_forward_gemms() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(10, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    flops, widest = speed_floor.linear_flops(model)
    assert flops == 3 * 2 * (10 * 4 + 4 * 1)
    assert widest == (10, 4)


def test_linear_flops_count_fused_experts_as_one_gemm() -> None:
    model = create_model(
        "mmoe", InputSpec(6, (), ()), {"a": 1, "b": 1}, n_experts=3, expert_hidden=[5], tower=[2]
    )
    flops, widest = speed_floor.linear_flops(model)
    experts, gates, towers = 6 * 3 * 5, 2 * 6 * 3, 2 * (5 * 2 + 2 * 1)
    assert flops == 3 * 2 * (experts + gates + towers)
    assert widest == (6, 15)


def test_kinds_of_profiled_work() -> None:
    assert speed_floor.kind_of("aten::addmm") == "GEMM (forward and backward)"
    assert speed_floor.kind_of("aten::_fused_adam_") == "optimiser step"
    assert speed_floor.kind_of("aten::_softmax_backward_data") == "softmax (gates)"
    assert speed_floor.kind_of("aten::threshold_backward").startswith("other")


def test_gemm_rate_is_positive_and_finite() -> None:
    rate = speed_floor.gemm_gflops(64, 64, 64, seconds=0.01)
    assert 0 < rate < float("inf")


def test_optimizer_step_times_every_form() -> None:
    params = [torch.nn.Parameter(torch.zeros(8, 4)), torch.nn.Parameter(torch.zeros(4))]
    times = speed_floor.optimizer_step_ms(params, repeats=2)
    assert set(times) == {"per-tensor", "foreach", "fused"}
    assert all(0 < t < float("inf") for t in times.values())
    assert torch.equal(params[0], torch.zeros(8, 4))  # timed on copies
