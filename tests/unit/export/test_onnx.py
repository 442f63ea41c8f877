"""Every architecture and encoder exports to ONNX and matches eager PyTorch, or is refused.

One graph per architecture on the smallest input it reads (the toy table; images for those
that read only images), and one per encoder under ``hps`` (text encoders with a row task and a
CRF tagging task on a ``tokens`` column). Each graph runs on the traced batch and on a smaller
one (a new batch size and, for text, a new sequence width).
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

from tests._bert import save_tiny_bert
from tests.contract.test_architectures import PROBLEMS
from tests.contract.test_encoders import ARCH_SMALL, make_case, sequence_case

from manyheads.architectures import MTLModel, create_model, list_architectures
from manyheads.architectures._registry import architecture_options, build_model
from manyheads.encoders import encoder_info, list_encoders
from manyheads.errors import DataError, InvalidParameterError
from manyheads.export import (
    REFUSED,
    check_exportable,
    export_onnx,
    made_by_manyheads,
    sidecar_path,
)
from manyheads.export._onnx import export_graph, open_session, run_graph, trim_batch
from manyheads.export._parity import compare_outputs
from manyheads.tasks import Task
from manyheads.workflow._run import Run

#: Encoders refused with a reason (:data:`manyheads.export.REFUSED`), by registry name.
REFUSED_ENCODERS = {"bilstm": "pack_padded_sequence"}


pytestmark = pytest.mark.usefixtures("one_thread")


def _eager(model: MTLModel, x: dict[str, Tensor]) -> dict[str, np.ndarray]:
    with torch.no_grad():
        return {t: v.numpy() for t, v in model(x).items()}


def assert_exports(model: MTLModel, x: dict[str, Tensor], path: Path) -> None:
    """Export, then compare onnxruntime and eager on ``x`` and on its first three rows."""
    model.eval()
    export_graph(model, x, path)
    session = open_session(path)
    assert [o.name for o in session.get_outputs()] == model.task_names
    for batch in (trim_batch(x), trim_batch({k: v[:3] for k, v in x.items()})):
        parity = compare_outputs(run_graph(session, batch), _eager(model, batch))
        assert all(p.passed for p in parity.values()), parity


def _small(arch: str) -> dict[str, object]:
    valid = architecture_options(arch)
    return {k: v for k, v in ARCH_SMALL.items() if k in valid}


@pytest.mark.parametrize("arch", list_architectures())
def test_every_architecture_exports(arch: str, tmp_path: Path) -> None:
    problem = PROBLEMS[arch]
    torch.manual_seed(0)
    model = create_model(arch, problem.spec, problem.out_dims, **_small(arch))
    assert_exports(model, {k: v[:8] for k, v in problem.x.items()}, tmp_path / "m.onnx")


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 1-layer, 16-wide BERT with MiniLM's tokenizer (no hub access)."""
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), hidden=16, layers=1)


def _text_model(encoder: str, tiny_bert: str) -> tuple[MTLModel, dict[str, Tensor]]:
    """``hps`` on a ``tokens`` column: a row task and a CRF tagging task (emissions and CRF
    scores are the graph's output; Viterbi decoding stays with the task type)."""
    case = sequence_case(encoder, True, tiny_bert if encoder == "pretrained" else None)
    torch.manual_seed(0)
    options = {**_small("hps"), "encoder": encoder, "encoder_options": case.options}
    model = create_model("hps", case.spec, {"label": 3, "tag": 4}, **options)
    model.token_level, model.token_tasks = True, frozenset({"tag"})
    model.towers.add_crf("tag")  # type: ignore[operator]
    return model, case.x


@pytest.mark.parametrize(
    "encoder", [e for e in list_encoders() if e != "tabular" and e not in REFUSED_ENCODERS]
)
def test_every_encoder_exports_under_hps(encoder: str, tiny_bert: str, tmp_path: Path) -> None:
    if not encoder_info(encoder).token_ids:
        case = make_case(encoder)
        torch.manual_seed(0)
        options = {**_small("hps"), "encoder": encoder, "encoder_options": case.options}
        model = create_model("hps", case.spec, {"a": 3, "b": 1}, **options)
        x = case.x
    else:
        model, x = _text_model(encoder, tiny_bert)
    assert_exports(model, x, tmp_path / "m.onnx")


@pytest.mark.parametrize("encoder", sorted(REFUSED_ENCODERS))
def test_refused_encoders_say_why(encoder: str) -> None:
    case = make_case(encoder)
    options = {**_small("hps"), "encoder": encoder, "encoder_options": case.options}
    model = create_model("hps", case.spec, {"label": 3}, **options)
    with pytest.raises(InvalidParameterError, match=REFUSED_ENCODERS[encoder]):
        check_exportable(model)
    assert {type(m) for m in model.modules()} & set(REFUSED)


