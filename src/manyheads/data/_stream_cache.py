"""The encoded chunks of a streamed train, kept on disk so that every epoch after the encoding
pass reads tensors instead of encoding text again (``data.stream_options.cache``).

Each chunk is a folder of ``.npy`` files, one per tensor, in a temporary directory that this
module creates (``manyheads-stream-*`` under ``$TMPDIR``) and removes when the cache is
garbage-collected or the process exits; it never writes or deletes anything else.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np
import torch

from manyheads.data.tensors import EncodedTable

__all__ = ["EncodedCache"]


class EncodedCache:
    """Encoded chunks by row group, written once and read every epoch.

    Example:
        >>> cache = EncodedCache()
        >>> cache.write(0, EncodedTable({"num": torch.ones(3, 2)}, {}, {}, 3))
        >>> [t.x["num"].shape for t in cache.read(0)]
        [torch.Size([3, 2])]
        >>> cache.close()
    """

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="manyheads-stream-"))
        self.parts: dict[int, list[Path]] = {}
        self.keys: list[tuple[str, str]] = []
        self.n_bytes = 0
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.directory, True)

    def write(self, group: int, table: EncodedTable) -> None:
        """Append ``table`` to the chunks of row group ``group``."""
        keys = [(part, key) for part in ("x", "y", "mask") for key in getattr(table, part)]
        if not self.keys:
            self.keys = keys
        assert keys == self.keys, "every chunk holds the same tensors"
        folder = self.directory / f"{group:07d}-{len(self.parts.get(group, [])):04d}"
        folder.mkdir()
        for i, (part, key) in enumerate(keys):
            array = getattr(table, part)[key].numpy()
            np.save(folder / f"{i}.npy", array, allow_pickle=False)
            self.n_bytes += array.nbytes
        self.parts.setdefault(group, []).append(folder)

    def read(self, group: int) -> list[EncodedTable]:
        """The chunks of row group ``group`` (none for a group without training rows)."""
        tables = []
        for folder in self.parts.get(group, []):
            out: dict[str, dict[str, torch.Tensor]] = {"x": {}, "y": {}, "mask": {}}
            for i, (part, key) in enumerate(self.keys):
                out[part][key] = torch.from_numpy(np.load(folder / f"{i}.npy", allow_pickle=False))
            n_rows = next(iter(out["x"].values())).shape[0]
            tables.append(EncodedTable(out["x"], out["y"], out["mask"], n_rows))
        return tables

    def close(self) -> None:
        """Remove the cache's directory now."""
        self._finalizer()
