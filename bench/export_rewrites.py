"""Where the census ``mmoe`` graph spends its time in onnxruntime, and whether graph rewrites help.

Contract::

    MANYHEADS_DATA=../shared/data python bench/export_rewrites.py --json out.json

The census-income ``mmoe`` of ``bench/export_speed.py`` (the census-quality network: 8 experts of
[32], two gates, towers [16]; one epoch on 2,000 rows: the speed depends on the network, not
on its weights) is exported with :func:`manyheads.export.export_onnx`. Then:

1. a profile of onnxruntime at batch 64 (one thread): the kernel time of each operator type;
2. the exported graph against three rewrites that keep its numbers, each run at batch 64 on
   the same encoded batch, in alternation, ``--rounds`` times (median wall µs per batch):
   ``no-transpose`` (the ``Transpose -> Relu -> Transpose`` of the experts becomes one ``Relu``),
   ``matmul-mix`` (each gate's mixture ``ReduceSum(g[:, :, None] * experts, 1)`` becomes one
   batched ``MatMul``), and ``one-gemm`` (the three ``Gemm`` nodes that read the embedding,
   experts and both gates, become one ``Gemm`` and a ``Split``). Each rewrite's outputs are
   compared with the exported graph's (largest absolute difference).

None of this changes the eager model. The rewrites are here to measure, not shipped.
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import torch
from onnx import ModelProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_speed import census_run, encoded_batch
from manyheads.export import export_onnx
from manyheads.export._onnx import onnx_input


def session(model: ModelProto, profile: str | None = None) -> Any:
    """An onnxruntime CPU session on one thread (profiling into ``profile`` if given)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if profile:
        options.enable_profiling = True
        options.profile_file_prefix = profile
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def profile_ops(model: ModelProto, feed: dict[str, np.ndarray], prefix: str) -> dict[str, Any]:
    """Mean kernel µs per run of each operator type over 200 runs, and the nodes per type."""
    s = session(model, prefix)
    runs = 200
    for _ in range(runs):
        s.run(None, feed)
    events = json.loads(Path(s.end_profiling()).read_text())
    micros: collections.Counter[str] = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            micros[e["args"]["op_name"]] += e["dur"] / runs
    nodes = collections.Counter(n.op_type for n in model.graph.node)
    per_op = {k: {"us": round(v, 1), "nodes": nodes.get(k, 0)} for k, v in micros.most_common()}
    return {"per_op": per_op, "kernel_us": round(sum(micros.values()), 1)}


def _consumers(model: ModelProto) -> dict[str, list[onnx.NodeProto]]:
    out: dict[str, list[onnx.NodeProto]] = collections.defaultdict(list)
    for n in model.graph.node:
        for i in n.input:
            out[i].append(n)
    return out


def _constants(model: ModelProto) -> dict[str, np.ndarray]:
    return {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}


def _replace_nodes(model: ModelProto, new: dict[int, list[onnx.NodeProto]]) -> None:
    nodes = [m for n in model.graph.node for m in new.get(id(n), [n])]
    del model.graph.node[:]
    model.graph.node.extend(nodes)


def no_transpose(model: ModelProto) -> ModelProto:
    """``Transpose -> Relu -> Transpose`` with one reader each becomes ``Relu``."""
    model = copy.deepcopy(model)
    producer = {o: n for n in model.graph.node for o in n.output}
    readers = _consumers(model)
    new: dict[int, list[onnx.NodeProto]] = {}
    for n in model.graph.node:
        before = producer.get(n.input[0]) if n.op_type == "Relu" else None
        after = readers[n.output[0]] if before is not None else []
        if before is None or before.op_type != "Transpose" or len(after) != 1:
            continue
        if after[0].op_type != "Transpose" or len(readers[before.output[0]]) != 1:
            continue
        relu = helper.make_node("Relu", [before.input[0]], [after[0].output[0]], n.name)
        new |= {id(before): [], id(n): [relu], id(after[0]): []}
    _replace_nodes(model, new)
    return model


def matmul_mix(model: ModelProto) -> ModelProto:
    """``ReduceSum(Unsqueeze(g, -1) * e, axis 1)`` becomes ``Squeeze(Unsqueeze(g, 1) @ e, 1)``."""
    model = copy.deepcopy(model)
    producer = {o: n for n in model.graph.node for o in n.output}
    constants = _constants(model)
    model.graph.initializer.append(numpy_helper.from_array(np.array([1], np.int64), "rw_axis1"))
    new: dict[int, list[onnx.NodeProto]] = {}
    for n in model.graph.node:
        mul = producer.get(n.input[0]) if n.op_type == "ReduceSum" else None
        wide = producer.get(mul.input[0]) if mul is not None and mul.op_type == "Mul" else None
        if wide is None or wide.op_type != "Unsqueeze" or mul is None:
            continue
        if constants[wide.input[1]].tolist() != [-1] or constants[n.input[1]].tolist() != [1]:
            continue
        row, product = n.output[0] + "_row", n.output[0] + "_mm"
        new[id(wide)], new[id(mul)] = [], []
        new[id(n)] = [
            helper.make_node("Unsqueeze", [wide.input[0], "rw_axis1"], [row]),
            helper.make_node("MatMul", [row, mul.input[1]], [product]),
            helper.make_node("Squeeze", [product, "rw_axis1"], [n.output[0]]),
        ]
    _replace_nodes(model, new)
    return model


