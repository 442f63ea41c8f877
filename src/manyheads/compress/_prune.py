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

Whole experts (``experts``, ``mmoe`` only): narrower layers do not make a small network much
faster, because each operator call costs about the same at batch 1 whatever its width. An MMoE
can lose whole experts instead: the ones its gates use least on the run's training rows
(:func:`expert_usage`, each task's mean gate weight, summed over the tasks) leave every fused
expert layer, its normalisation and every gate (whose softmax then runs over the experts left;
:func:`drop_experts`), before the hidden units are pruned. ``n_experts`` is written to
``model.json`` with the widths. ``ple`` is refused (:data:`~._prunable.REFUSED`), and so
``experts`` is for ``mmoe`` only.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from manyheads.architectures._registry import build_model
from manyheads.architectures.base import MTLModel
from manyheads.compress._bundle import copy_into
from manyheads.compress._compression import Compression, measure_latency
from manyheads.compress._experts import EXPERT_PRUNABLE, USAGE_ROWS, drop_experts, expert_usage
from manyheads.compress._measure import RunData, encoded_batch, file_size, task_changes
from manyheads.compress._prunable import PRUNABLE, check_prunable
from manyheads.compress._report import CompressReport
from manyheads.errors import InvalidParameterError, ManyheadsError
from manyheads.workflow._bundle import write_run_bundle
from manyheads.workflow._run import Run

__all__ = ["EXPERT_PRUNABLE", "USAGE_ROWS", "drop_experts", "expert_usage", "prune", "prune_model"]


def _check_settings(amount: float, epochs: int, experts: float) -> None:
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
    ok = isinstance(experts, float | int) and not isinstance(experts, bool)
    if not (ok and 0 <= experts < 1):
        raise InvalidParameterError(
            "The 'experts' parameter of prune must be a number in [0, 1), the share of an "
            f"MMoE's experts removed (e.g. 0.5; 0: none). Got {experts!r} instead."
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
    experts: float = 0.0,
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
        experts: the share of an ``mmoe``'s experts removed before the hidden units, the
            ones its gates use least on the run's first :data:`USAGE_ROWS` training rows
            (:func:`drop_experts`); fewer experts mean fewer, not only narrower, products in
            the expert layer and the gate mixing. 0 (the default) keeps every expert; other
            architectures have no experts and refuse a share above 0.
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
    _check_settings(amount, epochs, experts)
    if max_drop is not None:
        from manyheads.compress._quantize import check_max_drop

        check_max_drop(max_drop)
    check_prunable(run.architecture, run.model)
    if experts and run.architecture not in EXPERT_PRUNABLE:
        raise InvalidParameterError(
            f"The 'experts' parameter of prune removes experts of an "
            f"{' or '.join(EXPERT_PRUNABLE)} model; this run's '{run.architecture}' network has "
            "none. Leave it at 0."
        )
    limits = (math.inf if max_drop is None else max_drop, force)
    job = Compression.open("prune", run, out_dir, limits=limits, overwrite=overwrite)
    pruned, kept = _pruned_run(run, job.data, amount, experts)
    if epochs:
        _fine_tune(pruned, job.data, epochs)
    settings: dict[str, Any] = {"amount": amount, "epochs": epochs, "widths": _widths(pruned)}
    if experts:
        settings |= {"experts": experts, "experts_kept": kept}
    report = _report(job, pruned, settings)
    job.refuse_dropped(report, "pruning", "more --epochs", "a smaller --amount")
    _write(job, pruned, report)
    return report


def _widths(run: Run) -> dict[str, list[int]]:
    names = ("hidden", "n_experts", "expert_hidden", "tower")
    return {k: v for k, v in run.options.items() if k in names}


def _pruned_run(run: Run, data: RunData, amount: float, experts: float) -> tuple[Run, list[int]]:
    """A copy of ``run`` pruned, rebuilt from its new options with the pruned weights, and the
    experts kept (empty when none were removed)."""
    model = copy.deepcopy(run.model)
    kept: list[int] = []
    if experts:
        rows = data.train.head(USAGE_ROWS)  # in chunks: a text encoder's activations are large
        chunks = [rows.iloc[i : i + 512] for i in range(0, len(rows), 512)]
        usage = sum(len(c) * expert_usage(model, encoded_batch(run, c, len(c))) for c in chunks)
        assert isinstance(usage, Tensor)
        kept = drop_experts(model, usage, experts)
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
    pruned = dataclasses.replace(run, model=rebuilt, options=options, metrics=None, directory=None)
    return pruned, kept


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


def _write(job: Compression, pruned: Run, report: CompressReport) -> None:
    """The marker first, the bundle (weights, then ``model.json``), the config, the report."""
    assert job.run.directory is not None  # run_data refused a run without one
    extra = {"pruned_from": str(job.run.directory), "pruning": report.settings}
    with job.writing(report) as directory:
        write_run_bundle(directory, pruned, extra=extra)
        copy_into(directory, job.run.directory / "config.yaml")


def _report(job: Compression, pruned: Run, settings: dict[str, Any]) -> CompressReport:
    run = job.run
    assert run.directory is not None
    with torch.no_grad():
        latency = measure_latency(
            functools.partial(encoded_batch, run, job.data.valid), run.model, pruned.model
        )
    return job.report(
        "torch (eager)",
        task_changes(run, pruned, job.data),
        sizes=(file_size(run.directory / "model.safetensors"), _safetensors_size(pruned.model)),
        n_parameters=(run.n_parameters, pruned.n_parameters),
        latency=latency,
        settings=settings,
    )
