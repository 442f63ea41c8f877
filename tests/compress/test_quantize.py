"""``quantize``: an int8 bundle that predicts with onnxruntime, its report, and its refusals."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

import manyheads as mh
from manyheads.compress import CompressReport, TaskChange, quantize
from manyheads.errors import DataError, InvalidParameterError

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def quantized(
    hps_run: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, CompressReport]:
    out = tmp_path_factory.mktemp("q") / "int8"
    report = mh.load(hps_run).quantize(out, force=True)  # the Python API: Run.quantize
    return out, report


def test_report_measures_each_task_size_and_latency(
    quantized: tuple[Path, CompressReport], hps_run: Path
) -> None:
    out, report = quantized
    meta = json.loads((out / "compress.json").read_text())
    assert meta["kind"] == "quantize"
    assert meta["settings"] == {
        "weight_type": "int8",
        "per_channel": False,
        "reduce_range": False,
        "op_types": "all",
        "keep_fp32": 0,
        "fp32_nodes": [],
    }
    assert set(meta["tasks"]) == {"good", "shade"}
    assert meta["tasks"]["good"]["metric"] == "auc"
    assert meta["tasks"]["shade"]["metric"] == "accuracy"
    for task in meta["tasks"].values():
        for split in ("valid", "test"):
            assert 0 <= task[split]["before"] <= 1
            assert 0 <= task[split]["after"] <= 1
    # "before" is the float32 model: the run's own score on its validation rows
    run = mh.load(hps_run)
    valid = run.evaluate(hps_run.parent / "valid.csv")["tasks"]
    assert meta["tasks"]["good"]["valid"]["before"] == pytest.approx(valid["good"]["auc"], abs=1e-6)
    assert meta["size_bytes"]["after"] == (out / "model.onnx").stat().st_size
    assert meta["n_parameters"] == {"before": run.n_parameters, "after": run.n_parameters}
    assert set(meta["latency_ms"]) == {"1", "64"}
    assert all(v["before"] > 0 and v["after"] > 0 for v in meta["latency_ms"].values())
    assert meta["max_drop"] == 0.005
    assert meta["passed"] == report.passed
    assert report.lines()[0].startswith(f"quantize {hps_run} (onnxruntime fp32 -> int8):")


def test_bundle_holds_an_int8_graph_and_loads(quantized: tuple[Path, CompressReport]) -> None:
    import onnx

    from manyheads.export import made_by_manyheads

    out, _ = quantized
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        ".manyheads-run",
        "compress.json",
        "config.yaml",
        "model.json",
        "model.onnx",
        "model.onnx.json",
        "model.safetensors",
    ]
    assert made_by_manyheads(out / "model.onnx")
    graph = onnx.load(str(out / "model.onnx"))
    types = {t.data_type for t in graph.graph.initializer}
    assert onnx.TensorProto.INT8 in types
    side = json.loads((out / "model.onnx.json").read_text())
    assert side["quantization"]["weight_type"] == "int8"
    assert side["fp32_parity"]["passed"] is True
    assert mh.load(out).model.task_names == ["good", "shade"]


def test_predict_onnxruntime_and_torch_refused(
    quantized: tuple[Path, CompressReport], hps_run: Path, cli: Cli, tmp_path: Path
) -> None:
    import pandas as pd

    out, _ = quantized
    test = hps_run.parent / "test.csv"
    done = cli(
        "predict", str(out), str(test), "--engine", "onnxruntime", "-o", "p.csv", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    int8 = pd.read_csv(tmp_path / "p.csv")
    fp32 = mh.load(hps_run).predict(test)
    assert list(int8.columns) == list(fp32.columns)
    assert (int8["good"] == fp32["good"]).mean() > 0.9

    refused = cli("predict", str(out), str(test), "-o", "t.csv", cwd=tmp_path)
    assert refused.returncode == 2
    assert "is an int8 bundle written by manyheads quantize" in refused.stderr
    assert "Predict with --engine onnxruntime" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "t.csv").exists()
    scored = cli("eval", str(out), str(test), cwd=tmp_path)  # eval runs PyTorch too
    assert scored.returncode == 2
    assert "is an int8 bundle written by manyheads quantize" in scored.stderr


def test_refused_above_max_drop_writes_nothing(
    hps_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from manyheads.compress import _quantize

    real = _quantize.task_changes

    def worse(*args: object) -> dict[str, TaskChange]:  # int8 "loses" 0.1 AUC on validation
        changes = real(*args)  # type: ignore[arg-type]
        good = changes["good"]
        changes["good"] = TaskChange(
            good.metric, True, (good.valid[0], good.valid[0] - 0.1), good.test
        )
        return changes

    monkeypatch.setattr(_quantize, "task_changes", worse)
    out = tmp_path / "int8"
    with pytest.raises(
        DataError,
        match=r"lowers the primary metric of task\(s\) good by more than --max-drop 0.005; "
        r"nothing was written\. Pass --force",
    ):
        quantize(mh.load(hps_run), out)
    assert not out.exists()
    kept = quantize(mh.load(hps_run), out, force=True)
    assert kept.failed() == ["good"]
    assert kept.forced
    assert kept.lines()[-1] == "failed (kept: --force)"
    assert json.loads((out / "compress.json").read_text())["forced"] is True


def test_output_folder_refusals(
    hps_run: Path, quantized: tuple[Path, CompressReport], tmp_path: Path
) -> None:
    run = mh.load(hps_run)
    with pytest.raises(InvalidParameterError, match="a file this run reads"):
        quantize(run, hps_run)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(InvalidParameterError, match=r"already holds files \(notes.txt\)"):
        quantize(run, mine)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    with pytest.raises(InvalidParameterError, match=r"already holds a model bundle.*--overwrite"):
        quantize(run, quantized[0])
    with pytest.raises(InvalidParameterError, match=r"'max_drop' parameter must be a finite"):
        quantize(run, tmp_path / "x", max_drop=-1.0)
    assert not (tmp_path / "x").exists()


def test_text_model_quantizes(
    tmp_path_factory: pytest.TempPathFactory, make_run: Callable[[Path, str, str], Path]
) -> None:
    from manyheads.export import onnx_engine

    root = tmp_path_factory.mktemp("text")
    model = "{architecture: hps, encoder: cnn, encoder_options: {max_length: 8}, tower: [8]}"
    run_dir = make_run(root, model, "{review: text, x: numeric}")
    report = quantize(mh.load(run_dir), root / "int8", force=True)
    assert report.size_ratio > 2  # the word embeddings are int8 now
    rows = root / "test.csv"
    int8 = onnx_engine(mh.load(root / "int8")).predict(rows)
    assert int8.shape == mh.load(run_dir).predict(rows).shape


def test_run_export_is_the_python_form_of_manyheads_export(hps_run: Path, tmp_path: Path) -> None:
    run = mh.load(hps_run)
    report = run.export(tmp_path / "m.onnx")
    assert report.passed
    assert (tmp_path / "m.onnx.json").is_file()
    with pytest.raises(InvalidParameterError, match=r"'format' parameter of Run.export must be"):
        run.export(tmp_path / "m.tflite", format="tflite")
    assert not (tmp_path / "m.tflite").exists()


def _ops(path: Path) -> dict[str, str]:
    import onnx

    return {n.name: n.op_type for n in onnx.load(str(path)).graph.node}


@pytest.fixture(scope="module")
def kept_one(
    hps_run: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, CompressReport]:
    out = tmp_path_factory.mktemp("q") / "keep1"
    return out, quantize(mh.load(hps_run), out, keep_fp32=1, force=True)


def test_the_most_sensitive_node_stays_float32(
    kept_one: tuple[Path, CompressReport], hps_run: Path
) -> None:
    """The node kept is the one whose int8 weights alone move the outputs most on the first
    validation rows, and it is still a float ``MatMul`` in the bundle's graph."""
    import tempfile

    from manyheads.compress._int8 import Int8Settings, quantizable_nodes, sensitivities
    from manyheads.compress._measure import encoded_batch, run_data
    from manyheads.export import export_onnx
    from manyheads.export._onnx import trim_batch

    out, report = kept_one
    assert report.settings["keep_fp32"] == 1
    assert "  kept in float32: " + report.settings["fp32_nodes"][0] in report.lines()
    run = mh.load(hps_run)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "m.onnx"
        export_onnx(run, fp32)
        nodes = quantizable_nodes(fp32)
        valid = run_data(run).valid.head(128)
        batches = [trim_batch(encoded_batch(run, valid.iloc[i : i + 64], 64)) for i in (0, 64)]
        errors = sensitivities(fp32, batches, Int8Settings(), nodes)
    assert set(errors) == set(nodes)
    assert all(e > 0 for e in errors.values())
    worst = max(errors, key=errors.__getitem__)
    assert report.settings["fp32_nodes"] == [worst]
    ops = _ops(out / "model.onnx")
    assert ops[worst] in ("MatMul", "Gather")  # float32, not MatMulInteger
    assert "MatMulInteger" in ops.values()  # the others are int8
    side = json.loads((out / "model.onnx.json").read_text())
    assert side["quantization"]["fp32_nodes"] == [worst]


