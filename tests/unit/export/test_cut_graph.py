"""A graph cut to some tasks' outputs (what the onnxruntime engine runs for ``tasks=[...]``)
computes those outputs exactly as the whole graph does, with fewer nodes, for every
architecture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

import onnx
from tests.contract.test_architectures import PROBLEMS

from manyheads.architectures import create_model, list_architectures
from manyheads.architectures._registry import architecture_options
from manyheads.export._cut import cut_graph, cut_session
from manyheads.export._onnx import export_graph, open_session, run_graph

SMALL = {"hidden": [8], "tower": [4], "expert_hidden": [8], "n_experts": 2, "channels": [4, 8]}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("arch", list_architectures())
def test_a_cut_graph_gives_the_same_outputs_with_fewer_nodes(arch: str, tmp_path: Path) -> None:
    problem = PROBLEMS[arch]
    options = {k: v for k, v in SMALL.items() if k in architecture_options(arch)}
    torch.manual_seed(0)
    model = create_model(arch, problem.spec, problem.out_dims, **options).eval()
    x = {k: v[:8] for k, v in problem.x.items()}
    path = tmp_path / "g.onnx"
    export_graph(model, x, path)
    full_graph = onnx.load(str(path))
    full = run_graph(open_session(path), x)
    tasks = model.task_names
    for asked in ([tasks[0]], [tasks[-1]], tasks[1:3]):
        cut = cut_graph(full_graph, asked)
        onnx.checker.check_model(cut)
        assert [o.name for o in cut.graph.output] == asked
        # a cascade's last task reads every tower before it: its cut is the whole graph
        assert len(cut.graph.node) <= len(full_graph.graph.node)
        if asked == [tasks[0]]:
            assert len(cut.graph.node) < len(full_graph.graph.node)
        out = run_graph(cut_session(path, asked), x)
        assert list(out) == asked
        for t in asked:
            np.testing.assert_array_equal(out[t], full[t])
