"""The weights file of a bundle, ``model.safetensors``: checked before it is loaded, and hashed.

Its header is read and checked against the file's size, and the tensors it holds against those
the model of ``model.json`` needs, so that an edited or truncated file is a
:class:`~manyheads.errors.DataError` naming the tensor, never an allocation or a crash.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from manyheads.errors import DataError
from manyheads.workflow._bundle_meta import FIX

__all__ = ["bundle_weights_sha256", "check_tensors", "file_sha256", "tensor_shapes"]

#: Bytes per element of each safetensors dtype.
_DTYPE_BYTES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}
#: A header larger than this is not one manyheads wrote (a model of 10^6 tensors needs ~100 MB).
_MAX_HEADER = 100_000_000


def tensor_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor in a safetensors file, from its header, checked against
    the file's size (a truncated file, a bad header or a tensor past the end is a DataError)."""
    where = str(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            if n < 2 or n > min(size - 8, _MAX_HEADER):
                raise DataError(
                    f"not a safetensors file, or truncated ({size} bytes; the header claims "
                    f"{max(n, 0)}). {FIX}",
                    path=where,
                )
            raw = fh.read(n)
    except OSError as exc:
        raise DataError(f"cannot read the file ({exc.strerror or exc}).", path=where) from None
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(f"the safetensors header is not valid JSON. {FIX}", path=where) from None
    if not isinstance(header, dict):
        raise DataError(f"the safetensors header is not a JSON object. {FIX}", path=where)
    body = size - 8 - n
    shapes: dict[str, tuple[int, ...]] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        ok = isinstance(entry, dict) and entry.get("dtype") in _DTYPE_BYTES
        shape = entry.get("shape") if ok else None
        offsets = entry.get("data_offsets") if ok else None
        ok = ok and isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)
        ok = ok and isinstance(offsets, list) and len(offsets) == 2
        ok = ok and all(type(o) is int for o in offsets)  # type: ignore[union-attr]
        if not ok:
            raise DataError(f"tensor '{name}' has a malformed header entry. {FIX}", path=where)
        begin, end = offsets  # type: ignore[misc]
        need = math.prod(shape) * _DTYPE_BYTES[entry["dtype"]]  # type: ignore[arg-type]
        if not 0 <= begin <= end <= body or end - begin != need:
            raise DataError(
                f"tensor '{name}' ({entry['dtype']} {shape}) needs bytes {begin}..{begin + need} "
                f"but the file holds {body} bytes of data: it is truncated or edited. {FIX}",
                path=where,
            )
        shapes[name] = tuple(shape)  # type: ignore[arg-type]
    return shapes


def check_tensors(
    expected: dict[str, tuple[int, ...]], found: dict[str, tuple[int, ...]], path: Path
) -> None:
    """The tensors the model needs are exactly those in the file, with the same shapes."""
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""))
        if extra:
            parts.append(f"unexpected {', '.join(extra[:5])}" + (" ..." if len(extra) > 5 else ""))
        raise DataError(
            f"the tensors do not match model.json ({'; '.join(parts)}). {FIX}", path=str(path)
        )
    for name, shape in expected.items():
        if found[name] != shape:
            raise DataError(
                f"tensor '{name}' has shape {list(found[name])} but model.json describes "
                f"{list(shape)} (a vocabulary, layer size or option was changed). {FIX}",
                path=str(path),
            )


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_weights_sha256(directory: Path | None) -> str | None:
    """The sha256 of the ``model.safetensors`` in ``directory``; None for no directory (a run
    never saved) or a directory without the file. Exports, grown models and distilled students
    record it, so that weights retrained since are noticed.

    Example:
        >>> bundle_weights_sha256(None) is None
        True
    """
    weights = directory / "model.safetensors" if directory is not None else None
    return file_sha256(weights) if weights is not None and weights.is_file() else None