def test_options_exclude_reduce_range_and_none_kept(
    hps_run: Path,
    quantized: tuple[Path, CompressReport],
    kept_one: tuple[Path, CompressReport],
    tmp_path: Path,
    cli: Cli,
) -> None:
    kept = kept_one[1].settings["fp32_nodes"][0]
    done = cli(
        "quantize", str(hps_run), "-o", "q", "--keep-fp32", "0", "--reduce-range",
        "--per-channel", "--exclude", kept, "--force", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    meta = json.loads((tmp_path / "q" / "compress.json").read_text())
    assert meta["settings"]["fp32_nodes"] == [kept]
    assert meta["settings"]["reduce_range"] is True
    assert meta["settings"]["per_channel"] is True
    assert _ops(tmp_path / "q" / "model.onnx")[kept] in ("MatMul", "Gather")
    default = quantized[0] / "model.onnx"  # keep_fp32=0: every quantisable node is int8
    assert "MatMul" not in _ops(default).values()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"keep_fp32": -1}, r"'keep_fp32' parameter of quantize must be an integer >= 0"),
        ({"keep_fp32": 1.5}, r"'keep_fp32' parameter of quantize must be an integer >= 0"),
        ({"op_types": ["matmul"]}, r"'op_types' parameter of quantize must name ONNX operators"
         r" that onnxruntime's dynamic quantiser takes \(.*MatMul.*\). Got unknown 'matmul'"),
        ({"op_types": []}, r"Got an empty list instead"),
        ({"exclude": ["no_such_node"]}, r"'exclude' parameter of quantize names node\(s\) "
         r"no_such_node, which the quantiser would not quantise in this run's graph\. Its "
         r"quantisable nodes: \S+"),
    ],
)  # fmt: skip
def test_bad_options_refused_and_nothing_written(
    hps_run: Path, tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        quantize(mh.load(hps_run), tmp_path / "q", **options)  # type: ignore[arg-type]
    assert not (tmp_path / "q" / "model.onnx").exists()
