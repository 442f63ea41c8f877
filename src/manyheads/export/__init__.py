"""Ship a trained run: export its network to ONNX with a proof of parity against eager PyTorch.

``export_onnx(run)`` writes ``model.onnx`` and ``model.onnx.json`` into the run directory
(``manyheads export RUN --format onnx``), and ``onnx_engine(run)`` predicts with that graph
in onnxruntime behind the same preprocessing (``manyheads predict --engine onnxruntime``).
Needs the ``export`` extra (``pip install 'manyheads[export]'``: onnx, onnxruntime, onnxscript).
"""

from manyheads.export._engine import OnnxModel, onnx_engine
from manyheads.export._export import export_onnx, made_by_manyheads, sidecar_path
from manyheads.export._onnx import OPSET, REFUSED, check_exportable
from manyheads.export._parity import ATOL, RTOL, ParityReport, TaskParity

__all__ = [
    "ATOL",
    "OPSET",
    "REFUSED",
    "RTOL",
    "OnnxModel",
    "ParityReport",
    "TaskParity",
    "check_exportable",
    "export_onnx",
    "made_by_manyheads",
    "onnx_engine",
    "sidecar_path",
]
