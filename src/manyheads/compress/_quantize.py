"""``manyheads quantize RUN -o DIR``: int8 dynamic quantisation of the exported graph.

The run is exported to ONNX (:func:`~manyheads.export.export_onnx`, whose parity check proves
the float32 graph), its weights are quantised to int8 by onnxruntime's dynamic quantiser
(``onnxruntime.quantization.quantize_dynamic``: weights stored as int8, activations quantised
per batch at run time; ``torch.ao`` quantisation is deprecated in this torch), and both graphs
are scored on the run's validation and test splits. The parity check of export does not apply
to int8 (its outputs differ by design): the report replaces it, and the quantisation is refused
when a task's primary metric drops by more than ``max_drop`` unless ``force``.

Which nodes stay float32: those named in ``exclude``, and with ``keep_fp32=N`` the N that move
the outputs most when quantised alone (:mod:`._int8`, measured on the first validation rows,
never on test). The default keeps none: on the MiniLM reviews model the most sensitive node
kept in float32 won on validation and lost on test (docs/benchmarks.md, session 14).

The new bundle holds a copy of the run's bundle (``model.safetensors``, the float32 weights it
was quantised from, and ``model.json``), its ``config.yaml``, the int8 ``model.onnx`` with its
``model.onnx.json`` and the report ``compress.json``. It predicts with ``--engine onnxruntime``;
``--engine torch`` is refused (it would run the float32 weights, not the measured model).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from manyheads._files import atomic_write_text
from manyheads.compress._bundle import copy_into
from manyheads.compress._compression import Compression, measure_latency
from manyheads.compress._int8 import (
    Int8Settings,
    check_exclude,
    check_op_types,
    quantizable_nodes,
    quantize_graph,
    sensitivities,
)
from manyheads.compress._measure import encoded_batch, file_size, task_changes
from manyheads.compress._report import CompressReport
from manyheads.errors import InvalidParameterError
from manyheads.export._engine import OnnxModel
from manyheads.export._export import export_onnx, sidecar_path
from manyheads.export._onnx import (
    Session,
    open_session,
    require_export_extra,
    run_graph,
    trim_batch,
)
from manyheads.workflow._bundle_weights import file_sha256
from manyheads.workflow._run import Run

__all__ = [
    "CALIBRATION_ROWS",
    "KEEP_FP32",
    "MAX_DROP",
    "check_max_drop",
    "most_sensitive",
    "quantize",
]

#: The default largest drop of a task's primary metric (0.5 points of a score in [0, 1]).
MAX_DROP = 0.005

#: The default number of the most sensitive nodes kept in float32 (``--keep-fp32``). 0: on the
#: MiniLM reviews model, keeping its most sensitive node won 0.1 points on the worst task of the
#: full validation split but lost 0.14 on test (docs/benchmarks.md), no gain worth measuring
#: every node for by default.
KEEP_FP32 = 0

#: The validation rows each node's sensitivity is measured on (the first ones of the split).
CALIBRATION_ROWS = 128


def check_max_drop(max_drop: float) -> None:
    """``max_drop`` is a finite number >= 0.

    Example:
        >>> check_max_drop(-1.0)
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: The 'max_drop' parameter must be a finite \
number >= 0 (the largest loss of a task's primary metric, e.g. 0.005). Got -1.0 instead.
    """
    if isinstance(max_drop, bool) or not isinstance(max_drop, int | float):
        ok = False
    else:
        ok = math.isfinite(max_drop) and max_drop >= 0
    if not ok:
        raise InvalidParameterError(
            "The 'max_drop' parameter must be a finite number >= 0 (the largest loss of a "
            f"task's primary metric, e.g. 0.005). Got {max_drop!r} instead."
        )


def quantize(  # noqa: PLR0913 - the public entry point: one keyword per setting
    run: Run,
    out_dir: str | Path,
    *,
    max_drop: float = MAX_DROP,
    force: bool = False,
    per_channel: bool = False,
    reduce_range: bool = False,
    op_types: Sequence[str] | None = None,
    keep_fp32: int = KEEP_FP32,
    exclude: Sequence[str] = (),
    overwrite: bool = False,
) -> CompressReport:
    """Quantise ``run``'s network to int8 and write it as a new bundle in ``out_dir``.

    Args:
        run: a trained run directory (:func:`manyheads.load`); its ``config.yaml`` names the
            splits the report scores.
        out_dir: the new bundle's folder (new, empty, or a bundle manyheads wrote).
        max_drop: the largest drop of a task's primary metric, on validation or test.
        force: write the bundle even when a task drops by more than ``max_drop``.
        per_channel: one int8 scale per output channel of each weight (else per tensor).
        reduce_range: 7-bit weights (onnxruntime's ``reduce_range``).
        op_types: the ONNX operators to quantise (None: every one of onnxruntime's dynamic
            quantiser, ``MatMul``, ``Attention``, ``Gather`` ...; ``Gemm``, as which the
            exporter writes some ``nn.Linear`` layers, is not one of them and stays float32).
        keep_fp32: keep this many of the most sensitive nodes in float32: each quantisable
            node is quantised alone and run on the first :data:`CALIBRATION_ROWS` validation
            rows, and the ones that move the outputs most are excluded
            (:func:`~manyheads.compress._int8.sensitivities`); 0 measures nothing.
        exclude: names of nodes of the exported graph to keep in float32 as well (each must
            be one the quantiser would quantise).
        overwrite: replace a bundle already in ``out_dir``.

    Returns:
        The report (also written as ``compress.json``).

    Raises:
        InvalidParameterError: a bad option, or an output folder that would put files at risk.
        DataError: no ``config.yaml`` or data for the run, or a task dropped by more than
            ``max_drop`` without ``force`` (then nothing is written).
    """
    require_export_extra()
    check_max_drop(max_drop)
    _check_keep(keep_fp32)
    ops = check_op_types(op_types)
    job = Compression.open("quantize", run, out_dir, limits=(max_drop, force), overwrite=overwrite)
    with tempfile.TemporaryDirectory(prefix="manyheads-quantize-") as tmp:
        fp32, int8 = Path(tmp) / "fp32" / "model.onnx", Path(tmp) / "int8" / "model.onnx"
        fp32.parent.mkdir()
        int8.parent.mkdir()
        export_onnx(run, fp32)
        nodes = quantizable_nodes(fp32, ops)
        given = Int8Settings(per_channel, reduce_range, ops, check_exclude(exclude, nodes))
        worst = most_sensitive(run, job.data.valid, fp32, given, keep_fp32)
        settings = dataclasses.replace(given, exclude=(*given.exclude, *worst))
        quantize_graph(fp32, int8, settings)
        described: dict[str, Any] = {
            "weight_type": "int8",
            "per_channel": per_channel,
            "reduce_range": reduce_range,
            "op_types": list(ops) if ops is not None else "all",
            "keep_fp32": keep_fp32,
            "fp32_nodes": list(settings.exclude),
        }
        report = _report(job, (fp32, int8), described)
        job.refuse_dropped(report, "int8 quantisation", "a larger --keep-fp32")
        _write(job, int8, sidecar_path(fp32), report)
    return report


def _check_keep(keep_fp32: int) -> None:
    if isinstance(keep_fp32, bool) or not isinstance(keep_fp32, int) or keep_fp32 < 0:
        raise InvalidParameterError(
            "The 'keep_fp32' parameter of quantize must be an integer >= 0, the number of the "
            f"most sensitive nodes kept in float32 (0: none). Got {keep_fp32!r} instead."
        )


def most_sensitive(
    run: Run, rows: pd.DataFrame, fp32: Path, settings: Int8Settings, keep: int
) -> list[str]:
    """The ``keep`` quantisable nodes of the graph ``fp32`` (not already excluded) whose int8
    weights alone move the outputs most on the first :data:`CALIBRATION_ROWS` of ``rows`` (a
    validation split), the worst first."""
    nodes = quantizable_nodes(fp32, settings.op_types)
    candidates = [n for n in nodes if n not in settings.exclude]
    if keep == 0 or not candidates:
        return []
    rows = rows.head(CALIBRATION_ROWS)
    chunks = [rows.iloc[i : i + 64] for i in range(0, len(rows), 64)]
    batches = [trim_batch(encoded_batch(run, c, len(c))) for c in chunks]
    errors = sensitivities(fp32, batches, settings, candidates)
    return sorted(candidates, key=lambda n: -errors[n])[:keep]


def _engine(run: Run, session: Session) -> Run:
    return dataclasses.replace(run, model=OnnxModel(session, dict(run.model.out_dims)))


def _report(
    job: Compression, graphs: tuple[Path, Path], settings: dict[str, Any]
) -> CompressReport:
    run = job.run
    sessions = [open_session(g) for g in graphs]
    before, after = (_engine(run, s) for s in sessions)
    latency = measure_latency(
        lambda size: trim_batch(encoded_batch(run, job.data.valid, size)),
        functools.partial(run_graph, sessions[0]),
        functools.partial(run_graph, sessions[1]),
    )
    return job.report(
        "onnxruntime fp32 -> int8",
        task_changes(before, after, job.data),
        sizes=(file_size(graphs[0]), file_size(graphs[1])),
        n_parameters=(run.n_parameters, run.n_parameters),
        latency=latency,
        settings=settings,
    )


def _write(job: Compression, int8: Path, fp32_sidecar: Path, report: CompressReport) -> None:
    """The bundle's files, the marker first and the report last."""
    run = job.run
    assert run.directory is not None  # run_data refused a run without one
    with job.writing(report) as directory:
        for name in ("model.safetensors", "model.json", "config.yaml"):
            copy_into(directory, run.directory / name)
        out = directory / "model.onnx"
        copy_into(directory, int8)
        meta = json.loads(fp32_sidecar.read_text(encoding="utf-8"))
        meta["fp32_parity"] = meta.pop("parity")
        meta["sha256"] = file_sha256(out)
        meta["quantization"] = {"method": "onnxruntime dynamic", **report.settings}
        meta["report"] = "compress.json"
        atomic_write_text(sidecar_path(out), json.dumps(meta, indent=2) + "\n")
