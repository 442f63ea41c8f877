"""``manyheads quantize RUN -o DIR``: int8 dynamic quantisation of the exported graph.

The run is exported to ONNX (:func:`~manyheads.export.export_onnx`, whose parity check proves
the float32 graph), its weights are quantised to int8 by onnxruntime's dynamic quantiser
(``onnxruntime.quantization.quantize_dynamic``: weights stored as int8, activations quantised
per batch at run time; ``torch.ao`` quantisation is deprecated in this torch), and both graphs
are scored on the run's validation and test splits. The parity check of export does not apply
to int8 (its outputs differ by design): the report replaces it, and the quantisation is refused
when a task's primary metric drops by more than ``max_drop`` unless ``force``.

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

from manyheads._files import atomic_write_text
from manyheads.compress._bundle import copy_into
from manyheads.compress._compression import Compression, measure_latency
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

__all__ = ["MAX_DROP", "check_max_drop", "quantize"]

#: The default largest drop of a task's primary metric (0.5 points of a score in [0, 1]).
MAX_DROP = 0.005


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


def quantize(
    run: Run,
    out_dir: str | Path,
    *,
    max_drop: float = MAX_DROP,
    force: bool = False,
    per_channel: bool = False,
    op_types: Sequence[str] | None = None,
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
        op_types: the ONNX operators to quantise (None: every one the quantiser supports,
            ``MatMul``, ``Gemm``, ``Gather`` ...).
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
    job = Compression.open("quantize", run, out_dir, limits=(max_drop, force), overwrite=overwrite)
    settings: dict[str, Any] = {
        "weight_type": "int8",
        "per_channel": per_channel,
        "op_types": list(op_types) if op_types is not None else "all",
    }
    with tempfile.TemporaryDirectory(prefix="manyheads-quantize-") as tmp:
        fp32, int8 = Path(tmp) / "fp32" / "model.onnx", Path(tmp) / "int8" / "model.onnx"
        fp32.parent.mkdir()
        int8.parent.mkdir()
        export_onnx(run, fp32)
        _quantize_graph(fp32, int8, per_channel=per_channel, op_types=op_types)
        report = _report(job, (fp32, int8), settings)
        job.refuse_dropped(report, "int8 quantisation")
        _write(job, int8, sidecar_path(fp32), report)
    return report


def _quantize_graph(
    fp32: Path, int8: Path, *, per_channel: bool, op_types: Sequence[str] | None
) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantiser logs, on the root logger, advice to run its pre-processing first; that
    # pre-processing (symbolic shape inference) fails on the dynamo exporter's graphs, so the
    # graph is quantised as exported and the advice is not printed to every user.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            fp32,
            int8,
            op_types_to_quantize=list(op_types) if op_types is not None else None,
            per_channel=per_channel,
            weight_type=QuantType.QInt8,
        )
    finally:
        root.setLevel(level)


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
