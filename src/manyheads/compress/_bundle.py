"""The folder a compression writes: a new model bundle, its ``config.yaml`` and ``compress.json``.

The folder is checked before anything is measured (:func:`check_bundle_output`) and written
only once the report allows it, so a refused compression writes nothing. It is a run folder
(``.manyheads-run`` marker, written first): ``manyheads predict``, ``eval``, ``export`` and
``mh.load`` read it like a trained run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from manyheads._files import (
    atomic_write,
    atomic_write_text,
    check_output_dir,
    clear_owned,
    data_paths,
    write_marker,
)
from manyheads.compress._report import CompressReport
from manyheads.config.schema import RunConfig
from manyheads.errors import DataError, InvalidParameterError
from manyheads.workflow._run import Run, json_safe

__all__ = [
    "REPORT",
    "check_bundle_output",
    "copy_into",
    "quantized",
    "refuse_torch_engine",
    "start_bundle",
    "write_report",
]

#: The report file of a compressed bundle.
REPORT = "compress.json"


def check_bundle_output(
    out_dir: str | Path, run: Run, config: RunConfig, *, overwrite: bool
) -> Path:
    """Refuse a folder that would put a file at risk (:func:`check_output_dir`: never the run
    itself, a folder holding it or the run's data, nor a folder manyheads did not write), and
    a bundle already there unless ``overwrite``.

    Raises:
        InvalidParameterError: naming the folder, what is wrong and the fix.
    """
    protect = [*data_paths(config)]
    if run.directory is not None:
        protect.append(run.directory / "model.json")
    directory = check_output_dir(out_dir, setting="-o", protect=protect)
    if (directory / "model.json").exists() and not overwrite:
        raise InvalidParameterError(
            f"The '-o' folder '{directory}' already holds a model bundle. Choose another "
            "folder, or pass --overwrite (overwrite=True) to replace it."
        )
    return directory


def start_bundle(directory: Path, *, overwrite: bool) -> None:
    """Write the marker first; with ``overwrite``, remove the files manyheads wrote there."""
    write_marker(directory)
    if overwrite:
        clear_owned(directory)


def copy_into(directory: Path, source: Path) -> None:
    """Copy ``source`` into ``directory`` under its own name (through a temporary file)."""
    with atomic_write(directory / source.name) as tmp:
        shutil.copyfile(source, tmp)


def write_report(directory: Path, report: CompressReport) -> None:
    """Write ``compress.json`` (strict JSON: a metric a split leaves undefined is null)."""
    text = json.dumps(json_safe(report.to_dict()), indent=1, allow_nan=False)
    atomic_write_text(directory / REPORT, text + "\n")


def quantized(directory: str | Path) -> bool:
    """``directory`` is a bundle that ``manyheads quantize`` wrote."""
    try:
        meta = json.loads((Path(directory) / REPORT).read_text(encoding="utf-8"))
        return bool(meta.get("tool") == "manyheads" and meta.get("kind") == "quantize")
    except (OSError, ValueError, AttributeError):
        return False


def refuse_torch_engine(directory: str | Path) -> None:
    """Refuse to predict a quantised bundle with PyTorch (``predict --engine torch``).

    Its ``model.safetensors`` holds the float32 weights it was quantised from; its int8
    network is ``model.onnx``. Predicting with the first would silently not be the model the
    report measured.

    Raises:
        DataError: ``directory`` is a quantised bundle.
    """
    if quantized(directory):
        raise DataError(
            "is an int8 bundle written by manyheads quantize: PyTorch would run the float32 "
            "weights it was made from (model.safetensors), not its int8 network (model.onnx). "
            "Predict with --engine onnxruntime, or use the original run for PyTorch.",
            path=str(directory),
        )
