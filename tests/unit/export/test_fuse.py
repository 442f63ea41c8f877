"""A BERT-like ``pretrained`` encoder exports with onnxruntime's fused attention, and the fused
graph keeps the eager model's numbers: on rows of very different lengths, on a fully padded
row, cut to one task, and quantised to int8.

The BERT is the small random one of ``tests/_bert.py`` (2 layers, 16 wide, 2 heads).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import Tensor

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
pytest.importorskip("transformers")

import onnx
from tests._bert import save_tiny_bert

import manyheads as mh
from manyheads.architectures import MTLModel, create_model
from manyheads.compress import quantize
from manyheads.data.preprocess import TablePreprocessor
from manyheads.encoders._registry import text_options
from manyheads.export import ATOL, RTOL, export_onnx, onnx_engine
from manyheads.export._cut import cut_graph, cut_session
from manyheads.export._fuse import node_types
from manyheads.export._onnx import export_graph, open_session, run_graph, trim_batch
from manyheads.tasks import Task

pytestmark = pytest.mark.usefixtures("one_thread")

LAYERS = 2

#: Reviews from one word to past the 48 pieces kept: ragged rows in one batch.
REVIEWS = [
    "ok",
    "soft and warm " * 20,
    "the fabric is thin",
    "lovely dress, true to size, I wore it to a wedding and got compliments all night long",
    "",
    "bad",
]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> str:
    return save_tiny_bert(tmp_path_factory.mktemp("bert"), hidden=16, layers=LAYERS)


def _model(tiny_bert: str, pooling: str) -> tuple[MTLModel, dict[str, Tensor]]:
    """``hps`` on the BERT with two row tasks, and the encoded :data:`REVIEWS` plus one row
    that is all padding (no real piece at all)."""
    frame = pd.DataFrame({"review": REVIEWS * 2, "a": [0, 1, 2] * 4, "b": [0, 1] * 6})
    tasks = [Task("a", type="multiclass"), Task("b", type="binary")]
    options = {"path": tiny_bert, "max_length": 48, "pooling": pooling}
    pre = TablePreprocessor(
        {"review": "text"}, tasks, text_options=text_options("pretrained", options)
    ).fit(frame)
    x = pre.transform(frame.head(len(REVIEWS))).x
    x = {k: torch.cat([v, torch.zeros_like(v[:1])]) for k, v in x.items()}  # all padding
    torch.manual_seed(0)
    model = create_model(
        "hps", pre.spec, {"a": 3, "b": 1}, encoder="pretrained", encoder_options=options
    )
    return model.eval(), x


def _eager(model: MTLModel, x: dict[str, Tensor]) -> dict[str, np.ndarray]:
    with torch.no_grad():
        return {t: v.numpy() for t, v in model(trim_batch(x)).items()}


def _assert_close(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert list(got) == list(want)
    for task in want:
        np.testing.assert_allclose(got[task], want[task], rtol=RTOL, atol=ATOL)


def test_bert_exports_with_fused_attention(tiny_bert: str, tmp_path: Path) -> None:
    model, x = _model(tiny_bert, "mean")
    export_graph(model, x, tmp_path / "fused.onnx")
    fused = node_types(tmp_path / "fused.onnx")
    assert fused["Attention"] == LAYERS
    assert fused["SkipLayerNormalization"] == 2 * LAYERS  # after attention, after the FFN
    assert fused["BiasGelu"] == LAYERS
    assert fused["Softmax"] == fused["Erf"] == fused["Transpose"] == 0
    export_graph(model, x, tmp_path / "traced.onnx", fuse=False)  # the graph as traced
    traced = node_types(tmp_path / "traced.onnx")
    assert traced["Attention"] == 0
    assert traced["Softmax"] == LAYERS
    assert sum(fused.values()) < sum(traced.values()) / 2


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_fused_graph_matches_eager_on_ragged_rows(
    tiny_bert: str, pooling: str, tmp_path: Path
) -> None:
    model, x = _model(tiny_bert, pooling)
    lengths = x["attn:review"].sum(1).tolist()
    assert lengths[1] == 48 and lengths[0] <= 3 and lengths[-1] == 0  # noqa: PT018
    assert lengths[REVIEWS.index("")] == 2  # an empty review is [CLS] [SEP]: never all padding
    if pooling == "cls":
        # A row with no real piece (which the preprocessor never makes) reads its [CLS] state:
        # eager PyTorch's attention gives such a row zeros, the fused Attention a uniform
        # average of the padding, so only mean pooling (which reads no piece) keeps the row.
        x = {k: v[:-1] for k, v in x.items()}
        lengths = lengths[:-1]
    export_graph(model, x, tmp_path / "m.onnx")
    session = open_session(tmp_path / "m.onnx")
    # the whole ragged batch, each row alone, and the short rows alone (a narrower batch)
    batches = [x, *({k: v[i : i + 1] for k, v in x.items()} for i in range(len(lengths)))]
    batches.append({k: v[[0, 2, 5]] for k, v in x.items()})
    for batch in batches:
        _assert_close(run_graph(session, trim_batch(batch)), _eager(model, batch))


def test_fused_graph_cut_to_one_task(tiny_bert: str, tmp_path: Path) -> None:
    model, x = _model(tiny_bert, "mean")
    path = tmp_path / "m.onnx"
    export_graph(model, x, path)
    cut = cut_graph(onnx.load(str(path)), ["b"])
    onnx.checker.check_model(cut)
    assert sum(n.op_type == "Attention" for n in cut.graph.node) == LAYERS
    out = run_graph(cut_session(path, ["b"]), trim_batch(x))
    np.testing.assert_allclose(out["b"], _eager(model, x)["b"], rtol=RTOL, atol=ATOL)


def _trained_run(root: Path, tiny_bert: str) -> Path:
    """One epoch on the BERT from a config file (as ``manyheads train`` does): a run whose
    config names its data, which quantize scores."""
    from manyheads.config.load import load_config
    from manyheads.workflow._fit import train_config

    frame = pd.DataFrame({"review": REVIEWS * 8, "good": [0, 1, 0, 1, 1, 0] * 8})
    for name in ("train", "valid", "test"):
        frame.to_csv(root / f"{name}.csv", index=False)
    cfg = root / "cfg.yaml"
    cfg.write_text(
        f"data: {{train: {root / 'train.csv'}, valid: {root / 'valid.csv'}, "
        f"test: {root / 'test.csv'}}}\n"
        "inputs: {review: text}\ntasks:\n  good: {type: binary}\n"
        f"model: {{architecture: hps, encoder: pretrained, hidden: [], tower: [], "
        f"encoder_options: {{path: {tiny_bert}, max_length: 16}}}}\n"
        "train: {epochs: 1, batch_size: 16}\n"
        f"output: {root / 'run'}\n"
    )
    train_config(load_config(cfg))
    return root / "run"


def test_fused_bert_run_predicts_and_quantizes(tiny_bert: str, tmp_path: Path) -> None:
    run_dir = _trained_run(tmp_path, tiny_bert)
    run = mh.load(run_dir)
    report = export_onnx(run)  # RUN/model.onnx; the parity check passes on the fused graph
    assert report.passed
    assert node_types(run_dir / "model.onnx")["Attention"] == LAYERS
    rows = tmp_path / "test.csv"  # predict --engine onnxruntime (and serve's engine)
    ort = onnx_engine(mh.load(run_dir)).predict(rows)
    pd.testing.assert_frame_equal(ort, run.predict(rows), rtol=1e-4, atol=1e-5)
    q = quantize(run, tmp_path / "int8", force=True)
    assert q.size_ratio > 1
    assert node_types(tmp_path / "int8" / "model.onnx")["Softmax"] == 0  # still fused


def test_an_encoder_the_optimiser_cannot_read_is_exported_unfused_and_exact(
    tiny_bert: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnxruntime.transformers.optimizer as optimizer

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("an unknown BERT variant")

    monkeypatch.setattr(optimizer, "optimize_model", broken)
    model, x = _model(tiny_bert, "mean")
    with pytest.warns(UserWarning, match=r"optimiser failed on this encoder \(ValueError: an "):
        export_graph(model, x, tmp_path / "plain.onnx")
    assert node_types(tmp_path / "plain.onnx")["Attention"] == 0
    session = open_session(tmp_path / "plain.onnx")
    _assert_close(run_graph(session, trim_batch(x)), _eager(model, x))
