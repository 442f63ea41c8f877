"""Two gloo ranks with batch b update exactly as one process with batch 2b, for every method."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch.multiprocessing as mp

from tests.distributed._equivalence import CASES, worker


@pytest.mark.slow  # 15 cases on 2 ranks and on one process: about 12 s of CPU
def test_two_ranks_equal_one_process_with_the_global_batch(tmp_path: Path) -> None:
    mp.spawn(worker, args=(2, str(tmp_path)), nprocs=2, join=True)
    diffs = json.loads((tmp_path / "diffs.json").read_text())
    assert len([k for k in diffs if not k.endswith(" moved")]) == len(CASES)
    for key, diff in diffs.items():
        if key.endswith(" moved"):
            assert diff > 1e-3, f"{key}: the parameters did not move ({diff})"
        else:
            assert diff < 1e-5, f"{key}: 2 ranks x 8 rows differ from 1 x 16 by {diff}"