def _tiny_run() -> tuple[Run, pd.DataFrame]:
    from manyheads.data.preprocess import TablePreprocessor

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=40), "c": rng.choice(["a", "b"], size=40)})
    frame["y"] = (frame.x > 0).astype(int)
    frame["v"] = 2.0 * frame.x
    tasks = [Task("y", type="binary"), Task("v", type="regression")]
    pre = TablePreprocessor({"x": "numeric", "c": "categorical"}, tasks).fit(frame)
    torch.manual_seed(0)
    model = build_model("hps", pre.spec, pre.fitted(tasks), {"hidden": [4]})
    return Run(model, tasks, pre, architecture="hps", options={"hidden": [4]}), frame


def test_export_onnx_writes_graph_and_report(tmp_path: Path) -> None:
    run, frame = _tiny_run()
    out = tmp_path / "m.onnx"
    report = export_onnx(run, out, data=frame, n_rows=16)
    assert report.passed
    assert report.rows == 16
    assert report.batch_sizes == (16, 1)
    assert set(report.tasks) == {"y", "v"}
    assert made_by_manyheads(out)
    assert sidecar_path(out).name == "m.onnx.json"
    export_onnx(run, out, data=frame)  # its own file: replaced without overwrite
    out.write_bytes(out.read_bytes() + b" ")  # changed since: no longer manyheads's
    assert not made_by_manyheads(out)
    with pytest.raises(DataError, match=r"already exists\. Pass --overwrite"):
        export_onnx(run, out, data=frame)


def test_export_above_tolerance_is_refused_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from manyheads.export import _export

    def off_by_one(onnx: dict[str, np.ndarray], eager: dict[str, np.ndarray]) -> object:
        return compare_outputs({t: v + 1.0 for t, v in onnx.items()}, eager)

    run, frame = _tiny_run()
    monkeypatch.setattr(_export, "compare_outputs", off_by_one)
    out = tmp_path / "m.onnx"
    with pytest.raises(DataError, match=r"above tolerance .* for task\(s\) y, v; nothing"):
        export_onnx(run, out, data=frame)
    assert list(tmp_path.iterdir()) == []


def test_onnx_engine_predicts_as_the_eager_engine(tmp_path: Path) -> None:
    from manyheads.export import OnnxModel, onnx_engine

    run, frame = _tiny_run()
    out = tmp_path / "m.onnx"
    with pytest.raises(DataError, match="is not a graph that manyheads exported"):
        onnx_engine(run, out)
    export_onnx(run, out, data=frame)
    engine = onnx_engine(run, out)
    assert isinstance(engine.model, OnnxModel)
    assert engine.model.shared_parameters() == []
    eager, onnx = run.predict(frame), engine.predict(frame)
    assert list(onnx.columns) == list(eager.columns)
    assert (onnx["y"] == eager["y"]).all()
    np.testing.assert_allclose(onnx["y_proba"], eager["y_proba"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(onnx["v"], eager["v"], rtol=1e-4, atol=1e-5)


def test_onnx_engine_tags_words_as_the_eager_engine(tmp_path: Path) -> None:
    """A transformer on a ``tokens`` column with a CRF tagging task: the graph gives the
    emissions and CRF scores, Viterbi decoding runs in the task type, per word, as eagerly."""
    from tests.contract.test_encoders import GOOD, SMALL, TOKENIZER, reviews

    from manyheads.data.preprocess import TablePreprocessor
    from manyheads.encoders._registry import text_options
    from manyheads.export import onnx_engine

    frame = reviews(48)
    frame["tags"] = [["POS" if w in GOOD else "O" for w in words] for words in frame.words]
    tasks = [Task("label", type="multiclass"), Task("tags", type="tagging", crf=True)]
    options = SMALL["transformer"]
    pre = TablePreprocessor(
        {"words": "tokens"}, tasks, text_options=text_options("transformer", options | TOKENIZER)
    ).fit(frame)
    torch.manual_seed(0)
    arch = {"encoder": "transformer", "encoder_options": options}
    model = build_model("hps", pre.spec, pre.fitted(tasks), arch)
    run = Run(model, tasks, pre, architecture="hps", options=arch)
    out = tmp_path / "m.onnx"
    report = export_onnx(run, out, data=frame)
    assert report.passed
    eager, onnx = run.predict(frame), onnx_engine(run, out).predict(frame)
    assert list(onnx.columns) == list(eager.columns)
    assert onnx["tags"].tolist() == eager["tags"].tolist()
    assert (onnx["label"] == eager["label"]).all()


def test_a_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from manyheads.errors import ManyheadsError

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "onnxscript" else real(name)
    )
    run, frame = _tiny_run()
    with pytest.raises(ManyheadsError, match=r"missing: onnxscript\). Install it with: pip"):
        export_onnx(run, "m.onnx", data=frame)


def test_an_exporter_failure_is_a_plain_error(tmp_path: Path) -> None:
    from manyheads.errors import ManyheadsError

    class DataDependent(torch.nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            return x[:, : int(x.sum() > 0) + 1]  # a width read from the values

    run, frame = _tiny_run()
    run.model.towers.outputs["v"] = torch.nn.Sequential(  # type: ignore[index, union-attr]
        run.model.towers.outputs["v"], DataDependent()
    )
    out = tmp_path / "m.onnx"
    with pytest.raises(ManyheadsError, match=r"torch\.onnx could not export this HPS model: "):
        export_onnx(run, out, data=frame)
    assert list(tmp_path.iterdir()) == []
