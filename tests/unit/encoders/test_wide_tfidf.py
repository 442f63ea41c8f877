"""The wide path's TF-IDF (encoders/_wide.py) is scikit-learn's, and it exports to ONNX."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from tests.contract.test_architectures import TABULAR

from manyheads.architectures import create_model
from manyheads.encoders._wide import WidePath, idf_of, tfidf_weights

IDS = torch.tensor([[2, 3, 3, 0], [2, 4, 0, 0], [5, 2, 6, 1], [0, 0, 0, 0], [1, 1, 0, 0]])
N_IDS = 9  # 7 and 8 never occur


def _sklearn() -> tuple[TfidfVectorizer, np.ndarray]:
    """The same rows as documents of their known ids (0 padding and 1 unknown are dropped)."""
    docs = [" ".join(f"w{i}" for i in row if i > 1) for row in IDS.tolist()]
    vec = TfidfVectorizer(token_pattern=r"w\d+", lowercase=False)
    return vec, vec.fit_transform(docs).toarray()


def test_idf_is_sklearns_smooth_idf_and_zero_off_the_vocabulary() -> None:
    vec, _ = _sklearn()
    idf = idf_of(IDS, N_IDS)
    for word, column in vec.vocabulary_.items():
        assert idf[int(word[1:])].item() == pytest.approx(vec.idf_[column], rel=1e-6)
    assert idf[[0, 1, 7, 8]].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_idf_counts_documents_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = idf_of(IDS, N_IDS)
    monkeypatch.setattr("manyheads.encoders._wide._CHUNK", 2)
    torch.testing.assert_close(idf_of(IDS, N_IDS), whole, rtol=0, atol=0)


def test_weighted_rows_are_sklearns_l2_normalised_tfidf_vectors() -> None:
    vec, expected = _sklearn()
    weights = tfidf_weights(IDS, idf_of(IDS, N_IDS))
    dense = torch.zeros(IDS.shape[0], N_IDS).scatter_add_(1, IDS, weights)
    for word, column in vec.vocabulary_.items():
        np.testing.assert_allclose(dense[:, int(word[1:])].numpy(), expected[:, column], atol=1e-6)
    assert float(dense[3:].abs().sum()) == 0.0  # an empty row and a row of unknown words


def test_logits_are_the_tfidf_vector_times_the_weights() -> None:
    wide = WidePath([("a", N_IDS), ("b", 4)], {"y": 2})
    b = torch.tensor([[2, 3], [0, 0], [3, 3], [2, 2], [1, 0]])
    wide.fit({"text:a": IDS, "text:b": b})
    with torch.no_grad():
        wide.weight["y"].normal_()
    wide.read({"text:a": IDS, "text:b": b})
    tfidf_a = torch.zeros(5, N_IDS).scatter_add_(1, IDS, tfidf_weights(IDS, wide.idf_0))
    tfidf_b = torch.zeros(5, 4).scatter_add_(1, b, tfidf_weights(b, wide.idf_1))
    expected = torch.cat([tfidf_a, tfidf_b], 1) @ wide.weight["y"].detach()
    torch.testing.assert_close(wide.logits("y", 5), expected)
    assert wide.logits("y", 15).shape == (15, 2)  # an ensemble of 3 members


@pytest.mark.parametrize("arch", ["hps", "mmoe", "stl"])  # one shared, gated, per-task encoder
def test_models_with_the_path_export_with_parity(arch: str, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from tests.unit.export.test_onnx import _small, assert_exports

    torch.manual_seed(0)
    model = create_model(arch, TABULAR.spec, TABULAR.out_dims, wide=True, **_small(arch))
    model.towers.wide.fit(TABULAR.x)
    with torch.no_grad():
        for p in model.towers.wide.parameters():
            p.normal_()
    assert_exports(model, {k: v[:8] for k, v in TABULAR.x.items()}, tmp_path / "m.onnx")
