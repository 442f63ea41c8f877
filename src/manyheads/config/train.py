"""``TrainSettings``: the ``train:`` section of a run config (optimiser, schedule, batches).

The schema lives in the config layer, so that reading and checking a config never imports the
engine (nor torch: :meth:`TrainSettings.resolve_device` imports it when it is called). Every
setting, its range and its default are documented in ``docs/config.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from manyheads.config._train_checks import RANGES, device_problem, range_problem
from manyheads.errors import InvalidParameterError

if TYPE_CHECKING:
    import torch

__all__ = [
    "BATCH_BY",
    "DEFAULT_BATCH_SIZES",
    "DEFAULT_LR",
    "DEFAULT_TAGGING_LR",
    "MIN_STEPS_PER_EPOCH",
    "OPTIMIZERS",
    "PRECISIONS",
    "SCHEDULES",
    "TASK_LOSSES",
    "TrainSettings",
    "default_row_batch",
]

OPTIMIZERS = ("adamw", "adam", "sgd")
BATCH_BY = ("rows", "tokens")
PRECISIONS = ("fp32", "bf16")
TASK_LOSSES = ("mean", "share")
SCHEDULES = ("constant", "cosine", "linear", "step")
#: The default ``batch_size`` by task level (``TaskType.level``): ``row`` tasks (tables) in rows,
#: ``token`` tasks (tagging) in sentences; a run with a token task uses the latter.
DEFAULT_BATCH_SIZES = {"row": 512, "token": 16}
#: A table smaller than ``512 × MIN_STEPS_PER_EPOCH`` rows gets a smaller default batch, so that
#: an epoch still makes this many optimiser steps (:func:`default_row_batch`).
MIN_STEPS_PER_EPOCH = 100
#: The smallest default batch of a table.
MIN_ROW_BATCH = 32
#: The default ``lr``; a tagging task on an encoder trained from scratch without a position
#: limit (bilstm, cnn) gets :data:`DEFAULT_TAGGING_LR` (see ``workflow._fit.train_config``).
DEFAULT_LR = 1e-3
DEFAULT_TAGGING_LR = 1e-2


def default_row_batch(n_train: int | None) -> int:
    """The default batch of a table of ``n_train`` training rows: 512, or the largest power of
    two (at least 32) that gives an epoch :data:`MIN_STEPS_PER_EPOCH` steps. ``None`` (the row
    count is not known up front: a streamed train) gives 512.

    Example:
        >>> default_row_batch(199_523), default_row_batch(20_000), default_row_batch(6_346)
        (512, 128, 32)
    """
    largest = DEFAULT_BATCH_SIZES["row"]
    if n_train is None:
        return largest
    size = MIN_ROW_BATCH
    while size * 2 <= min(n_train // MIN_STEPS_PER_EPOCH, largest):
        size *= 2
    return size


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings of one run (the ``train:`` section of a config).

    Args:
        epochs: maximum number of epochs.
        batch_size: training batch size in rows (sentences for a ``tagging`` task). None
            (the default): 16 when a task has one label per token (tagging: a 512-sentence
            batch gives a few dozen optimiser steps per epoch, too few to learn in the first
            epoch), else 512 rows, or fewer on a small table (:func:`default_row_batch`).
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
        affinity_every: every this many optimiser steps, record the lookahead inter-task
            affinity of Fifty et al. (2021) on one training batch into ``affinity.json`` of
            the run directory (None: never; training is unchanged either way, each record
            costs about one forward-backward plus T forwards).
        fused_optimizer: step ``adamw``, ``adam`` or ``sgd`` with torch's fused kernel
            (``fused=True``: one pass over every parameter instead of a dozen small operations
            per tensor). The update is the same formula, but the kernel may round differently in
            the last bit, so it is opt-in; faster on small models, where the optimiser is a large
            share of the step (``docs/benchmarks.md``).
        compile: run the training forward and its losses through ``torch.compile`` (inductor:
            fused, generated kernels for the forward and the backward). Needs a C++ compiler on
            a CPU (``g++``/``clang++`` or ``CXX``; refused with a message when there is none)
            and a loss weighting other than ``gradnorm`` (gradient aggregators read the eager
            autograd graph). The first steps of each batch shape compile (tens of seconds);
            results differ from the eager run by rounding. Validation stays eager.
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
    affinity_every: int | None = None
    group_by_length: bool = False
    batch_by: str = "rows"
    precision: str = "fp32"
    task_loss: str = "mean"
    fused_optimizer: bool = False
    compile: bool = False

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
        ``eval_batch_size``, ``step_size``, ``relations_every`` and ``affinity_every`` ints
        >= 1; ``patience`` an int >= 1; ``lr`` and the group rates > 0; ``weight_decay`` and
        ``warmup_epochs`` >= 0; ``momentum`` in [0, 1); ``gamma`` in (0, 1]; ``clip_norm`` > 0;
        ``seed`` an int >= 0. ``device`` is ``cpu``, ``auto``, ``cuda``, ``cuda:N`` or ``mps``;
        with ``hardware``, a device that this machine lacks is a problem too.

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
        for key, (low, high, integer, optional) in RANGES.items():
            message = range_problem(merged[key], low, high, integer=integer, optional=optional)
            if message is not None:
                problems.append((key, message))
        for key in ("group_by_length", "fused_optimizer", "compile"):
            if not isinstance(merged[key], bool):
                problems.append((key, f"must be true or false. Got {merged[key]!r}."))
        if not isinstance(merged["monitor"], str):
            problems.append(
                ("monitor", f"must be 'loss' or TASK.METRIC. Got {merged['monitor']!r}.")
            )
        message = device_problem(merged["device"], hardware=hardware)
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
        message = device_problem(self.device, hardware=True)
        if message is not None:
            raise InvalidParameterError(f"The 'device' setting {message}")
        import torch  # here, so that reading a config does not import torch

        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)