def one_gemm(model: ModelProto) -> ModelProto:
    """The ``Gemm`` nodes that read the same input with constant weights become one ``Gemm``
    (weights concatenated along the outputs) and a ``Split``."""
    model = copy.deepcopy(model)
    constants = _constants(model)
    producer = {o: n for n in model.graph.node for o in n.output}
    groups: dict[str, list[tuple[onnx.NodeProto, np.ndarray, np.ndarray]]] = {}
    for n in model.graph.node:
        weight = _gemm_weight(n, constants, producer)
        if weight is not None:
            groups.setdefault(n.input[0], []).append((n, weight, constants[n.input[2]]))
    new: dict[int, list[onnx.NodeProto]] = {}
    for source, items in groups.items():
        if len(items) < 2:
            continue
        name = f"rw_gemm_{source}"
        widths = [w.shape[1] for _, w, _ in items]
        weight = np.concatenate([w for _, w, _ in items], axis=1).astype(np.float32)
        bias = np.concatenate([np.broadcast_to(b, (w.shape[1],)) for _, w, b in items])
        model.graph.initializer.extend(
            [
                numpy_helper.from_array(weight, name + "_w"),
                numpy_helper.from_array(bias.astype(np.float32), name + "_b"),
                numpy_helper.from_array(np.array(widths, np.int64), name + "_widths"),
            ]
        )
        outputs = [n.output[0] for n, _, _ in items]
        new[id(items[0][0])] = [
            helper.make_node("Gemm", [source, name + "_w", name + "_b"], [name + "_y"]),
            helper.make_node("Split", [name + "_y", name + "_widths"], outputs, axis=1),
        ]
        new |= {id(n): [] for n, _, _ in items[1:]}
    _replace_nodes(model, new)
    return model


def _gemm_weight(
    node: onnx.NodeProto, constants: dict[str, np.ndarray], producer: dict[str, onnx.NodeProto]
) -> np.ndarray | None:
    """A plain ``Gemm``'s constant weight as ``[in, out]`` (through a ``Reshape`` of a
    constant, as the experts' fused weight is written), else None."""
    if node.op_type != "Gemm" or len(node.input) < 3 or node.input[2] not in constants:
        return None
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
        return None
    name = node.input[1]
    reshape = producer.get(name)
    if name in constants:
        weight = constants[name]
    elif reshape is not None and reshape.op_type == "Reshape" and reshape.input[0] in constants:
        weight = constants[reshape.input[0]].reshape(constants[reshape.input[1]])
    else:
        return None
    return weight.T if attrs.get("transB", 0) else weight


def time_graphs(
    graphs: dict[str, ModelProto], feed: dict[str, np.ndarray], rounds: int
) -> dict[str, Any]:
    """Median wall µs per run of each graph, in alternation, and its largest difference from
    the first graph's outputs."""
    sessions = {k: session(m) for k, m in graphs.items()}
    reference = next(iter(sessions.values())).run(None, feed)
    walls: dict[str, list[float]] = {k: [] for k in sessions}
    for _ in range(rounds):
        for k, s in sessions.items():
            began = time.perf_counter()
            s.run(None, feed)
            walls[k].append(time.perf_counter() - began)
    out = {}
    for k, s in sessions.items():
        diff = max(
            float(np.abs(a - b).max()) for a, b in zip(s.run(None, feed), reference, strict=True)
        )
        out[k] = {
            "median_us": round(1e6 * statistics.median(walls[k]), 1),
            "nodes": len(graphs[k].graph.node),
            "max_abs_diff": diff,
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3000, help="timed rounds per graph")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--json", default=None, help="write the report to this file")
    args = parser.parse_args(argv)
    if not os.environ.get("MANYHEADS_DATA"):
        raise SystemExit("Set MANYHEADS_DATA to the shared data folder (../shared/data).")
    torch.set_num_threads(1)
    run, rows = census_run("mmoe", full=False, quick=True)
    x = encoded_batch(run, rows, args.batch)
    feed = onnx_input(x)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mmoe.onnx"
        export_onnx(run, path, data=rows, n_rows=64)
        graph = onnx.load(str(path))
        profile = profile_ops(graph, feed, str(Path(tmp) / "profile"))
    graphs = {
        "exported": graph,
        "no-transpose": no_transpose(graph),
        "matmul-mix": matmul_mix(graph),
        "one-gemm": one_gemm(graph),
    }
    for model in graphs.values():
        onnx.checker.check_model(model)
    report = {
        "batch": args.batch,
        "onnxruntime": onnxruntime.__version__,
        "profile": profile,
        "graphs": time_graphs(graphs, feed, args.rounds),
    }
    print(json.dumps(report, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
