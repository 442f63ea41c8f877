"""Median milliseconds per training step of every balancing method (and TorchJD's engines).

Contract (issue 4)::

    python bench/step_time.py --tasks 2,3,10,40 --methods all --json out.json

A step is: forward of an MLP trunk (256 -> 1024 -> 1024 -> 256, about 1.6 M shared parameters)
with one linear regression head per task, batch 64, per-task MSE losses, the method's backward
(:func:`manyheads.engine.backward.backward`), and an SGD step. Aggregators that support it are
also timed with ``rep_grad``. For methods TorchJD 0.18 also implements, the same step is timed
with ``torchjd.autojac.mtl_backward`` + ``jac_to_grad`` and with ``torchjd.autogram.Engine`` +
the Weighting form, and ``ratio_to_torchjd`` is our time over the faster of the two.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from manyheads import create_method, list_methods
from manyheads.architectures.hps import HPS
from manyheads.data.preprocess import InputSpec
from manyheads.engine.backward import backward

IN_DIM, HIDDEN, BATCH = 256, (1024, 1024, 256), 64
#: where every step runs (``--device``).
DEVICE = torch.device("cpu")


def _model(n_tasks: int) -> HPS:
    torch.manual_seed(0)
    heads = {f"t{i}": 1 for i in range(n_tasks)}
    return HPS(InputSpec(IN_DIM, (), ()), heads, hidden=HIDDEN, tower=()).to(DEVICE)


def _batch(n_tasks: int) -> tuple[dict[str, Tensor], Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(BATCH, IN_DIM, generator=g).to(DEVICE)
    return {"num": x}, torch.randn(BATCH, n_tasks, generator=g).to(DEVICE)


def _task_losses(model: HPS, features: Any, y: Tensor) -> list[Tensor]:
    out = model.forward_heads(features)
    return [((o - y[:, i]) ** 2).mean() for i, o in enumerate(out.values())]


def _losses(model: HPS, features: Any, y: Tensor) -> Tensor:
    return torch.stack(_task_losses(model, features, y))


Step = Callable[[], None]


def _sync() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def interleaved(steps: list[Step | None], repeats: int, warmup: int = 2) -> list[float | None]:
    """Median ms of each step, timed in alternation (fair on a shared, noisy CPU); on a GPU
    each step is timed from a synchronised start to a synchronised end."""
    live = [s for s in steps if s is not None]
    for _ in range(warmup):
        for s in live:
            s()
    times: list[list[float]] = [[] for _ in steps]
    for _ in range(repeats):
        for k, s in enumerate(steps):
            if s is not None:
                _sync()
                began = time.perf_counter()
                s()
                _sync()
                times[k].append((time.perf_counter() - began) * 1000.0)
    return [statistics.median(t) if t else None for t in times]


def ours(name: str, n_tasks: int, rep: bool) -> Step:
    """One manyheads training step with method ``name``."""
    model = _model(n_tasks)
    method = create_method(name, n_tasks, **({"rep_grad": True} if rep else {})).to(DEVICE)
    params = [*model.parameters(), *method.parameters()]
    opt = torch.optim.SGD(params, lr=1e-3)
    x, y = _batch(n_tasks)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        features = model.forward_features(x)
        backward(_losses(model, features, y), model, method, features=features)
        opt.step()

    return step


def _torchjd_pairs() -> dict[str, tuple[Callable[[], Any], Callable[[], Any] | None]]:
    from torchjd import aggregation as A

    return {
        "ew": (A.Sum, A.SumWeighting),
        "mgda": (A.MGDA, A.MGDAWeighting),
        "pcgrad": (A.PCGrad, A.PCGradWeighting),
        "graddrop": (A.GradDrop, None),
        "gradvac": (A.GradVac, A.GradVacWeighting),
        "imtl": (A.IMTLG, A.IMTLGWeighting),
        "aligned_mtl": (A.AlignedMTL, A.AlignedMTLWeighting),
        "fairgrad": (lambda: A.FairGrad(alpha=1.0), lambda: A.FairGradWeighting(alpha=1.0)),
        "upgrad": (A.UPGrad, A.UPGradWeighting),
    }


def torchjd_autojac(name: str, n_tasks: int) -> Step:
    """The step with TorchJD's ``mtl_backward`` + ``jac_to_grad``."""
    from torchjd.autojac import jac_to_grad, mtl_backward

    aggregator = _torchjd_pairs()[name][0]()
    model = _model(n_tasks)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    shared = model.shared_parameters()
    x, y = _batch(n_tasks)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        features = model.forward_features(x)
        mtl_backward(_task_losses(model, features, y), features=features)
        jac_to_grad(shared, aggregator)
        opt.step()

    return step


