"""Make a trained run smaller and faster, measured per task: int8 quantisation and pruning.

``quantize(run, out_dir)`` (``manyheads quantize RUN -o DIR``) quantises the exported ONNX graph
to int8 with onnxruntime (``keep_fp32``: its most sensitive nodes stay float32); ``prune(run,
out_dir, amount=0.5)`` (``manyheads prune RUN --amount 0.5 -o DIR``) removes hidden units of the
shared and tower layers with Torch-Pruning (with ``experts``, an MMoE's least-used experts too)
and fine-tunes. Each writes a new bundle and a :class:`CompressReport` (``compress.json``): per
task, the primary metric before and after on the run's validation and test splits, the file
size, the parameter count and the latency at batch 1 and 64. Quantisation needs the ``export``
extra, pruning the ``compress`` extra (``torch-pruning``).
"""

from manyheads.compress._bundle import quantized, refuse_torch_engine
from manyheads.compress._prunable import PRUNABLE, REFUSED, check_prunable
from manyheads.compress._prune import prune
from manyheads.compress._quantize import MAX_DROP, quantize
from manyheads.compress._report import CompressReport, Latency, TaskChange

__all__ = [
    "MAX_DROP",
    "PRUNABLE",
    "REFUSED",
    "CompressReport",
    "Latency",
    "TaskChange",
    "check_prunable",
    "prune",
    "quantize",
    "quantized",
    "refuse_torch_engine",
]
