"""``manyheads export RUN --format onnx`` on a tiny census run: files, parity, refusals."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

Cli = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = pytest.mark.slow  # a training run and four exports: about a minute


@pytest.fixture(scope="module")
def census_run(tmp_path_factory: pytest.TempPathFactory, census_sample: object, cli: Cli) -> Path:
    """A one-epoch MMoE run on 600 census rows (valid and test files of 200 rows)."""
    import pandas as pd

    assert isinstance(census_sample, pd.DataFrame)
    root = tmp_path_factory.mktemp("export")
    files = {}
    for name, n in (("train", 600), ("valid", 200), ("test", 200)):
        files[name] = root / f"{name}.csv"
        part = census_sample[census_sample.split == name].head(n).drop(columns=["split"])
        part.to_csv(files[name], index=False)
    cfg = root / "cfg.yaml"
    cfg.write_text(
        f"data: {{train: {files['train']}, valid: {files['valid']}, test: {files['test']}}}\n"
        "tasks:\n  income: {type: binary}\n  never_married: {type: binary}\n"
        "model: {architecture: mmoe, n_experts: 2, expert_hidden: [8], tower: [4]}\n"
        "train: {epochs: 1, batch_size: 256, monitor: income.auc}\n"
        f"output: {root / 'run'}\n"
    )
    done = cli("train", str(cfg), "--quiet", cwd=root)
    assert done.returncode == 0, done.stderr
    return root / "run"


def test_export_writes_graph_and_parity_report(census_run: Path, cli: Cli) -> None:
    import numpy as np
    import onnxruntime

    import manyheads as mh

    done = cli("export", str(census_run), "--format", "onnx", cwd=census_run.parent)
    assert done.returncode == 0, done.stderr
    assert "parity on 200 rows of the test split (batches 200, 1)" in done.stdout
    assert "income: max abs diff" in done.stdout
    assert "passed" in done.stdout
    meta = json.loads((census_run / "model.onnx.json").read_text())
    assert meta["tool"] == "manyheads"
    assert meta["parity"]["passed"] is True
    assert meta["parity"]["rtol"] == 1e-4
    assert meta["parity"]["atol"] == 1e-5
    assert set(meta["parity"]["tasks"]) == {"income", "never_married"}
    assert meta["opset"] >= 18
    assert {"torch", "onnx", "onnxruntime", "onnxscript"} <= set(meta["versions"])
    assert not list(census_run.glob(".*.tmp"))

    # the graph runs on its own, at a batch size the export never saw, one output per task
    session = onnxruntime.InferenceSession(str(census_run / "model.onnx"))
    assert [o.name for o in session.get_outputs()] == ["income", "never_married"]
    run = mh.load(census_run)
    test = census_run.parent / "test.csv"
    x = run.preprocessor.transform(mh.workflow._run.as_frame(test).head(37), labels=False).x
    feed = {f"x.{k}": v.numpy() for k, v in x.items()}
    wanted = {i.name for i in session.get_inputs()}
    income, _ = session.run(None, {k: v for k, v in feed.items() if k in wanted})
    eager = run.model.eval()(x)["income"].detach().numpy()
    np.testing.assert_allclose(income, eager, rtol=1e-4, atol=1e-5)

    # a second export replaces the files manyheads wrote, without --overwrite
    again = cli("export", str(census_run), "--format", "onnx", cwd=census_run.parent)
    assert again.returncode == 0, again.stderr


def test_predict_with_onnxruntime_matches_torch(census_run: Path, cli: Cli) -> None:
    import pandas as pd

    root = census_run.parent
    if not (census_run / "model.onnx").exists():
        done = cli("export", str(census_run), "--format", "onnx", cwd=root)
        assert done.returncode == 0, done.stderr
    frames = {}
    for engine in ("torch", "onnxruntime"):
        out = root / f"pred-{engine}.csv"
        args = ("predict", str(census_run), str(root / "test.csv"), "-o", str(out))
        done = cli(*args, "--engine", engine, "--overwrite", cwd=root)
        assert done.returncode == 0, done.stderr
        frames[engine] = pd.read_csv(out)
    torch_frame, onnx_frame = frames["torch"], frames["onnxruntime"]
    assert list(onnx_frame.columns) == list(torch_frame.columns)
    assert len(onnx_frame) == 200
    for task in ("income", "never_married"):
        proba = f"{task}_proba"
        pd.testing.assert_series_equal(onnx_frame[proba], torch_frame[proba], rtol=1e-4, atol=1e-5)
        # a class may differ only where the probability sits on the threshold
        near = (torch_frame[proba] - 0.5).abs() < 1e-4
        assert (onnx_frame[task] == torch_frame[task])[~near].all()

    # weights changed since the export (a retrained run): the old graph is refused
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    weights = census_run / "model.safetensors"
    saved = weights.read_bytes()
    with safe_open(str(weights), "pt") as f:
        metadata = f.metadata()
    tensors = load_file(weights)
    name = next(iter(tensors))
    tensors[name] = tensors[name] + 0.5
    try:
        save_file(tensors, weights, metadata=metadata)
        args = ("predict", str(census_run), str(root / "test.csv"), "-o", str(root / "p.csv"))
        stale = cli(*args, "--engine", "onnxruntime", cwd=root)
    finally:
        weights.write_bytes(saved)
    assert stale.returncode == 2
    assert "was exported from other weights" in stale.stderr


def test_export_refusals(census_run: Path, cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "no-run"
    done = cli("export", str(missing), "--format", "onnx", cwd=tmp_path)
    assert done.returncode == 2
    assert str(missing) in done.stderr
    assert "Traceback" not in done.stderr

    foreign = tmp_path / "model.onnx"
    foreign.write_bytes(b"not ours")
    args = ("export", str(census_run), "--format", "onnx", "-o", str(foreign))
    refused = cli(*args, cwd=tmp_path)
    assert refused.returncode == 2
    assert "already exists. Pass --overwrite" in refused.stderr
    assert foreign.read_bytes() == b"not ours"
    replaced = cli(*args, "--overwrite", cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    assert foreign.read_bytes() != b"not ours"
    assert (tmp_path / "model.onnx.json").exists()

    bad = cli("export", str(census_run), "--format", "tflite", cwd=tmp_path)
    assert bad.returncode == 2
    assert "invalid choice: 'tflite'" in bad.stderr


def test_predict_finds_a_graph_exported_outside_the_run(
    census_run: Path, cli: Cli, tmp_path: Path
) -> None:
    """``export RUN -o FILE`` then ``predict RUN --engine onnxruntime`` (the issue's forms)."""
    graph = tmp_path / "elsewhere" / "census.onnx"
    graph.parent.mkdir()
    done = cli("export", str(census_run), "--format", "onnx", "-o", str(graph), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pointer = json.loads((census_run / "export.json").read_text())
    assert pointer == {"tool": "manyheads", "graph": str(graph.resolve())}
    data = str(census_run.parent / "test.csv")
    outs = {}
    for name, extra in (("found", ()), ("named", ("--graph", str(graph)))):
        outs[name] = tmp_path / f"{name}.csv"
        args = ("predict", str(census_run), data, "-o", str(outs[name]), *extra)
        done = cli(*args, "--engine", "onnxruntime", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert outs["found"].read_text() == outs["named"].read_text()

    args = ("predict", str(census_run), data, "-o", str(tmp_path / "x.csv"), "--graph", str(graph))
    refused = cli(*args, cwd=tmp_path)
    assert refused.returncode == 2
    assert "--graph names an ONNX graph, which only --engine onnxruntime runs" in refused.stderr
    assert not (tmp_path / "x.csv").exists()

    graph.unlink()  # the recorded graph is gone: RUN/model.onnx, or a message naming it
    gone = cli(*args, "--engine", "onnxruntime", cwd=tmp_path)
    assert gone.returncode == 2
    assert "is not a graph that manyheads exported" in gone.stderr
    assert "Traceback" not in gone.stderr
