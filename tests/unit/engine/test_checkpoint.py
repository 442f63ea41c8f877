"""``engine/checkpoint.py``: checkpoint.json is strict JSON and reads back what was written."""

from __future__ import annotations

import json
import math
from pathlib import Path

from manyheads.engine.checkpoint import _atomic_write_json, _unstrict


def test_non_finite_state_is_strict_json_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.json"
    data = {"best_score": math.inf, "history": [{"auc": math.nan, "loss": 0.5}], "low": -math.inf}
    _atomic_write_json(path, data)
    text = path.read_text()
    assert "Infinity" not in text
    assert "NaN" not in text
    back = json.loads(text, object_hook=_unstrict)
    assert back["best_score"] == math.inf
    assert back["low"] == -math.inf
    assert math.isnan(back["history"][0]["auc"])
    assert back["history"][0]["loss"] == 0.5
