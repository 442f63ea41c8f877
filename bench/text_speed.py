"""Fine-tuning and inference speed of the ``pretrained`` encoder (MiniLM-L6) against plain code.

Contract::

    MANYHEADS_DATA=../shared/data python bench/text_speed.py --steps 20 --json out.json --markdown

(a) **Training step.** Two heads on the women's clothing reviews ('Review Text' -> 'Department
Name', 6 classes, and 'Rating', 5 classes) on MiniLM-L6, fine-tuned. manyheads: the ``hps``
architecture with no hidden layers and no towers (MiniLM, mean pooling, one linear layer per
task), trained by :func:`manyheads.engine.loop.train_one_epoch` (equal weighting) with the
trainer's AdamW param groups, one call per step on a one-batch table. Plain: the same MiniLM via
``transformers.AutoModel``, ids from ``AutoTokenizer`` (the same ids, checked), masked mean
pooling, two ``nn.Linear`` heads, summed cross-entropy, ``torch.optim.AdamW``. Both see the same
batches (tokenised beforehand, padded to the batch's longest row, at most ``--max-length``
pieces), timed in alternation in one process; ``ratio`` is manyheads' median over plain's
(target <= 1.1). With ``--precision bf16`` both loops run their forward under bfloat16 autocast
(``train.precision: bf16``; the plain loop wraps its forward in ``torch.autocast`` the same way),
and manyheads' float32 step is timed in the same alternation, so ``bf16_speedup`` is its float32
time over its bfloat16 time.

(b) **Inference.** Rows per second of the multi-task model above against the T = 2 single-task
models it replaces (the same network with one head each), run one after the other on the same
encoded rows with :func:`manyheads.engine.loop.predict_outputs`; ``speedup`` is the ratio
(target >= 0.9 x T: the encoder, shared once, dominates).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor, nn

from manyheads import create_method
from manyheads.architectures._registry import build_model
from manyheads.architectures.base import MTLModel
from manyheads.config.train import TrainSettings
from manyheads.data.preprocess import TablePreprocessor
from manyheads.data.tensors import EncodedTable
from manyheads.encoders._registry import text_options
from manyheads.encoders._text import masked_mean
from manyheads.encoders.pretrained import default_model_path, load_pretrained
from manyheads.engine._optim import build_optimizer, param_groups
from manyheads.engine.events import Events
from manyheads.engine.loop import LoopState, predict_outputs, train_one_epoch
from manyheads.tasks import FittedTask, Task

FILE = "womens-clothing-reviews/womens_clothing_ecommerce_reviews.csv.gz"
TEXT, TASKS = "Review Text", ("Department Name", "Rating")
LR = 2e-5

Step = Callable[[], None]


def load_rows(n_rows: int) -> pd.DataFrame:
    """The first ``n_rows`` reviews with a text and both labels."""
    root = os.environ.get("MANYHEADS_DATA")
    if not root:
        raise SystemExit("Set MANYHEADS_DATA to the shared data folder (../shared/data).")
    frame = pd.read_csv(Path(root) / FILE)
    frame = frame.dropna(subset=[TEXT, *TASKS]).head(n_rows).reset_index(drop=True)
    frame["Rating"] = frame["Rating"].astype(str)
    return frame[[TEXT, *TASKS]]


def interleaved(steps: list[Step], repeats: int, warmup: int = 2) -> list[float]:
    """Median seconds of each step, timed in alternation (fair on a shared, noisy CPU)."""
    for _ in range(warmup):
        for s in steps:
            s()
    times: list[list[float]] = [[] for _ in steps]
    for _ in range(repeats):
        for k, s in enumerate(steps):
            began = time.perf_counter()
            s()
            times[k].append(time.perf_counter() - began)
    return [statistics.median(t) for t in times]


# -- manyheads ---------------------------------------------------------------------------------
def fit_preprocessor(frame: pd.DataFrame, max_length: int) -> TablePreprocessor:
    tasks = [Task(name, type="multiclass") for name in TASKS]
    options = text_options("pretrained", {"max_length": max_length})
    return TablePreprocessor({TEXT: "text"}, tasks, text_options=options).fit(frame)


def manyheads_model(pre: TablePreprocessor, tasks: list[FittedTask], max_length: int) -> MTLModel:
    """MiniLM (mean pooling) -> one linear layer per task."""
    torch.manual_seed(0)
    options = {"hidden": [], "tower": [], "encoder": "pretrained"}
    options["encoder_options"] = {"max_length": max_length}
    return build_model("hps", pre.spec, tasks, options)


def manyheads_step(
    pre: TablePreprocessor,
    tables: list[EncodedTable],
    batch_size: int,
    max_length: int,
    precision: str = "fp32",
) -> Step:
    """One manyheads training step per call: ``train_one_epoch`` on the next one-batch table."""
    model = manyheads_model(pre, pre.fitted_tasks, max_length)
    method = create_method("ew", len(pre.tasks))
    settings = TrainSettings(lr=LR, batch_size=batch_size, precision=precision)
    optimizer = build_optimizer(param_groups(model, method, settings), settings)
    loop = LoopState(optimizer, torch.Generator().manual_seed(0), torch.device("cpu"))
    calls = [0]

    def step() -> None:
        table = tables[calls[0] % len(tables)]
        train_one_epoch(
            model,
            table,
            tasks=pre.fitted_tasks,
            method=method,
            settings=settings,
            loop=loop,
            events=Events(),
        )
        calls[0] += 1

    return step


# -- plain transformers + PyTorch --------------------------------------------------------------
class PlainModel(nn.Module):
    """MiniLM, masked mean pooling, one linear head per task."""

    def __init__(self, widths: list[int]) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.encoder = load_pretrained(default_model_path())
        hidden = int(self.encoder.config.hidden_size)
        self.heads = nn.ModuleList(nn.Linear(hidden, w) for w in widths)

    def forward(self, ids: Tensor, attn: Tensor) -> list[Tensor]:
        states = self.encoder(input_ids=ids, attention_mask=attn).last_hidden_state
        pooled = masked_mean(states, attn.bool())
        return [head(pooled) for head in self.heads]


def plain_batches(texts: list[list[str]], max_length: int) -> list[dict[str, Tensor]]:
    """Each batch tokenised by ``AutoTokenizer``: padded to its longest row, truncated."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(default_model_path())
    return [
        dict(
            tokenizer(t, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        )
        for t in texts
    ]


def plain_step(
    batches: list[dict[str, Tensor]],
    labels: list[list[Tensor]],
    widths: list[int],
    precision: str = "fp32",
) -> Step:
    model = PlainModel(widths)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0)
    calls = [0]

    def step() -> None:
        k = calls[0] % len(batches)
        model.train()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            outputs = model(batches[k]["input_ids"], batches[k]["attention_mask"])
        loss = sum(
            nn.functional.cross_entropy(o.float(), y)
            for o, y in zip(outputs, labels[k], strict=True)
        )
        assert isinstance(loss, Tensor)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        calls[0] += 1

    return step