def torchjd_autogram(name: str, n_tasks: int) -> Step | None:
    """The step with ``autogram.Engine`` and the Weighting form (None if TorchJD has none)."""
    from torchjd.autogram import Engine

    factory = _torchjd_pairs()[name][1]
    if factory is None:
        return None
    weighting = factory()
    model = _model(n_tasks)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    engine = Engine(model.input, model.bottom, batch_dim=None)
    x, y = _batch(n_tasks)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        losses = _losses(model, model.forward_features(x), y)
        weights = weighting(engine.compute_gramian(losses))
        losses.backward(weights)
        opt.step()

    return step


def _configs(methods: list[str]) -> list[tuple[str, bool]]:
    out = []
    for name in methods:
        out.append((name, False))
        method = create_method(name, 2)
        if getattr(method, "supports_rep_grad", False) and hasattr(method, "rep_grad"):
            out.append((name, True))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="2,3,10,40", help="comma-separated task counts")
    parser.add_argument("--methods", default="all", help="'all' or comma-separated names")
    parser.add_argument("--json", default=None, help="write the results to this file")
    parser.add_argument("--repeats", type=int, default=10, help="timed steps (fewer at T >= 40)")
    parser.add_argument("--no-torchjd", action="store_true", help="skip the TorchJD timings")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args(argv)
    global DEVICE
    DEVICE = torch.device(args.device)
    torch.set_num_threads(args.threads)  # >1 spin-waits badly on a shared 2-core CPU
    methods = list_methods() if args.methods == "all" else args.methods.split(",")
    results: list[dict[str, Any]] = []
    for n_tasks in [int(t) for t in args.tasks.split(",")]:
        repeats = args.repeats if n_tasks < 40 else max(3, args.repeats // 3)
        for name, rep in _configs(methods):
            with_jd = not rep and not args.no_torchjd and name in _torchjd_pairs()
            steps: list[Step | None] = [ours("ew", n_tasks, False), ours(name, n_tasks, rep)]
            if with_jd:
                steps += [torchjd_autojac(name, n_tasks), torchjd_autogram(name, n_tasks)]
            timed = interleaved(steps, repeats)
            ew, ms = float(timed[0] or 0.0), float(timed[1] or 0.0)
            row: dict[str, Any] = {
                "method": name,
                "tasks": n_tasks,
                "mode": "rep" if rep else "exact",
                "ms_per_step": round(ms, 2),
                "ew_ms": round(ew, 2),
                "ratio_to_ew": round(ms / ew, 2),
                "floor_ratio": round((1 + 2 * n_tasks) / 3, 2),
            }
            if with_jd:
                jac, gram = timed[2], timed[3]
                best = min(v for v in (jac, gram) if v is not None)
                row |= {
                    "torchjd_autojac_ms": None if jac is None else round(jac, 2),
                    "torchjd_autogram_ms": None if gram is None else round(gram, 2),
                    "ratio_to_torchjd": round(ms / best, 2),
                }
            results.append(row)
            print(json.dumps(row), flush=True)
    report = {
        "machine": f"{platform.machine()} {torch.get_num_threads()} threads, torch "
        f"{torch.__version__}"
        + (f", {torch.cuda.get_device_name(DEVICE)}" if DEVICE.type == "cuda" else ""),
        "device": str(DEVICE),
        "batch": BATCH,
        "results": results,
    }
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
