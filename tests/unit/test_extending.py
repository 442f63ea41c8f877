"""``docs/extending.md`` works as written: its Python blocks, run in order, add a toy
architecture, a toy encoder and a toy balancing method (one class and one registry call each)
and train them through :func:`manyheads.fit`. The doc is the test's code, so the two cannot
drift apart."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from manyheads import METHODS
from manyheads._registry import Registry
from manyheads.architectures import ARCHITECTURES
from manyheads.encoders import ENCODERS

DOC = Path(__file__).resolve().parents[2] / "docs" / "extending.md"
ADDED: list[tuple[Registry[Any], str]] = [
    (ARCHITECTURES, "bottleneck"),
    (ENCODERS, "scaled_numbers"),
    (METHODS, "softmax_loss"),
]


def python_blocks(text: str) -> list[str]:
    """The fenced ```python blocks of a Markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.DOTALL | re.MULTILINE)


@pytest.fixture
def _registries() -> Iterator[None]:
    """Take the doc's runtime registrations out again, so the registries stay as shipped."""
    yield
    for registry, name in ADDED:
        registry._docs.pop(name, None)
        registry._factories.pop(name, None)


@pytest.mark.usefixtures("_registries")
def test_the_doc_adds_an_architecture_and_an_encoder_that_train() -> None:
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) == 4  # the architecture, the encoder, their use, a balancing method
    namespace: dict[str, Any] = {"__name__": "extending_doc"}
    torch.manual_seed(0)
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # the doc's own assertions run too
    for registry, name in ADDED:
        assert name in registry
    run = namespace["run"]
    assert run.model.input.scale == 0.5
    # the doc's architecture takes `tasks=` as every architecture must (serve's `tasks=[...]`)
    model = namespace["tabular"].model.eval()
    x = namespace["tabular"].preprocessor.transform(namespace["frame"], labels=False).x
    with torch.no_grad():
        full, one = model(x), model(x, tasks=["z"])
    assert list(one) == ["z"]
    assert torch.equal(one["z"], full["z"])
    assert {p.shape[0] for p in run.model.bottom.parameters()} == {3}  # model_options width
