"""``encoders/pretrained.py``: a model folder loads safetensors weights only, never a pickle."""

from __future__ import annotations

from pathlib import Path

import pytest

from manyheads.encoders.pretrained import check_model_dir
from manyheads.errors import InvalidParameterError


def test_a_folder_with_only_pickled_weights_is_refused(tmp_path: Path) -> None:
    for name in ("config.json", "tokenizer.json"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"a pickle")
    with pytest.raises(InvalidParameterError, match=r"lacks model.safetensors.*pytorch_model"):
        check_model_dir(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert check_model_dir(tmp_path) == tmp_path
