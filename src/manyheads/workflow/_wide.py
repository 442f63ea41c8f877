"""The wide path's IDF is fitted on the TRAIN split, once, after the model is built (issue 17).

See :mod:`manyheads.encoders._wide`. The fitted IDF is a buffer of the model, so it is saved
with the weights (``model.safetensors``) and a loaded model reads the same TF-IDF vectors.
"""

from __future__ import annotations

from manyheads.architectures.base import MTLModel
from manyheads.data.tensors import EncodedTable
from manyheads.encoders._wide import WidePath

__all__ = ["fit_wide_path"]


def fit_wide_path(model: MTLModel, train: EncodedTable) -> bool:
    """Fit the IDF of ``model``'s wide path on the text ids of ``train`` (of a streamed train,
    its ``x``: the uniform sample of rows its tokenisers were fitted on); False when there is no
    wide path or ``train`` holds no text ids (the path then keeps IDF 0 and adds nothing)."""
    wide = getattr(getattr(model, "towers", None), "wide", None)
    x = getattr(train, "x", None)
    if not isinstance(wide, WidePath) or not isinstance(x, dict):
        return False
    if not all(key in x for key in wide.keys):
        return False
    wide.fit(x)
    return True
