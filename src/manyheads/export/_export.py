"""Export a trained run to ONNX: sample its data, trace, prove parity, write the files.

``export_onnx`` writes ``model.onnx`` (the graph, weights inside) and ``model.onnx.json``
(tolerances, per-task differences, opset, versions, the graph's inputs and outputs) next to it.
The graph is written to a temporary file and renamed only after the parity check passes, so a
refused export leaves nothing behind. A ``model.onnx`` that manyheads wrote (its ``.json`` says
so and matches its hash) is replaced; any other existing file only with ``overwrite=True``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from manyheads._files import atomic_write, atomic_write_text, check_output_file
from manyheads.errors import DataError
from manyheads.export._onnx import (
    INPUT_PREFIX,
    OPSET,
    check_exportable,
    export_graph,
    open_session,
    require_export_extra,
    run_graph,
    trim_batch,
)
from manyheads.export._parity import ATOL, RTOL, ParityReport, compare_outputs, merge_parity
from manyheads.export._sample import sample_rows
from manyheads.workflow._bundle_weights import bundle_weights_sha256, file_sha256
from manyheads.workflow._run import Data, Run

__all__ = ["GRAPH_POINTER", "export_onnx", "made_by_manyheads", "sidecar_path", "weights_hash"]

#: The file in a run directory that names the graph its last export wrote (``export -o FILE``
#: may write it outside the run), so that ``predict``/``serve --engine onnxruntime`` find it.
GRAPH_POINTER = "export.json"

#: Packages whose versions the sidecar records (they decide the graph and its numbers).
_PACKAGES = ("manyheads", "torch", "onnx", "onnxruntime", "onnxscript")


def sidecar_path(model_path: Path) -> Path:
    """``model.onnx`` -> ``model.onnx.json``, the parity report and metadata of the graph."""
    return model_path.with_name(model_path.name + ".json")


def weights_hash(run: Run) -> str | None:
    """The SHA-256 of the run's ``model.safetensors`` (None for a run not on disk): the
    sidecar records it, so that a graph of weights retrained since is not used."""
    return bundle_weights_sha256(run.directory)


def made_by_manyheads(path: Path) -> bool:
    """``path`` is a graph manyheads exported: its sidecar names manyheads and its hash."""
    try:
        meta = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
        return bool(meta.get("tool") == "manyheads" and meta.get("sha256") == file_sha256(path))
    except (OSError, ValueError, AttributeError):
        return False


def _check_outputs(out: Path, *, overwrite: bool) -> None:
    """Refuse to replace a graph or a sidecar that manyheads did not write."""
    owned = made_by_manyheads(out)
    check_output_file(out, overwrite=overwrite, extensions=(".onnx",), owned=owned)
    side = sidecar_path(out)
    if side.exists() and not (owned or overwrite):
        raise DataError(
            "already exists and was not written by a manyheads export of this graph. Pass "
            "--overwrite to replace it, or choose another -o.",
            path=str(side),
        )


def _eager(run: Run, x: dict[str, Tensor]) -> dict[str, np.ndarray]:
    with torch.no_grad():
        return {t: v.float().numpy() for t, v in run.model(x).items()}


def _example(x: dict[str, Tensor]) -> dict[str, Tensor]:
    """At least two rows: the exporter fixes an axis of size 1 as a constant."""
    n = next(iter(x.values())).shape[0]
    return x if n >= 2 else {k: torch.cat([v, v]) for k, v in x.items()}


def _parity(run: Run, graph: Path, x: dict[str, Tensor], source: str) -> ParityReport:
    """Run the sample as one batch and its first row alone, through both engines."""
    session = open_session(graph)
    n = next(iter(x.values())).shape[0]
    batches = [trim_batch(x), trim_batch({k: v[:1] for k, v in x.items()})]
    parts = [compare_outputs(run_graph(session, b), _eager(run, b)) for b in batches]
    return ParityReport(merge_parity(parts), RTOL, ATOL, n, (n, 1), source)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out


def _metadata(run: Run, x: dict[str, Tensor], parity: ParityReport, sha: str) -> dict[str, Any]:
    inputs = [
        {"name": INPUT_PREFIX + k, "key": k, "dtype": str(v.dtype).removeprefix("torch.")}
        for k, v in x.items()
    ]
    outputs = [{"name": t.name, "type": t.type} for t in run.tasks]
    return {
        "tool": "manyheads",
        "format": "onnx",
        "sha256": sha,
        "weights_sha256": weights_hash(run),
        "opset": OPSET,
        "versions": _versions(),
        "architecture": run.architecture,
        "run": str(run.directory) if run.directory is not None else None,
        "inputs": inputs,
        "outputs": outputs,
        "parity": parity.to_dict(),
    }


def export_onnx(
    run: Run,
    path: str | Path | None = None,
    *,
    data: Data | None = None,
    overwrite: bool = False,
    n_rows: int = 256,
    fuse: bool = True,
) -> ParityReport:
    """Export ``run``'s network to ONNX and prove it matches eager PyTorch on the run's rows.

    Args:
        run: a trained run (:func:`manyheads.load`).
        path: the ``.onnx`` file to write; default ``model.onnx`` in the run directory.
        data: rows for the parity check; default the run's own test split, else validation.
        overwrite: replace an existing file that manyheads did not write.
        n_rows: the number of rows of the parity sample (a seeded sample of the split).
        fuse: write BERT-like ``pretrained`` encoders with onnxruntime's fused attention
            (:func:`~manyheads.export._onnx.export_graph`); False: the graph as traced.

    Returns:
        The parity report (also written to ``<path>.json``).

    Raises:
        InvalidParameterError: the model holds a module with no ONNX form (the reason named).
        DataError: the output cannot be written or would replace a user's file, no rows are
            available for the check, or an output is above tolerance (nothing is written).
    """
    require_export_extra()
    out = _output_path(run, path)
    _check_outputs(out, overwrite=overwrite)
    check_exportable(run.model)
    frame, source = sample_rows(run, data, n_rows)
    x = run.preprocessor.transform(frame, labels=False).x
    run.model.eval()
    with atomic_write(out) as tmp:
        export_graph(run.model, _example(x), tmp, fuse=fuse)
        parity = _parity(run, tmp, x, source)
        if not parity.passed:
            raise DataError(
                f"the exported graph differs from the eager model above tolerance (rtol "
                f"{RTOL:g}, atol {ATOL:g}) for task(s) {', '.join(parity.failed())}; nothing "
                "was written.\n" + "\n".join(parity.lines()),
                path=str(out),
            )
        sha = file_sha256(tmp)
    meta = _metadata(run, x, parity, sha)
    atomic_write_text(sidecar_path(out), json.dumps(meta, indent=2) + "\n")
    _point_to(run, out)
    return parity


def _point_to(run: Run, graph: Path) -> None:
    """Record in the run directory which graph its last export wrote (:data:`GRAPH_POINTER`).
    A run directory that cannot be written to (a read-only bundle) gets no record: the
    graph's path is then given to the engine (``predict --graph FILE``)."""
    if run.directory is None:
        return
    record = {"tool": "manyheads", "graph": str(graph.resolve())}
    try:
        atomic_write_text(Path(run.directory) / GRAPH_POINTER, json.dumps(record, indent=2) + "\n")
    except OSError:
        return


def _output_path(run: Run, path: str | Path | None) -> Path:
    if path is not None:
        return Path(path)
    if run.directory is None:
        raise DataError("the run has no directory to write model.onnx into: pass a path.")
    return run.directory / "model.onnx"
