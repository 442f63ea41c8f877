"""Run fingerprints: what a resumed run must share with the run that wrote its checkpoint.

The resolved configuration, a digest of every encoded split and of the encodings, and the data
files' sizes and times (only to explain a change). :func:`fingerprint_changes` lists every
difference, old → new, for the refusal message of ``--resume``; a key saved under its name
before a rename (``train.weighting``) is compared under its current one.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from manyheads.config._renamed import current_key

__all__ = [
    "ADDED_LATER",
    "RECORDING_ONLY",
    "fingerprint",
    "fingerprint_changes",
    "split_digest",
    "table_digest",
]


def table_digest(tensors: Mapping[str, Tensor]) -> str:
    """A SHA-256 of named tensors (names, dtypes, shapes and bytes), e.g. an encoded split.

    Example:
        >>> a = table_digest({"x": torch.zeros(2, 3)})
        >>> a == table_digest({"x": torch.zeros(2, 3)}), a == table_digest({"x": torch.ones(2, 3)})
        (True, False)
    """
    digest = hashlib.sha256()
    for name in sorted(tensors):
        value = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def split_digest(n_rows: int, tensors: Mapping[str, Tensor]) -> dict[str, Any]:
    """The fingerprint of one encoded split: its row count and :func:`table_digest`."""
    return {"rows": int(n_rows), "sha256": table_digest(tensors)}


def _flatten(data: object, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(data, Mapping) and data:
        for key, value in data.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = data


def _digest(data: object) -> str:
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


#: Settings that only record or score (they never change the trained model): left out of the
#: fingerprint, so a resume may switch them and runs saved before they existed resume.
#: ``data.group_by`` / ``data.ranking_k`` choose the per-user ranking metrics only.
RECORDING_ONLY = ("train.affinity_every", "data.group_by", "data.ranking_k")

#: Settings added after runs were saved, each with the value that trains exactly as before it
#: existed: a checkpoint without the key resumes when the current run keeps that value.
ADDED_LATER: dict[str, object] = {"train.fused_optimizer": False, "train.compile": False}


def fingerprint(
    config: Mapping[str, Any],
    *,
    data: Mapping[str, Mapping[str, Any] | None],
    encodings: Mapping[str, Any],
    files: list[str] | None = None,
) -> dict[str, Any]:
    """What a resumed run must share with the run that wrote the checkpoint (JSON-ready).

    Args:
        config: the resolved configuration in its YAML layout; every key is kept (flattened
            to dotted keys) except ``output``, the run directory itself, and
            :data:`RECORDING_ONLY`.
        data: split name -> its :func:`split_digest` (None for an absent split).
        encodings: name -> an encoding (input vocabularies, label classes ...), kept as digests.
        files: data files, kept with their size and modification time to explain a change.

    Example:
        >>> fp = fingerprint({"train": {"lr": 0.1}}, data={}, encodings={})
        >>> fp["config"]
        {'train.lr': 0.1}
    """
    flat: dict[str, Any] = {}
    _flatten(json.loads(json.dumps(dict(config), default=str)), "", flat)
    flat.pop("output", None)
    for key in RECORDING_ONLY:  # what a run records, not what it trains: may change on resume
        flat.pop(key, None)
    stats = {}
    for name in files or []:
        try:
            st = os.stat(name)
        except OSError:
            continue
        stats[name] = {"size": st.st_size, "mtime": st.st_mtime}
    return {
        "config": flat,
        "data": {split: None if entry is None else dict(entry) for split, entry in data.items()},
        "encodings": {name: _digest(value) for name, value in encodings.items()},
        "files": stats,
    }


def _show(value: object) -> str:
    if value is _ABSENT:
        return "(absent)"
    return json.dumps(value, default=str)


_ABSENT = object()


def _rows(entry: object) -> str:
    if not isinstance(entry, Mapping):  # absent, or None: a split the run did not have
        return "no rows"
    return f"{entry['rows']} rows, sha256 {str(entry['sha256'])[:12]}"


def _stat(entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return "(not read)"
    when = datetime.datetime.fromtimestamp(float(entry["mtime"]), datetime.UTC)
    return f"{entry['size']} bytes, modified {when:%Y-%m-%d %H:%M:%S} UTC"


def fingerprint_changes(
    saved: Mapping[str, Any], current: Mapping[str, Any], *, more_epochs: bool = True
) -> list[str]:
    """One line per difference between two :func:`fingerprint` results (old → new).

    With ``more_epochs``, ``train.epochs`` may grow (a user extends a run); every other change
    is listed.

    Example:
        >>> old = fingerprint({"train": {"lr": 0.1, "epochs": 2}}, data={}, encodings={})
        >>> new = fingerprint({"train": {"lr": 0.2, "epochs": 5}}, data={}, encodings={})
        >>> fingerprint_changes(old, new)
        ['train.lr: 0.1 → 0.2']
    """
    saved_config = {current_key(k): v for k, v in _part(saved, "config").items()}
    lines = _config_changes(saved_config, _part(current, "config"), more_epochs)
    data_lines = _data_changes(_part(saved, "data"), _part(current, "data"))
    data_lines += _encoding_changes(_part(saved, "encodings"), _part(current, "encodings"))
    if data_lines:  # the files' sizes and times explain a data change
        data_lines += _file_changes(_part(saved, "files"), _part(current, "files"))
    return lines + data_lines


def _part(fp: Mapping[str, Any], key: str) -> dict[str, Any]:
    """One section of a fingerprint (empty when absent or null)."""
    return dict(fp.get(key) or {})


def _config_changes(
    old_cfg: dict[str, Any], new_cfg: dict[str, Any], more_epochs: bool
) -> list[str]:
    lines = []
    for key in sorted(set(old_cfg) | set(new_cfg)):
        old, new = old_cfg.get(key, _ABSENT), new_cfg.get(key, _ABSENT)
        if old == new or (old is _ABSENT and key in ADDED_LATER and new == ADDED_LATER[key]):
            continue
        grows = isinstance(old, int) and isinstance(new, int) and new > old
        if key == "train.epochs" and more_epochs and grows:
            continue
        note = " (epochs may grow, not shrink)" if key == "train.epochs" and more_epochs else ""
        lines.append(f"{key}: {_show(old)} → {_show(new)}{note}")
    return lines


def _data_changes(old_data: dict[str, Any], new_data: dict[str, Any]) -> list[str]:
    return [
        f"data ({split} split, encoded): {_rows(old)} → {_rows(new)}"
        for split in sorted(set(old_data) | set(new_data))
        if (old := old_data.get(split, _ABSENT)) != (new := new_data.get(split, _ABSENT))
    ]


def _encoding_changes(old_enc: dict[str, Any], new_enc: dict[str, Any]) -> list[str]:
    return [
        f"encodings.{name}: the encoding learnt from the training data changed "
        f"({str(old_enc.get(name, '-'))[:12]} → {str(new_enc.get(name, '-'))[:12]})"
        for name in sorted(set(old_enc) | set(new_enc))
        if old_enc.get(name) != new_enc.get(name)
    ]


def _file_changes(old_files: dict[str, Any], new_files: dict[str, Any]) -> list[str]:
    return [
        f"data file {name}: {_stat(old_files.get(name))} → {_stat(new_files.get(name))}"
        for name in sorted(set(old_files) | set(new_files))
        if old_files.get(name) != new_files.get(name)
    ]