# -- the two measurements ----------------------------------------------------------------------
def one_batch_tables(table: EncodedTable, batch_size: int, n_batches: int) -> list[EncodedTable]:
    out = []
    for k in range(n_batches):
        batch = table.take(torch.arange(k * batch_size, (k + 1) * batch_size))
        out.append(EncodedTable(batch.x, batch.y, batch.mask, batch_size))
    return out


def training(frame: pd.DataFrame, args: argparse.Namespace) -> dict[str, Any]:
    n_batches, size = 4, args.batch_size
    pre = fit_preprocessor(frame, args.max_length)
    table = pre.transform(frame.head(n_batches * size))
    tables = one_batch_tables(table, size, n_batches)
    texts = [frame[TEXT].tolist()[k * size : (k + 1) * size] for k in range(n_batches)]
    batches = plain_batches(texts, args.max_length)
    for mine, theirs in zip(tables, batches, strict=True):  # the same work: the same ids
        ids, attn = mine.x[f"ids:{TEXT}"], mine.x[f"attn:{TEXT}"]
        width = int(attn.sum(1).max())
        assert torch.equal(ids[:, :width], theirs["input_ids"]), "tokenisations differ"
    labels = [[t.y[name] for name in TASKS] for t in tables]
    widths = [t.out_dim for t in pre.fitted_tasks]
    steps = [
        manyheads_step(pre, tables, size, args.max_length, args.precision),
        plain_step(batches, labels, widths, args.precision),
    ]
    if args.precision == "bf16":  # manyheads' float32 step in the same alternation
        steps.append(manyheads_step(pre, tables, size, args.max_length))
    times = interleaved(steps, args.steps)
    mine_s, plain_s = times[:2]
    out = {
        "precision": args.precision,
        "batch_size": size,
        "max_length": args.max_length,
        "mean_pieces": round(float(table.x[f"attn:{TEXT}"].sum(1).float().mean()), 1),
        "manyheads_ms": round(mine_s * 1e3, 1),
        "plain_ms": round(plain_s * 1e3, 1),
        "ratio": round(mine_s / plain_s, 3),
    }
    if args.precision == "bf16":
        out["manyheads_fp32_ms"] = round(times[2] * 1e3, 1)
        out["bf16_speedup"] = round(times[2] / mine_s, 3)
    return out


