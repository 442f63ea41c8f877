"""``manyheads prune RUN --amount 0.5 -o DIR``: structured pruning of hidden units, then a short
fine-tune.

Structured, not masks: whole hidden units (rows of one layer, columns of the next) leave the
network, so the matrices are smaller and every engine runs faster; zeroed weights in masks
would change neither. Torch-Pruning (1.6) traces the network into a dependency graph, so that a
unit removed from the last expert layer of an MMoE also leaves every task tower that reads it;
``FusedExperts`` gets its own pruning functions (:mod:`._pruners`).

What never changes: the input encoder (embeddings, pretrained layers: the graph is traced from
its output, so its width stays) and each head's output layer (its width is the task's). Each
hidden layer of the shared bottom, the experts and the towers loses ``amount`` of its units,
the units with the smallest weights (L2 over every layer that holds them). The new widths are
written as the architecture's options (``hidden``, ``expert_hidden``, ``tower``) in
``model.json``, so :func:`manyheads.load` rebuilds the smaller network from the bundle alone.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from manyheads.architectures._registry import build_model
from manyheads.architectures.base import MTLModel, TaskTowers
from manyheads.compress._bundle import check_bundle_output, start_bundle, write_report
from manyheads.compress._measure import (
    BATCH_SIZES,
    RunData,
    encoded_batch,
    file_size,
    median_ms,
    run_data,
    task_changes,
)
from manyheads.compress._report import CompressReport, Latency
from manyheads.errors import DataError, InvalidParameterError, ManyheadsError
from manyheads.workflow._run import Run

__all__ = ["PRUNABLE", "REFUSED", "check_prunable", "prune", "prune_model"]

#: Why an architecture is not pruned (``manyheads prune`` refuses it with this reason).
REFUSED: dict[str, str] = {
    "stl": "it shares no layer between tasks (one network per task); prune each task's "
    "single-task run instead",
    "soft_sharing": "its task columns are tied by a penalty between same-shaped layers, which "
    "pruning each column on its own would break",
    "ple": "its levels concatenate task and shared experts along the expert axis, which "
    "Torch-Pruning's dependency graph does not follow unit by unit",
    "cross_stitch": "its cross-stitch units mix the task columns unit by unit, so a unit "
    "cannot leave one column alone",
    "cascade": "a task's prediction enters the next task's tower, a dependency the width "
    "options cannot describe",
    "mtan": "its attention modules are convolutions over an image feature map tied to the "
    "backbone's channels",
}


def _mlp_widths(net: nn.Module) -> list[int]:
    return [m.out_features for m in net.modules() if isinstance(m, nn.Linear)]


def _tower_widths(model: MTLModel) -> list[int]:
    towers = getattr(model, "towers", None)
    assert isinstance(towers, TaskTowers)
    widths = [_mlp_widths(t) for t in towers.towers.values()]
    if any(w != widths[0] for w in widths):  # same ratio, same start: equal unless a bug
        raise ManyheadsError(f"the pruned task towers differ in width ({widths}): report this.")
    return widths[0]


def _hps_widths(model: MTLModel) -> dict[str, list[int]]:
    return {"hidden": _mlp_widths(model.get_submodule("bottom")), "tower": _tower_widths(model)}


def _mmoe_widths(model: MTLModel) -> dict[str, list[int]]:
    from manyheads.architectures._experts import _FusedLinear

    layers = model.get_submodule("experts.layers").children()
    return {
        "expert_hidden": [int(m.weight.shape[2]) for m in layers if isinstance(m, _FusedLinear)],
        "tower": _tower_widths(model),
    }


#: The architectures pruned, each with how its layer widths read back as its options.
PRUNABLE: dict[str, Callable[[MTLModel], dict[str, list[int]]]] = {
    "hps": _hps_widths,
    "mmoe": _mmoe_widths,
}


def check_prunable(architecture: str, model: MTLModel) -> None:
    """Refuse an architecture, or a model, that :func:`prune_model` cannot prune safely.

    Raises:
        InvalidParameterError: naming the architecture and why.

    Example:
        >>> check_prunable("stl", None)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: Architecture 'stl' cannot be pruned: it shares \
