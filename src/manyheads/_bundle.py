"""The self-describing model bundle: ``model.safetensors`` (weights) + ``model.json`` (metadata).

``model.json`` holds the architecture and its options, the task specs, the preprocessor state
(input kinds, normalisation statistics, vocabularies, tokenizers, label mappings) and the package
version: all that prediction needs. Nothing is pickled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from manyheads.architectures._registry import build_model
from manyheads.architectures.base import MTLModel
from manyheads.data.preprocess import TablePreprocessor
from manyheads.encoders.base import InputEncoder
from manyheads.errors import DataError
from manyheads.tasks.task import Task

__all__ = ["FORMAT", "read_bundle", "write_bundle"]

FORMAT = "manyheads-model/1"


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

    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = directory / "model.safetensors.tmp"
    save_file(tensors, str(tmp), metadata={"format": FORMAT})
    os.replace(tmp, directory / "model.safetensors")
    meta = {
        "format": FORMAT,
        "version": __version__,
        "architecture": architecture,
        "options": options,
        "tasks": [t.to_dict() for t in tasks],
        "preprocessor": preprocessor.to_dict(),
        **(extra or {}),
    }
    tmp_json = directory / "model.json.tmp"
    tmp_json.write_text(json.dumps(meta, indent=1))
    os.replace(tmp_json, directory / "model.json")


def read_bundle(directory: Path) -> tuple[MTLModel, list[Task], TablePreprocessor, dict[str, Any]]:
    """Rebuild model, tasks and preprocessor from a bundle directory."""
    meta_path = directory / "model.json"
    if not meta_path.exists() or not (directory / "model.safetensors").exists():
        raise DataError(
            "not a manyheads model: model.json and model.safetensors are required (a run that "
            "did not finish has none; train it again or resume it with --resume).",
            path=str(directory),
        )
    meta: dict[str, Any] = json.loads(meta_path.read_text())
    if meta.get("format") != FORMAT:
        raise DataError(
            f"unsupported model format {meta.get('format')!r}; expected {FORMAT}.",
            path=str(meta_path),
        )
    tasks = [Task.from_dict(d) for d in meta["tasks"]]
    pre = TablePreprocessor.from_dict(meta["preprocessor"], tasks)
    model = build_model(meta["architecture"], pre.spec, tasks, pre.task_states_, meta["options"])
    model.load_state_dict(load_file(str(directory / "model.safetensors")))
    model.eval()
    return model, tasks, pre, meta