def inference(frame: pd.DataFrame, args: argparse.Namespace) -> dict[str, Any]:
    pre = fit_preprocessor(frame, args.max_length)
    table = pre.transform(frame.head(args.rows))
    multi = manyheads_model(pre, pre.fitted_tasks, args.max_length)
    singles = [manyheads_model(pre, [t], args.max_length) for t in pre.fitted_tasks]
    device = torch.device("cpu")

    def run_multi() -> None:
        predict_outputs(multi, table, batch_size=args.batch_size, device=device)

    def run_singles() -> None:
        for model in singles:
            predict_outputs(model, table, batch_size=args.batch_size, device=device)

    multi_s, singles_s = interleaved([run_multi, run_singles], max(3, args.steps // 4), 1)
    n_tasks = len(singles)
    return {
        "rows": args.rows,
        "n_tasks": n_tasks,
        "multi_rows_per_s": round(args.rows / multi_s, 1),
        "singles_rows_per_s": round(args.rows / singles_s, 1),
        "speedup": round(singles_s / multi_s, 3),
        "target": round(0.9 * n_tasks, 2),
    }


def markdown(report: dict[str, Any]) -> str:
    t, i = report["training"], report["inference"]
    return "\n".join(
        [
            f"Machine: {report['machine']}",
            "",
            "| fine-tuning MiniLM-L6, 2 heads | ms / step | ratio |",
            "|---|---:|---:|",
            f"| manyheads (`train_one_epoch`) | {t['manyheads_ms']} | {t['ratio']} |",
            f"| plain transformers + PyTorch | {t['plain_ms']} | 1.0 |",
            *(
                [
                    f"| manyheads in float32 | {t['manyheads_fp32_ms']} | bf16 speedup "
                    f"{t['bf16_speedup']} |"
                ]
                if "bf16_speedup" in t
                else []
            ),
            "",
            f"(precision {t.get('precision', 'fp32')}, batch {t['batch_size']}, "
            f"max_length {t['max_length']}, "
            f"{t['mean_pieces']} pieces per row on average)",
            "",
            f"| inference, {i['rows']} rows | rows / s | speedup |",
            "|---|---:|---:|",
            f"| one multi-task model | {i['multi_rows_per_s']} | {i['speedup']} |",
            f"| {i['n_tasks']} single-task models | {i['singles_rows_per_s']} | 1.0 |",
            "",
            f"(target: speedup >= {i['target']})",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run both measurements; print JSON (and a Markdown table with ``--markdown``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per side")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=64, help="pieces kept per review")
    parser.add_argument("--rows", type=int, default=256, help="rows of the inference test")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument(
        "--precision", default="fp32", choices=("fp32", "bf16"), help="training forward dtype"
    )
    parser.add_argument("--json", default=None, help="write the results to this file")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    frame = load_rows(max(args.rows, 4 * args.batch_size, 1000))
    report = {
        "machine": f"{platform.machine()} {torch.get_num_threads()} threads, torch "
        f"{torch.__version__}",
        "training": training(frame, args),
        "inference": inference(frame, args),
    }
    print(json.dumps(report), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    if args.markdown:
        print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
