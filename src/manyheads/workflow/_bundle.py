"""The self-describing model bundle: ``model.safetensors`` (weights) + ``model.json`` (metadata).

``model.json`` holds the architecture and its options, the task specs, the preprocessor state
(input kinds, normalisation statistics, vocabularies, tokenizers, label mappings) and the package
version: all that prediction needs. Nothing is pickled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file, save_file

from manyheads.architectures._registry import build_model
from manyheads.architectures.base import MTLModel
from manyheads.data.preprocess import TablePreprocessor
from manyheads.encoders.base import InputEncoder
from manyheads.errors import DataError, InvalidParameterError, ManyheadsError
from manyheads.tasks.task import Task
from manyheads.workflow._bundle_meta import (
    FIX,
    FORMAT,
    check_meta,
    confine_paths,
    non_finite,
    read_meta,
    reason,
)
from manyheads.workflow._bundle_weights import check_tensors, tensor_shapes

if TYPE_CHECKING:  # a Run holds what a bundle holds; _run imports this module
    from manyheads.workflow._run import Run

__all__ = ["FORMAT", "read_bundle", "write_bundle", "write_run_bundle"]

#: What building a model from a damaged ``model.json`` can raise.
_BUILD_ERRORS = (ManyheadsError, KeyError, TypeError, ValueError, IndexError, AttributeError)


def write_bundle(
    directory: Path,
    *,
    model: MTLModel,
    architecture: str,
    options: dict[str, Any],
    tasks: list[Task],
    preprocessor: TablePreprocessor,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write the bundle into ``directory`` (weights first, then the JSON that makes it valid).

    The encoders' :meth:`~manyheads.encoders.base.InputEncoder.bundle_options` join
    ``options["encoder_options"]``, so loading reads no file outside the bundle.
    """
    from manyheads import __version__

    own: dict[str, Any] = {}
    for module in model.modules():
        if isinstance(module, InputEncoder):
            own.update(module.bundle_options())
    if own:
        options = {**options, "encoder_options": {**(options.get("encoder_options") or {}), **own}}

    meta = {
        "format": FORMAT,
        "version": __version__,
        "architecture": architecture,
        "options": options,
        "tasks": [t.to_dict() for t in tasks],
        "preprocessor": preprocessor.to_dict(),
        **(extra or {}),
    }
    try:
        text = json.dumps(meta, indent=1, allow_nan=False)  # strict JSON: no NaN, no Infinity
    except ValueError:
        raise InvalidParameterError(
            f"model.json would hold the non-finite number at '{non_finite(meta)}'; every "
            "setting and statistic must be finite (docs/reliability.md). Set a finite value."
        ) from None
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = directory / "model.safetensors.tmp"
    save_file(tensors, str(tmp), metadata={"format": FORMAT})
    os.replace(tmp, directory / "model.safetensors")
    tmp_json = directory / "model.json.tmp"
    tmp_json.write_text(text)
    os.replace(tmp_json, directory / "model.json")


def write_run_bundle(directory: Path, run: Run, *, extra: dict[str, Any] | None) -> None:
    """Write ``run``'s model bundle into ``directory``: the weights, then ``model.json`` with the
    ``extra`` keys (a grown model's ``lineage``, a pruned one's ``pruning``)."""
    write_bundle(
        directory,
        model=run.model,
        architecture=run.architecture,
        options=run.options,
        tasks=run.tasks,
        preprocessor=run.preprocessor,
        extra=extra,
    )


def read_bundle(directory: Path) -> tuple[MTLModel, list[Task], TablePreprocessor, dict[str, Any]]:
    """Rebuild model, tasks and preprocessor from a bundle directory.

    Both files are checked before anything is built: ``model.json`` against the bundle's
    schema (keys, types, finite statistics, paths inside the bundle), ``model.safetensors``'s
    header against the file's size, and the model that ``model.json`` describes against the
    tensors present (same names, same shapes; it is first built without memory, on the
    ``meta`` device). So no edit of either file can allocate more than the weights hold or
    read a file outside the bundle, and each one is a :class:`DataError` naming the file and key.

    Raises:
        DataError: the directory holds no finished model, or a file of the bundle is corrupt.
    """
    meta_path = directory / "model.json"
    weights_path = directory / "model.safetensors"
    if not directory.exists():
        raise DataError(
            "no such run directory or model bundle: check the path (a run is the 'output' "
            "folder of a training, a bundle what `run.save` or `compress` wrote).",
            path=str(directory),
        )
    if not meta_path.is_file() or not weights_path.is_file():
        raise DataError(
            "not a manyheads model: model.json and model.safetensors are required (a run that "
            "did not finish has none; train it again or resume it with --resume).",
            path=str(directory),
        )
    shapes = tensor_shapes(weights_path)
    meta = read_meta(meta_path)
    check_meta(meta, meta_path)
    options = confine_paths(meta["options"], directory, meta_path)
    try:
        tasks = [Task.from_dict(d) for d in meta["tasks"]]
        pre = TablePreprocessor.from_dict(meta["preprocessor"], tasks)
        # sizes only: no memory, no initialisation. A pretrained encoder loaded from a folder
        # inside the bundle (not what manyheads writes) is bounded by that folder's weights.
        loads = options is not meta["options"]
        with torch.device("cpu" if loads else "meta"):
            skeleton = build_model(meta["architecture"], pre.spec, pre.fitted(tasks), options)
        expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    except _BUILD_ERRORS as exc:
        raise DataError(
            f"model.json does not describe a model manyheads can build ({reason(exc)}). {FIX}",
            path=str(meta_path),
        ) from None
    check_tensors(expected, shapes, weights_path)
    try:
        model = build_model(meta["architecture"], pre.spec, pre.fitted(tasks), options)
    except _BUILD_ERRORS as exc:
        raise DataError(
            f"cannot build the model ({reason(exc)}). {FIX}", path=str(meta_path)
        ) from None
    try:
        model.load_state_dict(load_file(str(weights_path)))
    except Exception as exc:  # SafetensorError (not importable by name), OSError, RuntimeError
        raise DataError(
            f"cannot load the weights ({reason(exc)}). {FIX}", path=str(weights_path)
        ) from None
    model.eval()
    return model, tasks, pre, meta
