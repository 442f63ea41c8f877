"""A small random BERT for the pretrained-encoder tests (no hub access)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch


def save_tiny_bert(directory: Path, *, hidden: int, layers: int) -> str:
    """A small random BERT with MiniLM's tokenizer, saved as transformers saves models (no hub
    access): what the pretrained-encoder tests load instead of MiniLM."""
    transformers = pytest.importorskip("transformers")
    from manyheads.encoders.pretrained import default_model_path

    config = transformers.BertConfig(
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(directory)
    shutil.copy(Path(default_model_path()) / "tokenizer.json", directory / "tokenizer.json")
    return str(directory)
