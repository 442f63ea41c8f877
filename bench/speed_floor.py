"""Where a census training epoch's time goes, against the arithmetic floor of one core.

Trains the MMoE (or PLE) of ``bench/speed_rechub.py`` on the full census-income train split with
one intra-op thread and reports:

* the FLOPs per sample, counted from the model's shapes: every ``nn.Linear`` costs
  ``2 · in · out`` forward FLOPs per row, and training ``3 ×`` that (the backward computes the
  input and the weight gradients, one GEMM each); element-wise work is left out, so this is the
  GEMM floor;
* the core's measured peak: a large single-thread float32 GEMM (``n × n @ n × n``), and the same
  GEMM at the model's widest layer shape (batch rows × input × all experts' outputs);
* the achieved rate: FLOPs per sample × samples per CPU second of an unprofiled epoch, as a share
  of each peak;
* the epoch's CPU time by kind of operation (torch profiler, self CPU time, one profiled epoch);
* one Adam step over the model's parameters in torch's per-tensor, multi-tensor and fused forms.

Usage:
    MANYHEADS_DATA=../shared/data OMP_NUM_THREADS=1 python bench/speed_floor.py \\
        --model mmoe --train '{"fused_optimizer": true}' --json floor.json
    # one session-14 change (gates, flags) against the code it replaced, in one process:
    python bench/speed_floor.py --model mmoe --train '{"fused_optimizer": true}' --ab gates
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

#: Profiler op name fragments -> the kind of work they are (first match wins).
KINDS = (
    ("GEMM (forward and backward)", ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul")),
    ("optimiser step", ("Optimizer.", "adam", "_foreach", "lerp", "addcdiv", "addcmul", "sqrt")),
    ("embedding lookup and its backward", ("index_select", "index_add", "scatter_add", "embed")),
    ("batch norm", ("batch_norm",)),
    ("softmax (gates)", ("softmax",)),
    ("compiled kernels", ("CompiledFxGraph", "cpp_fused", "Compiled", "Torch-Compiled")),
    ("copies, casts, views", ("copy_", "_to_copy", "aten::to", "view", "reshape", "as_strided")),
)


def gemm_gflops(m: int, k: int, n: int, *, seconds: float = 1.0) -> float:
    """Single-thread float32 GEMM rate ``[m, k] @ [k, n]`` in GFLOP/s (best of repeated runs)."""
    import torch

    a, b = torch.randn(m, k), torch.randn(k, n)
    torch.mm(a, b)
    best, spent = float("inf"), 0.0
    while spent < seconds:
        began = time.process_time()
        for _ in range(5):
            torch.mm(a, b)
        took = (time.process_time() - began) / 5
        best, spent = min(best, took), spent + 5 * took
    return 2 * m * k * n / best / 1e9


def linear_flops(model: Any) -> tuple[int, tuple[int, int]]:
    """Training FLOPs per row of the linear layers (3 × forward: ``2 · in · out`` each, and
    ``2 · E · in · out`` for the experts' layers stored as one ``[E, in, out]`` weight) and the
    widest one as a GEMM's ``(in, out)`` (the experts' first layer is one ``in × E·out`` GEMM)."""
    from torch import nn

    total, widest = 0, (0, 0)
    for m in model.modules():
        weight = getattr(m, "weight", None)
        if isinstance(m, nn.Linear):
            shape = (m.in_features, m.out_features)
        elif isinstance(weight, nn.Parameter) and weight.dim() == 3 and "Linear" in str(type(m)):
            n_experts, width_in, width_out = weight.shape
            shape = (width_in, n_experts * width_out)
        else:
            continue
        total += 3 * 2 * shape[0] * shape[1]
        widest = max(widest, shape, key=lambda s: s[0] * s[1])
    return total, widest


def optimizer_step_ms(params: list[Any], *, repeats: int = 50) -> dict[str, float]:
    """CPU milliseconds of one Adam step over copies of ``params`` (random gradients), in torch's
    per-tensor, multi-tensor (``foreach``, our default) and fused forms (best of 5 rounds)."""
    import torch

    out = {}
    for form, kernel in (
        ("per-tensor", {"foreach": False}),
        ("foreach", {"foreach": True}),
        ("fused", {"fused": True}),
    ):
        copies = [torch.nn.Parameter(p.detach().clone()) for p in params]
        for c in copies:
            c.grad = torch.randn_like(c)
        opt = torch.optim.Adam(copies, lr=1e-3, weight_decay=1e-5, **kernel)
        opt.step()
        best = float("inf")
        for _ in range(5):
            began = time.process_time()
            for _ in range(repeats):
                opt.step()
            best = min(best, (time.process_time() - began) / repeats)
        out[form] = best * 1e3
    return out


def kind_of(name: str) -> str:
    """The :data:`KINDS` entry of a profiler op name, else ``other``."""
    low = name.lower()
    for kind, parts in KINDS:
        if any(p.lower() in low for p in parts):
            return kind
    return "other (element-wise, reductions, autograd bookkeeping)"


def run(model_name: str, train: dict[str, Any], epochs: int) -> dict[str, Any]:
    """Train ``epochs`` epochs (the last one profiled) and measure the floor."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    import speed_rechub
    from manyheads.engine import trainer as trainer_module

    torch.set_num_threads(1)
    original = trainer_module.train_one_epoch
    cpu: list[float] = []
    kinds: dict[str, float] = defaultdict(float)
    top: list[tuple[str, float, int]] = []
    captured: dict[str, Any] = {}

    def timed(model: Any, *args: Any, **kwargs: Any) -> Any:
        captured["model"] = model
        if len(cpu) < epochs - 1:
            began = time.process_time()
            out = original(model, *args, **kwargs)
            cpu.append(time.process_time() - began)
            return out
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            out = original(model, *args, **kwargs)
        events = prof.key_averages()
        for e in events:
            kinds[kind_of(e.key)] += e.self_cpu_time_total / 1e6
        ranked = sorted(events, key=lambda e: -e.self_cpu_time_total)[:12]
        top.extend((e.key, e.self_cpu_time_total / 1e6, e.count) for e in ranked)
        return out

    trainer_module.train_one_epoch = timed  # type: ignore[assignment]
    result = speed_rechub.run_manyheads(model_name, epochs, train)
    model = captured["model"]
    flops, (width_in, width_out) = linear_flops(model)
    epoch_cpu = min(cpu[1:] or cpu)  # the first epoch also compiles / warms up
    samples_per_s = result["rows"] / epoch_cpu
    peak = gemm_gflops(2048, 2048, 2048)
    layer = gemm_gflops(1024, width_in, width_out)
    achieved = flops * samples_per_s / 1e9
    profiled = sum(kinds.values())
    return {
        "model": model_name,
        "train": train,
        "epoch_cpu_seconds": cpu,
        "flops_per_sample": flops,
        "samples_per_cpu_second": samples_per_s,
        "achieved_gflops": achieved,
        "peak_gflops_2048": peak,
        "peak_gflops_model_shape": layer,
        "model_shape": [1024, width_in, width_out],
        "floor_cpu_seconds": flops * result["rows"] / (peak * 1e9),
        "share_of_peak": achieved / peak,
        "share_of_model_shape_peak": achieved / layer,
        "profiled_epoch_cpu_seconds": profiled,
        "kinds": dict(sorted(kinds.items(), key=lambda kv: -kv[1])),
        "top_ops": top,
        "adam_step_ms": optimizer_step_ms(list(model.parameters())),
        "auc_income": result["auc_income"],
        "auc_never_married": result["auc_never_married"],
    }


