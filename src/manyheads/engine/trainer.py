"""``train_model``: wires model, data, optimiser, schedule, balancing, checkpoints and events."""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from manyheads.aggregation.base import Aggregator
from manyheads.architectures.base import MTLModel
from manyheads.data.tensors import EncodedTable
from manyheads.encoders.base import InputEncoder
from manyheads.engine.checkpoint import (
    fingerprint_changes,
    load_checkpoint,
    optimizer_from_flat,
    save_checkpoint,
)
from manyheads.engine.events import Events
from manyheads.engine.loop import evaluate_losses, predict_outputs, score_outputs, train_one_epoch
from manyheads.errors import DataError, DataWarning, InvalidParameterError
from manyheads.tasks._registry import get_kind
from manyheads.tasks.task import Task
from manyheads.weighting.base import Weighting

__all__ = [
    "DEFAULT_BATCH_SIZES",
    "DEFAULT_LR",
    "DEFAULT_TAGGING_LR",
    "OPTIMIZERS",
    "PRECISIONS",
    "SCHEDULES",
    "TASK_LOSSES",
    "ResumePoint",
    "TrainResult",
    "TrainSettings",
    "check_monitor",
    "read_resume_point",
    "train_model",
]

OPTIMIZERS = ("adamw", "adam", "sgd")
BATCH_BY = ("rows", "tokens")
PRECISIONS = ("fp32", "bf16")
TASK_LOSSES = ("mean", "share")
SCHEDULES = ("constant", "cosine", "linear", "step")
#: The default ``batch_size`` by task level (``TaskKind.level``): ``row`` tasks (tables) in rows,
#: ``token`` tasks (tagging) in sentences; a run with a token task uses the latter.
DEFAULT_BATCH_SIZES = {"row": 512, "token": 16}
#: The default ``lr``; a tagging task on an encoder trained from scratch without a position
#: limit (bilstm, cnn) gets :data:`DEFAULT_TAGGING_LR` (see ``workflow._fit.train_config``).
DEFAULT_LR = 1e-3
DEFAULT_TAGGING_LR = 1e-2


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings of one run (the ``train:`` section of a config).

    Args:
        epochs: maximum number of epochs.
        batch_size: training batch size in rows (sentences for a ``tagging`` task). None
            (the default): 16 when a task has one label per token (tagging: a 512-sentence
            batch gives a few dozen optimiser steps per epoch, too few to learn in the first
            epoch), else 512; see :data:`DEFAULT_BATCH_SIZES`.
        lr: learning rate of every parameter group not set below. None (the default):
            :data:`DEFAULT_LR` (1e-3), or :data:`DEFAULT_TAGGING_LR` (1e-2) for a tagging task
            on a ``bilstm`` or ``cnn`` encoder, whose embeddings start from scratch: at 1e-3,
            POS stayed far below a most-frequent-tag lookup after the first epoch
            (docs/config.md).
        lr_shared: learning rate of the shared parameters (defaults to ``lr``).
        lr_task: learning rate of task-specific parameters (defaults to ``lr``).
        lr_encoder: learning rate of the input encoders' parameters, shared or not (a
            pretrained transformer: the shared one of ``hps``, each task's own in ``stl``);
            takes precedence over ``lr_shared`` and ``lr_task`` (defaults to those).
        optimizer: ``adamw``, ``adam`` or ``sgd``.
        weight_decay: L2 weight decay (decoupled for AdamW).
        momentum: SGD momentum.
        schedule: ``constant``, ``cosine``, ``linear`` (to zero at the end of the last epoch,
            the usual transformer fine-tuning schedule) or ``step`` learning-rate schedule.
        warmup_epochs: linear warm-up length in epochs (may be fractional).
        step_size: epochs between decays of the ``step`` schedule.
        gamma: decay factor of the ``step`` schedule.
        clip_norm: clip the global gradient norm to this value (None: no clipping).
        patience: stop after this many epochs without validation improvement (None: never).
        monitor: ``loss`` (weighted validation loss) or ``TASK.METRIC`` (e.g. ``income.auc``).
        seed: seeds initialisation, shuffling and dropout.
        eval_batch_size: batch size for evaluation and prediction.
        device: ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or ``auto`` (a GPU when there is one).
        group_by_length: put rows of similar length (text inputs) in the same training batch,
            so that trimming each batch to its longest row saves most of the padding; batches
            are still drawn at random (see :func:`~manyheads.data.tensors.length_groups`).
        batch_by: ``rows`` (``batch_size`` rows per batch) or ``tokens``: length-grouped
            batches of about ``batch_size`` × the mean train row length in padded pieces, so
            that every batch carries about as many tokens and a per-token loss (``tagging``)
            weighs every token alike; implies ``group_by_length``.
        precision: ``fp32``, or ``bf16``: the training forward runs under
            ``torch.autocast`` in bfloat16 (matrix products and convolutions in bfloat16,
            weights, optimiser state, losses and the balancing methods in float32; no loss
            scaling is needed). About 1.8 × faster MiniLM fine-tuning on a CPU with AVX512-BF16,
            the usual choice on recent GPUs. Validation, test and predictions stay in float32.
        task_loss: ``mean``: each task's loss is the mean over the batch's rows (tokens) that
            carry its label, so a task weighs the same in every step that has one of its
            labels however few; ``share``: that mean times the share of the batch's rows that
            carry the label (the task's summed loss over the batch size), so a task weighs in
            proportion to how many of its rows are drawn. With several sources, ``share``
            makes ``data.sampling`` set the task mix (T5's examples-proportional and
            temperature mixing); with ``mean`` sampling changes only how many rows each task's
            mean averages.
        relations_every: every this many epochs, record the task relations (gradient cosine
            and conflict rate on the shared parameters, over up to 20 training batches) into
            ``task_relations_history.json`` of the run directory (None: never).
    """

    epochs: int = 20
    batch_size: int | None = None
    lr: float | None = None
    lr_shared: float | None = None
    lr_task: float | None = None
    lr_encoder: float | None = None
    optimizer: str = "adamw"
    weight_decay: float = 0.0
    momentum: float = 0.9
    schedule: str = "constant"
    warmup_epochs: float = 0.0
    step_size: int = 10
    gamma: float = 0.1
    clip_norm: float | None = None
    patience: int | None = None
    monitor: str = "loss"
    seed: int = 0
    eval_batch_size: int = 8192
    device: str = "cpu"
    relations_every: int | None = None
    group_by_length: bool = False
    batch_by: str = "rows"
    precision: str = "fp32"
    task_loss: str = "mean"

    def __post_init__(self) -> None:
        problems = self.check({name: getattr(self, name) for name in self.__dataclass_fields__})
        if problems:
            raise InvalidParameterError(
                " ".join(f"The '{key}' setting {message}" for key, message in problems)
            )

    @staticmethod
    def check(values: dict[str, Any], *, hardware: bool = False) -> list[tuple[str, str]]:
        """Every problem of the settings ``values`` (field name -> value; absent fields keep
        their defaults), as ``(key, "must be ... Got ...")`` pairs; empty when all are valid.

        Ranges (``docs/config.md``): every number must be finite; ``epochs``, ``batch_size``,
        ``eval_batch_size``, ``step_size`` and ``relations_every`` ints >= 1; ``patience`` an
        int >= 1; ``lr`` and the group rates > 0; ``weight_decay`` and ``warmup_epochs`` >= 0;
        ``momentum`` in [0, 1); ``gamma`` in (0, 1]; ``clip_norm`` > 0; ``seed`` an int >= 0.
        ``device`` is ``cpu``, ``auto``, ``cuda``, ``cuda:N`` or ``mps``; with ``hardware``,
        a device that this machine lacks is a problem too.

        Args:
            values: setting name -> value (a config's ``train:`` section, typed).
            hardware: also refuse a device this machine does not have.

        Returns:
            ``(key, message)`` per problem, in field order after the choices.

        Example:
            >>> [key for key, _ in TrainSettings.check({"gamma": -1, "optimizer": "adamx"})]
            ['optimizer', 'gamma']
            >>> TrainSettings.check({"clip_norm": -1})
            [('clip_norm', 'must be a finite number > 0 (or null: no clipping). Got -1.')]
        """
        merged = {name: f.default for name, f in TrainSettings.__dataclass_fields__.items()}
        merged.update(values)
        problems: list[tuple[str, str]] = []
        choices = {
            "optimizer": OPTIMIZERS,
            "schedule": SCHEDULES,
            "batch_by": BATCH_BY,
            "precision": PRECISIONS,
            "task_loss": TASK_LOSSES,
        }
        for key, allowed in choices.items():
            if merged[key] not in allowed:
                problems.append((key, f"must be one of {allowed}. Got {merged[key]!r}."))
        for key, (low, high, integer, optional) in _RANGES.items():
            message = _range_problem(merged[key], low, high, integer=integer, optional=optional)
            if message is not None:
                problems.append((key, message))
        if not isinstance(merged["group_by_length"], bool):
            problems.append(
                ("group_by_length", f"must be true or false. Got {merged['group_by_length']!r}.")
            )
        if not isinstance(merged["monitor"], str):
            problems.append(
                ("monitor", f"must be 'loss' or TASK.METRIC. Got {merged['monitor']!r}.")
            )
        message = _device_problem(merged["device"], hardware=hardware)
        if message is not None:
            problems.append(("device", message))
        return problems

    def base_lr(self) -> float:
        """``lr``, or :data:`DEFAULT_LR` when it was left open (``train_config`` resolves it
        by task and encoder first)."""
        return self.lr if self.lr is not None else DEFAULT_LR

    def rows_per_batch(self) -> int:
        """``batch_size``, or the row-task default when it was left open (``train_config``
        resolves it by task first: :data:`DEFAULT_BATCH_SIZES`)."""
        return self.batch_size if self.batch_size is not None else DEFAULT_BATCH_SIZES["row"]

    def resolve_device(self) -> torch.device:
        """The torch device to train on.

        Raises:
            InvalidParameterError: the device is not on this machine.
        """
        message = _device_problem(self.device, hardware=True)
        if message is not None:
            raise InvalidParameterError(f"The 'device' setting {message}")
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)


#: (low, high, integer, what null means or False) of every numeric setting; a bound in ``()``
#: is open (``(0.0,)``: > 0), a plain number is closed, None is unbounded (docs/config.md).
_Bound = float | tuple[float] | None
_RANGES: dict[str, tuple[_Bound, _Bound, bool, str | bool]] = {
    "epochs": (1, None, True, False),
    "batch_size": (1, None, True, "chosen by task: 16 sentences for tagging, 512 rows else"),
    "eval_batch_size": (1, None, True, False),
    "lr": ((0.0,), None, False, "chosen by task: 1e-2 for tagging on bilstm/cnn, 1e-3 else"),
    "lr_shared": ((0.0,), None, False, "the value of lr"),
    "lr_task": ((0.0,), None, False, "the value of lr"),
    "lr_encoder": ((0.0,), None, False, "the value of lr"),
    "weight_decay": (0.0, None, False, False),
    "momentum": (0.0, (1.0,), False, False),
    "warmup_epochs": (0.0, None, False, False),
    "step_size": (1, None, True, False),
    "gamma": ((0.0,), 1.0, False, False),
    "clip_norm": ((0.0,), None, False, "no clipping"),
    "patience": (1, None, True, "never stop early"),
    "seed": (0, None, True, False),
    "relations_every": (1, None, True, "never"),
}


def _range_problem(
    value: Any, low: _Bound, high: _Bound, *, integer: bool, optional: str | bool
) -> str | None:
    """``"must be ... Got ..."`` when ``value`` is outside its range, else None."""
    if value is None and optional:
        return None
    if low is not None and high is not None:
        lo = f"({low[0]:g}" if isinstance(low, tuple) else f"[{low:g}"
        hi = f"{high[0]:g})" if isinstance(high, tuple) else f"{high:g}]"
        bounds = f"in {lo}, {hi}"
    elif low is not None:
        bounds = f"> {low[0]:g}" if isinstance(low, tuple) else f">= {low:g}"
    else:
        bounds = f"< {high[0]:g}" if isinstance(high, tuple) else f"<= {high:g}"
    what = f"an int {bounds}" if integer else f"a finite number {bounds}"
    if optional:
        what += f" (or null: {optional})"
    expected = f"must be {what}. Got {value!r}."
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if not is_number or (integer and not isinstance(value, int)):
        return expected
    if not math.isfinite(value):
        return expected
    for bound, above in ((low, True), (high, False)):
        if bound is None:
            continue
        limit, open_ = (bound[0], True) if isinstance(bound, tuple) else (bound, False)
        if above and (value < limit or (open_ and value == limit)):
            return expected
        if not above and (value > limit or (open_ and value == limit)):
            return expected
    return None


def _device_problem(device: Any, *, hardware: bool) -> str | None:
    """``"must be ... Got ..."`` for a device name torch does not know (or, with
    ``hardware``, one this machine lacks), else None."""
    expected = "must be 'cpu', 'auto', 'cuda', 'cuda:N' or 'mps'"
    if not isinstance(device, str):
        return f"{expected}. Got {device!r}."
    kind, _, index = device.partition(":")
    if device in ("cpu", "auto"):
        return None
    if kind not in ("cuda", "mps") or (index and not (index.isdigit() and kind == "cuda")):
        return f"{expected}. Got {device!r}."
    if not hardware:
        return None
    if kind == "mps":
        if not torch.backends.mps.is_available():
            return "is 'mps', and this machine has no Apple GPU (MPS). Use 'cpu' or 'auto'."
        return None
    if not torch.cuda.is_available():
        return (
            f"is {device!r}, and this machine has no CUDA GPU (torch.cuda.is_available() is "
            "False). Use 'cpu', or 'auto' (a GPU when there is one)."
        )
    if index and int(index) >= torch.cuda.device_count():
        return (
            f"is {device!r}, and this machine has {torch.cuda.device_count()} CUDA GPU(s) "
            f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})."
        )
    return None


@dataclass
class TrainResult:
    """What training produced besides the model's weights (which hold the best epoch)."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = math.inf
    train_seconds: float = 0.0
    task_best_epochs: dict[str, int] | None = None


def _param_groups(
    model: MTLModel, method: torch.nn.Module, s: TrainSettings
) -> list[dict[str, Any]]:
    encoder: dict[int, torch.nn.Parameter] = {}
    if s.lr_encoder is not None:
        for module in model.modules():
            if isinstance(module, InputEncoder):
                encoder.update((id(p), p) for p in module.parameters())
    shared = [p for p in model.shared_parameters() if id(p) not in encoder]
    task = [p for t in model.task_names for p in model.task_parameters(t) if id(p) not in encoder]
    groups = []
    for params, lr in (
        (list(encoder.values()), s.lr_encoder),
        (shared, s.lr_shared),
        (task, s.lr_task),
        (list(method.parameters()), None),
    ):
        if params:
            groups.append({"params": params, "lr": lr if lr is not None else s.base_lr()})
    for g in groups:
        g["initial_lr"] = g["lr"]
    return groups


def _optimizer(groups: list[dict[str, Any]], s: TrainSettings) -> torch.optim.Optimizer:
    if s.optimizer == "sgd":
        return torch.optim.SGD(
            groups, lr=s.base_lr(), momentum=s.momentum, weight_decay=s.weight_decay
        )
    if s.optimizer == "adam":
        return torch.optim.Adam(groups, lr=s.base_lr(), weight_decay=s.weight_decay)
    return torch.optim.AdamW(groups, lr=s.base_lr(), weight_decay=s.weight_decay)


def _batch_tokens(s: TrainSettings, train: EncodedTable) -> int | None:
    """The padded-piece budget of a batch (``batch_by: tokens``), else None; refuses length
    grouping on a table without token sequences."""
    mean = train.mean_length()
    key = "batch_by" if s.batch_by == "tokens" else "group_by_length"
    if (s.group_by_length or s.batch_by == "tokens") and mean is None:
        raise InvalidParameterError(
            f"The '{key}' setting needs token sequences (a text or tokens input read "
            "by a sequence encoder: model.encoder cnn, bilstm, transformer or pretrained); this "
            f"run's encoded inputs are {sorted(train.x)}. Remove train.{key} or set "
            "model.encoder."
        )
    if s.batch_by != "tokens" or mean is None:
        return None
    return max(1, round(s.rows_per_batch() * mean))


def lr_factor(step: int, *, steps_per_epoch: int, s: TrainSettings) -> float:
    """Multiplier of the initial learning rate at global ``step`` (warm-up, then the schedule).

    Example:
        >>> s = TrainSettings(epochs=2, schedule="cosine")
        >>> lr_factor(0, steps_per_epoch=10, s=s)
        1.0
        >>> round(lr_factor(10, steps_per_epoch=10, s=s), 3)
        0.5
    """
    warmup = int(s.warmup_epochs * steps_per_epoch)
    if step < warmup:
        return (step + 1) / warmup
    total = max(1, s.epochs * steps_per_epoch - warmup)
    progress = (step - warmup) / total
    if s.schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    if s.schedule == "linear":
        return max(0.0, 1.0 - progress)
    if s.schedule == "step":
        return float(s.gamma ** ((step // steps_per_epoch) // max(1, s.step_size)))
    return 1.0


def validation_score(
    outputs: dict[str, Tensor],
    table: EncodedTable,
    tasks: list[Task],
    states: dict[str, dict[str, Any]],
    monitor: str,
) -> float:
    """Lower-is-better score used for early stopping and for choosing the best epoch."""
    if monitor == "loss":  # tasks without a labelled validation row do not count
        losses = evaluate_losses(outputs, table, tasks, states)
        scored = [t for t in tasks if bool(table.mask[t.name].any())] or tasks
        return sum(t.weight * losses[t.name] for t in scored) / max(
            1e-12, sum(t.weight for t in scored)
        )
    task_name, _, metric = monitor.partition(".")
    task = next(t for t in tasks if t.name == task_name)
    kind = get_kind(task.type)
    value = kind.score(
        task, states[task.name], outputs[task.name], table.y[task_name], table.mask[task_name]
    )[metric]
    return -value if kind.metric_directions[metric] else value


def check_monitor(
    valid: EncodedTable,
    tasks: list[Task],
    states: dict[str, dict[str, Any]],
    monitor: str,
    *,
    where: str = "the validation rows",
) -> None:
    """Refuse a ``monitor`` that the validation labels leave undefined, before any training.

    A monitored metric that is NaN on validation (a task without labelled validation rows,
    ``auc`` with one class) would never improve, so no epoch would be selected. With
    ``monitor: loss`` a task without labelled validation rows is left out of the score (see
    :func:`validation_score`) with a :class:`~manyheads.errors.DataWarning`; no such row at all
    is refused. Only the labels decide: the metric is computed on a constant output.

    Raises:
        InvalidParameterError: naming the task, the metric and the fix.
    """
    labelled = {t.name: bool(valid.mask[t.name].any()) for t in tasks}
    if monitor == "loss":
        if not any(labelled.values()):
            raise InvalidParameterError(
                f"No task has a labelled row in {where}, so the validation loss (train.monitor: "
                "loss) that selects the best epoch is undefined. Give validation rows with "
                "labels (data.valid, or data.valid_fraction of the labelled training rows)."
            )
        for name in [n for n, has in labelled.items() if not has]:
            warnings.warn(
                f"task '{name}' has no labelled row in {where}: it is left out of the "
                "validation loss that selects the best epoch (train.monitor: loss).",
                DataWarning,
                stacklevel=2,
            )
        return
    name, _, metric = monitor.partition(".")
    task = next(t for t in tasks if t.name == name)
    kind = get_kind(task.type)
    defined = [
        f"{t.name}.{m}"
        for t in tasks
        for m, v in _constant_scores(t, valid, states).items()
        if m in get_kind(t.type).metric_directions and not math.isnan(v)
    ]
    fix = (
        f"Set train.monitor to loss{' or one of ' + ', '.join(defined) if defined else ''}, or "
        "give validation rows that define it."
    )
    if not labelled[name]:
        raise InvalidParameterError(
            f"The monitored metric '{monitor}' (train.monitor) is undefined: task '{name}' has "
            f"no labelled row in {where}, so no epoch could be selected. {fix}"
        )
    value = _constant_scores(task, valid, states)[metric]
    if math.isnan(value):
        n = int(valid.mask[name].reshape(valid.n_rows, -1).any(dim=1).sum())
        one_class = " (e.g. auc needs both classes)" if "auc" in metric else ""
        raise InvalidParameterError(
            f"The monitored metric '{monitor}' (train.monitor) is NaN on the {n} labelled "
            f"validation row(s) of task '{name}' in {where}{one_class}, so no epoch could be "
            f"selected ({kind.name} task). {fix}"
        )


def _constant_scores(
    task: Task, valid: EncodedTable, states: dict[str, dict[str, Any]]
) -> dict[str, float]:
    """The task's validation metrics for an all-zero output (NaN where the labels leave a
    metric undefined, whatever the model predicts)."""
    kind = get_kind(task.type)
    target, mask = valid.y[task.name], valid.mask[task.name]
    width = kind.out_dim(states[task.name])
    if kind.level == "token":
        output = torch.zeros(*target.shape, width)
        if task.crf:  # the CRF parameter rides along (tasks/_tagging.py)
            output = torch.cat([output, torch.zeros(len(target), width + 2, width)], dim=1)
    elif width == 1:
        output = torch.zeros(target.shape)
    elif target.dim() == 1:
        output = torch.zeros(len(target), width)
    else:
        output = torch.zeros(target.shape)
    return kind.score(task, states[task.name], output, target, mask)


def train_model(
    model: MTLModel,
    method: Weighting | Aggregator,
    train: EncodedTable,
    valid: EncodedTable,
    *,
    tasks: list[Task],
    states: dict[str, dict[str, Any]],
    settings: TrainSettings,
    events: Events,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    fingerprint: dict[str, Any] | None = None,
    restored: ResumePoint | None = None,
) -> TrainResult:
    """Train ``model`` in place, keep the best validation epoch, checkpoint after every epoch.

    With ``resume``, training continues after the last completed epoch of the checkpoint in
    ``checkpoint_dir`` (``restored``, if the caller read and checked it already with
    :func:`read_resume_point`) and ends with the same weights and metrics as an uninterrupted
    run. ``fingerprint`` is stored in every checkpoint; a resume whose fingerprint differs is
    refused.

    Raises:
        InvalidParameterError: ``resume`` without a checkpoint, or with a changed fingerprint.
        DataError: the checkpoint is damaged or does not fit the model.
    """
    s = settings
    method.reset()  # a run starts from the method's initial state (seeded draws included)
    batch_tokens = _batch_tokens(s, train)
    device = s.resolve_device()
    model.to(device)
    method.to(device)
    optimizer = _optimizer(_param_groups(model, method, s), s)
    generator = torch.Generator().manual_seed(s.seed)
    steps_per_epoch = math.ceil(train.n_rows / s.rows_per_batch())
    if batch_tokens is not None:  # as many batches as a seeded draw of the epoch makes
        draw = torch.Generator().manual_seed(s.seed)
        steps_per_epoch = len(
            train.batch_indices(s.rows_per_batch(), generator=draw, batch_tokens=batch_tokens)
        )
    result = TrainResult()
    start_epoch, step, stale = 1, 0, 0
    best_state: dict[str, Tensor] | None = None
    per_task = PerTaskBest.for_model(model, tasks, s.monitor)
    if resume and restored is None:
        if checkpoint_dir is None:
            raise InvalidParameterError("resume needs a run directory ('output') to resume.")
        restored = read_resume_point(
            checkpoint_dir, model=model, method=method, settings=s, fingerprint=fingerprint
        )
    if resume and restored is not None:
        groups, meta = restored
        model.load_state_dict(groups["model"])
        method.load_state_dict(groups["method"])
        optimizer.load_state_dict(optimizer_from_flat(groups["optim"], meta["optimizer"]))
        generator.set_state(groups["rng"]["shuffle"])
        torch.set_rng_state(groups["rng"]["torch"])
        best_state = {k: v for k, v in groups["best"].items() if not k.startswith("task::")}
        best_state = best_state or None
        if per_task is not None:
            per_task.load(groups["best"], meta["task_best"])
        start_epoch, step, stale = meta["epoch"] + 1, meta["step"], meta["stale"]
        result = TrainResult(
            meta["history"], meta["best_epoch"], meta["best_score"], meta["train_seconds"]
        )

    def set_lr(at: int) -> None:
        factor = lr_factor(at, steps_per_epoch=steps_per_epoch, s=s)
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"] * factor

    events.send(
        "train_start", n_epochs=s.epochs, n_batches=steps_per_epoch, start_epoch=start_epoch
    )
    for epoch in range(start_epoch, s.epochs + 1):
        if s.patience is not None and stale >= s.patience:
            break
        began = time.perf_counter()
        train_losses, step = train_one_epoch(
            model,
            train,
            tasks=tasks,
            states=states,
            method=method,
            optimizer=optimizer,
            set_lr=set_lr,
            step=step,
            epoch=epoch,
            batch_size=s.rows_per_batch(),
            generator=generator,
            clip_norm=s.clip_norm,
            events=events,
            device=device,
            group_by_length=s.group_by_length,
            batch_tokens=batch_tokens,
            precision=s.precision,
            task_loss=s.task_loss,
        )
        method.end_epoch(train_losses.to(torch.float32))
        result.train_seconds += time.perf_counter() - began
        outputs = predict_outputs(model, valid, batch_size=s.eval_batch_size, device=device)
        score = validation_score(outputs, valid, tasks, states, s.monitor)
        record = _record(epoch, train_losses, outputs, valid, tasks, states, score)
        result.history.append(record)
        if score < result.best_score:
            result.best_score, result.best_epoch, stale = score, epoch, 0
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
        if per_task is not None:
            per_task.update(epoch, model, outputs, valid, states)
        events.send("epoch_end", epoch=epoch, record=record, history=result.history)
        if checkpoint_dir is not None:
            rng = {"shuffle": generator.get_state(), "torch": torch.get_rng_state()}
            meta = {
                "epoch": epoch,
                "step": step,
                "stale": stale,
                "history": result.history,
                "best_epoch": result.best_epoch,
                "best_score": result.best_score,
                "train_seconds": result.train_seconds,
                "task_best": per_task.meta() if per_task is not None else None,
                "fingerprint": fingerprint or {},
            }
            save_checkpoint(
                checkpoint_dir,
                model=model,
                method=method,
                optimizer=optimizer,
                rng=rng,
                best_model=(best_state or {})
                | (per_task.tensors() if per_task is not None else {}),
                meta=meta,
            )
    if best_state is not None:
        model.load_state_dict(best_state)
    if per_task is not None:
        per_task.apply(model)
        result.task_best_epochs = per_task.epochs()
    events.send("train_end", best_epoch=result.best_epoch)
    return result


#: A checkpoint read by :func:`read_resume_point`: tensors by group, and ``checkpoint.json``.
ResumePoint = tuple[dict[str, dict[str, Tensor]], dict[str, Any]]


def read_resume_point(
    directory: Path,
    *,
    model: MTLModel,
    method: torch.nn.Module,
    settings: TrainSettings,
    fingerprint: dict[str, Any] | None,
) -> ResumePoint:
    """Read the checkpoint in ``directory`` and check that this run can continue it.

    Nothing is loaded into ``model`` or ``method``: a caller checks first, writes after.

    Args:
        directory: the run directory.
        model: the model the run builds (its state's keys and shapes are compared).
        method: the balancing method (its state's keys and shapes are compared).
        settings: the run's settings (they build the optimiser whose state is compared).
        fingerprint: the run's fingerprint; None skips that comparison.

    Raises:
        InvalidParameterError: no checkpoint in ``directory`` (nothing to resume), or the
            configuration, data or encodings changed since it was written (every change is
            listed, old → new; ``train.epochs`` may grow).
        DataError: the checkpoint is damaged or does not fit the model (names the file).
    """
    if not (directory / "checkpoint.json").is_file():
        raise InvalidParameterError(
            f"Nothing to resume in '{directory}': it holds no checkpoint.json (a run writes "
            "one after each epoch, and deletes it when it finishes unless --keep-checkpoint). "
            "Drop --resume to start the run."
        )
    groups, meta = load_checkpoint(directory)
    if fingerprint is not None:
        changes = fingerprint_changes(meta["fingerprint"], fingerprint)
        if changes:
            raise InvalidParameterError(
                f"Cannot resume the run in '{directory}': {len(changes)} thing(s) changed since "
                "its checkpoint was written, so the resumed run would not be the run that "
                "config.yaml describes:\n"
                + "\n".join(f"  - {c}" for c in changes)
                + "\nRestore the old values to resume (train.epochs may grow to extend a run), "
                "or train into another 'output' (or --overwrite) to start again."
            )
    where = f"{directory / 'checkpoint.json'} (tensors: {directory / meta['tensors_file']})"
    _check_fits(groups, meta, model, method, settings, where)
    return groups, meta


def _check_fits(
    groups: dict[str, dict[str, Tensor]],
    meta: dict[str, Any],
    model: MTLModel,
    method: torch.nn.Module,
    s: TrainSettings,
    path: str,
) -> None:
    """Raise a DataError naming ``path`` unless every tensor fits ``model``, ``method`` and
    the optimiser ``s`` builds (keys, shapes, dtypes)."""
    problems: list[str] = []
    want = model.state_dict()

    def compare(group: str, saved: dict[str, Tensor], expected: dict[str, Tensor]) -> None:
        missing = sorted(set(expected) - set(saved))
        extra = sorted(set(saved) - set(expected))
        if missing:
            problems.append(f"{group}: missing {', '.join(missing[:3])}")
        if extra:
            problems.append(f"{group}: unexpected {', '.join(extra[:3])}")
        for key in sorted(set(saved) & set(expected)):
            got, exp = saved[key], expected[key]
            lazy = group == "method" and exp.numel() == 0  # takes its shape from the checkpoint
            if (got.shape != exp.shape and not lazy) or got.dtype != exp.dtype:
                problems.append(
                    f"{group}.{key}: expected {exp.dtype} {list(exp.shape)}, "
                    f"found {got.dtype} {list(got.shape)}"
                )

    compare("model", groups["model"], want)
    compare("method", groups["method"], method.state_dict())
    best = {k: v for k, v in groups["best"].items() if not k.startswith("task::")}
    if best:
        compare("best", best, want)
    per_task = {k: v for k, v in groups["best"].items() if k.startswith("task::")}
    if per_task:
        compare(
            "best",
            {k.removeprefix("task::"): v for k, v in per_task.items()},
            {
                f"{t}::{k}": want[k]
                for t in model.task_names
                for k in model.task_state_keys(t) or []
                if f"task::{t}::{k}" in per_task
            },
        )
    task_best = meta["task_best"]
    independent = all(model.task_state_keys(t) is not None for t in model.task_names)
    if (task_best is not None) != independent or (
        task_best is not None
        and not all(
            isinstance(task_best.get(k), dict) and set(task_best[k]) == set(model.task_names)
            for k in ("score", "epoch")
        )
    ):
        problems.append("checkpoint.json 'task_best' does not fit the architecture's tasks")
    rng = groups["rng"]
    for name, expected in (
        ("shuffle", torch.Generator().get_state()),
        ("torch", torch.get_rng_state()),
    ):
        got = rng.get(name)
        if got is None or got.dtype != expected.dtype or got.shape != expected.shape:
            problems.append(f"rng.{name}: expected a {list(expected.shape)} random-number state")
    extra_rng = sorted(set(rng) - {"shuffle", "torch"})
    if extra_rng:
        problems.append(f"rng: unexpected {', '.join(extra_rng)}")
    probe = _optimizer(_param_groups(model, method, s), s)
    params = [p for g in probe.param_groups for p in g["params"]]
    for idx in meta["optimizer"]["scalars"]:
        if not str(idx).isdigit() or int(idx) >= len(params):
            problems.append(f"optimizer.scalars.{idx}: the optimiser has {len(params)} parameters")
    for name, value in groups["optim"].items():
        idx = name.split(".", 2)[1]
        if int(idx) >= len(params):
            problems.append(f"{name}: the optimiser has {len(params)} parameters")
        elif value.dim() > 0 and value.shape != params[int(idx)].shape:
            problems.append(
                f"{name}: expected {list(params[int(idx)].shape)}, found {list(value.shape)}"
            )
    if not problems:
        try:
            probe.load_state_dict(optimizer_from_flat(groups["optim"], meta["optimizer"]))
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            problems.append(f"optimiser state: {exc}")
    if problems:
        raise DataError(
            f"the checkpoint does not fit this run's model ({len(problems)} problem(s)): "
            + "; ".join(problems[:6])
            + ". It is damaged, or was written by another version: start the run again with "
            "--overwrite instead of --resume.",
            path=path,
        )


class PerTaskBest:
    """For independent tasks (``stl``): each task's weights from its own best validation epoch.

    A task's score is its validation loss when the monitor is ``loss``, else its primary metric
    (the monitored metric for the monitored task), made lower-is-better.
    """

    def __init__(self, model: MTLModel, tasks: list[Task], monitor: str) -> None:
        self.tasks = tasks
        self.monitor = monitor
        self.keys = {t.name: model.task_state_keys(t.name) or [] for t in tasks}
        self.score = {t.name: math.inf for t in tasks}
        self.epoch = {t.name: 0 for t in tasks}
        self.state: dict[str, dict[str, Tensor]] = {t.name: {} for t in tasks}

    @classmethod
    def for_model(cls, model: MTLModel, tasks: list[Task], monitor: str) -> PerTaskBest | None:
        """A selector if ``model`` declares independent tasks, else None."""
        if any(model.task_state_keys(t.name) is None for t in tasks):
            return None
        return cls(model, tasks, monitor)

    def _task_score(
        self,
        task: Task,
        outputs: dict[str, Tensor],
        valid: EncodedTable,
        states: dict[str, dict[str, Any]],
    ) -> float:
        if self.monitor == "loss":
            return evaluate_losses(outputs, valid, [task], states)[task.name]
        kind = get_kind(task.type)
        name, _, metric = self.monitor.partition(".")
        metric = metric if name == task.name else kind.metric_names(task)[0]
        value = kind.score(
            task, states[task.name], outputs[task.name], valid.y[task.name], valid.mask[task.name]
        )[metric]
        if math.isnan(value):
            return math.inf
        return -value if kind.metric_directions[metric] else value

    def update(
        self,
        epoch: int,
        model: MTLModel,
        outputs: dict[str, Tensor],
        valid: EncodedTable,
        states: dict[str, dict[str, Any]],
    ) -> None:
        """Keep each task's weights when its validation score improved."""
        current = model.state_dict()
        for task in self.tasks:
            score = self._task_score(task, outputs, valid, states)
            if score < self.score[task.name]:
                self.score[task.name], self.epoch[task.name] = score, epoch
                self.state[task.name] = {
                    k: current[k].detach().cpu().clone() for k in self.keys[task.name]
                }

    def apply(self, model: MTLModel) -> None:
        """Load every task's best weights into ``model``."""
        merged = {k: v for state in self.state.values() for k, v in state.items()}
        model.load_state_dict(merged, strict=False)

    def epochs(self) -> dict[str, int]:
        """Task name -> its best epoch."""
        return dict(self.epoch)

    def meta(self) -> dict[str, Any]:
        """JSON-ready bookkeeping for checkpoints."""
        return {"score": self.score, "epoch": self.epoch}

    def tensors(self) -> dict[str, Tensor]:
        """The kept weights, keyed ``task::<task>::<state key>`` for checkpoints."""
        return {f"task::{t}::{k}": v for t, state in self.state.items() for k, v in state.items()}

    def load(self, tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
        """Restore from a checkpoint written with :meth:`tensors` and :meth:`meta`."""
        self.score = {k: float(v) for k, v in meta["score"].items()}
        self.epoch = {k: int(v) for k, v in meta["epoch"].items()}
        for name, value in tensors.items():
            if name.startswith("task::"):
                _, task, key = name.split("::", 2)
                self.state[task][key] = value


def _record(
    epoch: int,
    train_losses: Tensor,
    outputs: dict[str, Tensor],
    valid: EncodedTable,
    tasks: list[Task],
    states: dict[str, dict[str, Any]],
    score: float,
) -> dict[str, float]:
    record: dict[str, float] = {"epoch": float(epoch), "valid_score": score}
    valid_losses = evaluate_losses(outputs, valid, tasks, states)
    metrics = score_outputs(outputs, valid, tasks, states)
    for t, loss in zip(tasks, train_losses.tolist(), strict=True):
        record[f"train_loss/{t.name}"] = loss
        record[f"valid_loss/{t.name}"] = valid_losses[t.name]
        primary = get_kind(t.type).metric_names(t)[0]
        record[f"valid_{primary}/{t.name}"] = metrics[t.name][primary]
    return record