no layer between tasks (one network per task)...
    """
    names = ", ".join(PRUNABLE)
    if architecture not in PRUNABLE:
        why = REFUSED.get(architecture, "manyheads does not know how to prune it safely")
        raise InvalidParameterError(
            f"Architecture '{architecture}' cannot be pruned: {why}. Prunable architectures: "
            f"{names}."
        )
    if model.token_level:
        raise InvalidParameterError(
            f"This '{architecture}' model has per-token outputs (a sequence encoder): "
            "pruning supports row-level models on a pooled or tabular encoder."
        )
    towers = getattr(model, "towers", None)
    if isinstance(towers, TaskTowers) and len(towers.transitions):
        raise InvalidParameterError(
            f"This '{architecture}' model has CRF tasks, whose transition scores pruning "
            "does not follow."
        )


def _check_settings(amount: float, epochs: int) -> None:
    ok = isinstance(amount, float | int) and not isinstance(amount, bool)
    if not (ok and 0 < amount < 1):
        raise InvalidParameterError(
            "The 'amount' parameter of prune must be a number in (0, 1), the share of hidden "
            f"units each pruned layer loses (e.g. 0.5). Got {amount!r} instead."
        )
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise InvalidParameterError(
            "The 'epochs' parameter of prune must be an integer >= 0, the epochs of the "
            f"fine-tune after pruning (0: none). Got {epochs!r} instead."
        )


class _Given(nn.Module):
    """Stands in for the input encoder while the graph is traced: returns the embedding."""

    def forward(self, x: dict[str, Tensor]) -> Tensor:
        return x["embedding"]


@contextmanager
def _traced_from_embedding(model: MTLModel) -> Iterator[None]:
    """The encoder replaced by :class:`_Given`, and the MMoE gates seen as constants: the gate
    ``[B, E]`` times the experts ``[B, E, H]`` is a broadcast that Torch-Pruning would read as
    tying gate outputs to expert units (the gates read the embedding, which never changes)."""
    from manyheads.architectures import mmoe

    encoder, names = model.get_submodule("input"), vars(mmoe)
    mix = names["mix"]
    model.input = _Given()
    names["mix"] = lambda weights, experts: mix(weights.detach(), experts)
    try:
        yield
    finally:
        model.input = encoder
        names["mix"] = mix


def prune_model(model: MTLModel, x: dict[str, Tensor], amount: float) -> None:
    """Remove ``amount`` of the hidden units of every shared and tower layer of ``model``, in
    place (Torch-Pruning, magnitude of each unit's weights over its dependency group).

    Args:
        model: an ``hps`` or ``mmoe`` model (:func:`check_prunable`).
        x: an encoded batch (a few rows) to trace the network with.
        amount: the share of units each layer loses, in (0, 1).
    """
    import torch_pruning as tp

    from manyheads.architectures._experts import FusedExperts, _FusedLinear, _FusedNorm
    from manyheads.compress._pruners import FusedLinearPruner, FusedNormPruner, GroupL2

    model.eval()  # batch statistics stay as they are while the graph is traced
    with torch.no_grad():
        embedding = model.get_submodule("input")(x)
    experts = [m for m in model.modules() if isinstance(m, FusedExperts)]
    n_experts = experts[0].n_experts if experts else 1
    ignored = [
        m for name, m in model.named_modules() if name.startswith(("towers.outputs.", "gates."))
    ]
    with _traced_from_embedding(model), warnings.catch_warnings():
        # Torch-Pruning warns about the parameters it leaves alone (the encoder's are not traced)
        warnings.simplefilter("ignore")
        pruner = tp.pruner.BasePruner(
            model,
            embedding,
            importance=GroupL2(),
            pruning_ratio=amount,
            ignored_layers=ignored,
            customized_pruners={
                _FusedLinear: FusedLinearPruner(),
                _FusedNorm: FusedNormPruner(n_experts),
            },
            root_module_types=[nn.Linear, _FusedLinear],
            forward_fn=lambda m, emb: m({"embedding": emb}),
            output_transform=lambda out: sum(v.sum() for v in out.values()),
        )
        pruner.step()


def prune(
    run: Run,
    out_dir: str | Path,
    *,
    amount: float = 0.5,
    epochs: int = 1,
    max_drop: float | None = None,
    force: bool = False,
    overwrite: bool = False,
) -> CompressReport:
    """Prune ``amount`` of the hidden units of ``run``'s network, fine-tune it, write a bundle.

    Args:
        run: a trained run directory (:func:`manyheads.load`) of a prunable architecture
            (:data:`PRUNABLE`); its ``config.yaml`` names the data and the training settings.
        out_dir: the new bundle's folder (new, empty, or a bundle manyheads wrote).
        amount: the share of hidden units each shared and tower layer loses, in (0, 1).
        epochs: epochs of fine-tuning on the run's training rows, with its own settings (the
            best validation epoch is kept); 0 for none.
        max_drop: the largest drop of a task's primary metric (None: no limit).
        force: write the bundle even when a task drops by more than ``max_drop``.
        overwrite: replace a bundle already in ``out_dir``.

    Returns:
        The report (also written as ``compress.json``); latencies are eager PyTorch.

    Raises:
        InvalidParameterError: a bad option, an architecture that cannot be pruned, or an
            output folder that would put files at risk.
        DataError: no ``config.yaml`` or data for the run, or a task dropped by more than
            ``max_drop`` without ``force`` (then nothing is written).
    """
    _check_settings(amount, epochs)
    if max_drop is not None:
        from manyheads.compress._quantize import check_max_drop

        check_max_drop(max_drop)
    check_prunable(run.architecture, run.model)
    data = run_data(run)
    directory = check_bundle_output(out_dir, run, data.config, overwrite=overwrite)
    pruned = _pruned_run(run, data, amount)
    if epochs:
        _fine_tune(pruned, data, epochs)
    settings = {"amount": amount, "epochs": epochs, "widths": _widths(pruned)}
    limit = math.inf if max_drop is None else max_drop
    report = _report(run, pruned, data, limit, force, settings)
    if not report.passed and not force:
        raise DataError(
            f"pruning lowers the primary metric of task(s) {', '.join(report.failed())} by "
            f"more than --max-drop {limit:g}; nothing was written. Pass --force to keep it, "
            "more --epochs, a smaller --amount, or a larger --max-drop.\n"
            + "\n".join(report.lines()),
            path=str(directory),
        )
    _write(run, pruned, directory, report, overwrite=overwrite)
    return report


def _widths(run: Run) -> dict[str, list[int]]:
    return {k: v for k, v in run.options.items() if k in ("hidden", "expert_hidden", "tower")}


def _pruned_run(run: Run, data: RunData, amount: float) -> Run:
    """A copy of ``run`` pruned, rebuilt from its new options with the pruned weights."""
    model = copy.deepcopy(run.model)
    prune_model(model, encoded_batch(run, data.valid, 8), amount)
    options = {**run.options, **PRUNABLE[run.architecture](model)}
    rebuilt = build_model(run.architecture, run.preprocessor.spec, run.fitted_tasks, options)
    try:
        rebuilt.load_state_dict(model.state_dict())
    except RuntimeError as exc:  # the options do not describe the pruned network: our bug
        raise ManyheadsError(
            f"the pruned '{run.architecture}' network does not match its new options "
            f"{options} ({str(exc).splitlines()[0]}): report this with the run's model.json."
        ) from None
    rebuilt.eval()
    return dataclasses.replace(run, model=rebuilt, options=options, metrics=None, directory=None)


def _fine_tune(run: Run, data: RunData, epochs: int) -> None:
    """Train the pruned model on the run's training rows with the run's own settings."""
    from manyheads.engine import TrainInputs, train_model
    from manyheads.engine.events import Events
    from manyheads.workflow._builders import build_method

    config = data.config
    train = run.preprocessor.transform(data.train, labels=True)
    valid = run.preprocessor.transform(data.valid, labels=True)
    torch.manual_seed(config.train.seed)
    train_model(
        run.model,
        build_method(config),
        TrainInputs(train, valid, run.fitted_tasks),
        settings=dataclasses.replace(config.train, epochs=epochs, patience=None),
        events=Events(),
    )
    run.model.eval()


def _safetensors_size(model: nn.Module) -> int:
    """The size of the ``model.safetensors`` that :func:`write_bundle` writes for ``model``."""
    from safetensors.torch import save

    from manyheads.workflow._bundle_meta import FORMAT

    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return len(save(tensors, metadata={"format": FORMAT}))


def _report(
    run: Run, pruned: Run, data: RunData, max_drop: float, force: bool, settings: dict[str, Any]
) -> CompressReport:
    assert run.directory is not None
    latency = []
    for size in BATCH_SIZES:
        x = encoded_batch(run, data.valid, size)
        with torch.no_grad():
            before, after = (median_ms(functools.partial(m, x)) for m in (run.model, pruned.model))
        latency.append(Latency(size, before, after))
    return CompressReport(
        "prune",
        str(run.directory),
        "torch (eager)",
        task_changes(run, pruned, data),
        (file_size(run.directory / "model.safetensors"), _safetensors_size(pruned.model)),
        (run.n_parameters, pruned.n_parameters),
        tuple(latency),
        max_drop,
        forced=force,
        settings=settings,
    )


def _write(
    run: Run, pruned: Run, directory: Path, report: CompressReport, *, overwrite: bool
) -> None:
    """The marker first, the bundle (weights, then ``model.json``), the config, the report."""
    from manyheads.compress._bundle import copy_into
    from manyheads.workflow._bundle import write_bundle

    assert run.directory is not None
    start_bundle(directory, overwrite=overwrite)
    write_bundle(
        directory,
        model=pruned.model,
        architecture=pruned.architecture,
        options=pruned.options,
        tasks=pruned.tasks,
        preprocessor=pruned.preprocessor,
        extra={"pruned_from": str(run.directory), "pruning": report.settings},
    )
    copy_into(directory, run.directory / "config.yaml")
    write_report(directory, report)