def _old_gate_weights(self: Any, embedding: Any, *, tasks: Any = None) -> Any:
    """MMoE's gates before session 14: one ``nn.Linear`` and a last-dimension softmax each."""
    import torch

    return {t: torch.softmax(self.gates[t](embedding), dim=-1) for t in self.asked_tasks(tasks)}


def _old_level_gates(self: Any, inputs: Any, shared_input: Any, asked: Any) -> Any:
    """A PLE level's gates before session 14 (as :func:`_old_gate_weights`)."""
    import torch

    out = {t: torch.softmax(self.gates[t](inputs[t]), dim=-1) for t in asked}
    if self.shared_gate is not None:
        out[None] = torch.softmax(self.shared_gate(shared_input), dim=-1)
    return out


def _old_labelled_flags(batch: Any, tasks: Any) -> Any:
    """The loop's per-step record before session 14: the label shares every step, and a
    Python loop of ``.any()`` with one float per task."""
    import torch

    from manyheads.engine import loop

    loop.label_shares(batch, [t.task for t in tasks])
    return torch.tensor([float(batch.mask[t.name].any()) for t in tasks])


def ab(model_name: str, train: dict[str, Any], change: str, rounds: int) -> dict[str, Any]:
    """CPU seconds per epoch of the code before ``change`` (``gates`` or ``flags``, patched back
    in) and after it, alternating epochs in one process on the same model (old, new, new, old,
    ...), after one warm-up epoch: the A/B of one change, robust to a drifting machine load."""
    import statistics

    import torch

    import speed_rechub
    from manyheads.architectures import mmoe, ple
    from manyheads.engine import loop
    from manyheads.engine import trainer as trainer_module

    torch.set_num_threads(1)
    targets = {
        "gates": [
            (mmoe.MMoE, "gate_weights", _old_gate_weights),
            (ple._CGCLevel, "_gate_weights", _old_level_gates),
        ],
        "flags": [(loop, "labelled_flags", _old_labelled_flags)],
    }[change]
    new = [getattr(owner, name) for owner, name, _ in targets]
    original = trainer_module.train_one_epoch
    seconds: dict[str, list[float]] = {"old": [], "new": []}

    def use(version: str) -> None:
        for (owner, name, old), current in zip(targets, new, strict=True):
            setattr(owner, name, old if version == "old" else current)

    def timed(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)  # warm-up
        for r in range(rounds):
            for version in ("old", "new") if r % 2 == 0 else ("new", "old"):
                use(version)
                began = time.process_time()
                original(*args, **kwargs)
                seconds[version].append(time.process_time() - began)
        use("new")
        return out

    trainer_module.train_one_epoch = timed  # type: ignore[assignment]
    speed_rechub.run_manyheads(model_name, 1, train)
    trainer_module.train_one_epoch = original  # type: ignore[assignment]
    old, now = seconds["old"], seconds["new"]
    return {
        "model": model_name,
        "change": change,
        "old_cpu_seconds": old,
        "new_cpu_seconds": now,
        "ratio_min": min(old) / min(now),
        "ratio_median": statistics.median(old) / statistics.median(now),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="mmoe", choices=["mmoe", "ple"])
    parser.add_argument("--train", default="{}", help="manyheads train: settings as JSON")
    parser.add_argument("--epochs", type=int, default=3, help="the last one is profiled")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument(
        "--ab",
        choices=["gates", "flags"],
        help="instead: one session-14 change against the code it replaced, alternating epochs",
    )
    parser.add_argument("--rounds", type=int, default=3, help="--ab: epochs per version")
    args = parser.parse_args()
    if args.ab:
        result = ab(args.model, json.loads(args.train), args.ab, args.rounds)
        print(json.dumps(result))
        print(
            f"{args.model} {args.ab}: old / new CPU s per epoch, min {result['ratio_min']:.3f}, "
            f"median {result['ratio_median']:.3f}"
        )
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(result, fh, indent=1)
        return
    r = run(args.model, json.loads(args.train), args.epochs)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(r, fh, indent=1)
    print(
        f"{r['model']} {r['train']}: {r['flops_per_sample']:,} training FLOPs/sample (GEMMs), "
        f"{r['samples_per_cpu_second']:,.0f} samples/CPU s -> {r['achieved_gflops']:.1f} GFLOP/s; "
        f"peak {r['peak_gflops_2048']:.1f} GFLOP/s (2048^3), "
        f"{r['peak_gflops_model_shape']:.1f} at {r['model_shape']}; "
        f"{100 * r['share_of_peak']:.1f} % of peak; floor {r['floor_cpu_seconds']:.3f} CPU s/epoch "
        f"against {min(r['epoch_cpu_seconds'][1:] or r['epoch_cpu_seconds']):.3f}"
    )
    steps = ", ".join(f"{k} {v:.3f}" for k, v in r["adam_step_ms"].items())
    print(f"Adam step over the model's parameters, ms: {steps}")
    print("| kind of work | CPU s (profiled epoch) | share |")
    print("|---|---|---|")
    total = r["profiled_epoch_cpu_seconds"]
    for kind, seconds in r["kinds"].items():
        print(f"| {kind} | {seconds:.3f} | {100 * seconds / total:.0f} % |")
    print("| op | self CPU s | calls |")
    print("|---|---|---|")
    for name, seconds, count in r["top_ops"]:
        print(f"| `{name[:60]}` | {seconds:.3f} | {count} |")


if __name__ == "__main__":
    main()
