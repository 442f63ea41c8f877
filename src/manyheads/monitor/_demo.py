"""A small, fast topic + sentiment model for the replay demo, the tests and the benchmark.

It trains a two-source ``hps`` run with the default ``tabular`` encoder (bags of words) on
seeded slices of the *training* files of ``twitter-financial-news`` (never the held-out files
the replay is built from): a shuffled ``topic_rows`` of ``topic_train.csv.gz`` and
``sentiment_rows`` of ``sent_train.csv``, labels written as names (``Bearish``, ``Earnings``).
It is a stand-in for the real model (``examples/news-monitoring/model.yaml``): any run with a
topic task and a sentiment task works with ``manyheads monitor``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from manyheads.monitor._replay import SENTIMENTS, TOPICS

__all__ = ["demo_model_config", "train_demo_model", "write_training_slices"]


def write_training_slices(
    data_dir: str | Path, folder: str | Path, *, topic_rows: int, sentiment_rows: int, seed: int = 0
) -> tuple[Path, Path]:
    """Write ``topic.csv`` (text, topic) and ``sentiment.csv`` (text, sentiment) into ``folder``."""
    import pandas as pd

    data, out = Path(data_dir), Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    topic = pd.read_csv(data / "topic_train.csv.gz", keep_default_na=False)
    sent = pd.read_csv(data / "sent_train.csv", keep_default_na=False)
    topic = topic.sample(frac=1.0, random_state=seed).head(topic_rows)
    sent = sent.sample(frac=1.0, random_state=seed).head(sentiment_rows)
    topic = pd.DataFrame({"text": topic.text, "topic": [TOPICS[i] for i in topic.label]})
    sent = pd.DataFrame({"text": sent.text, "sentiment": [SENTIMENTS[i] for i in sent.label]})
    paths = out / "topic.csv", out / "sentiment.csv"
    topic.to_csv(paths[0], index=False)
    sent.to_csv(paths[1], index=False)
    return paths


def demo_model_config(
    topic_csv: Path, sentiment_csv: Path, output: Path, *, epochs: int
) -> dict[str, Any]:
    """The run config of the demo model (a mapping, as a YAML file would hold it)."""
    return {
        "data": {
            "sources": [
                {
                    "name": "topic",
                    "train": str(topic_csv),
                    "tasks": ["topic"],
                    "valid_fraction": 0.1,
                },
                {
                    "name": "sentiment",
                    "train": str(sentiment_csv),
                    "tasks": ["sentiment"],
                    "valid_fraction": 0.1,
                },
            ]
        },
        "inputs": {"text": "text"},
        "tasks": {
            "topic": {"type": "multiclass", "class_weight": "balanced"},
            "sentiment": {"type": "multiclass", "class_weight": "balanced"},
        },
        "model": {"architecture": "hps"},
        "train": {
            "epochs": epochs,
            "batch_size": 256,
            "lr": 0.01,
            "seed": 0,
            "monitor": "topic.accuracy",
        },
        "output": str(output),
    }


def train_demo_model(
    data_dir: str | Path,
    output: str | Path,
    *,
    topic_rows: int = 6000,
    sentiment_rows: int = 9543,
    epochs: int = 5,
) -> Path:
    """Train the demo model into the run directory ``output`` and return it."""
    import torch

    from manyheads.config.load import build_config
    from manyheads.workflow._fit import train_config

    out = Path(output)
    topic, sent = write_training_slices(
        data_dir,
        out.parent / f"{out.name}-data",
        topic_rows=topic_rows,
        sentiment_rows=sentiment_rows,
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small steps: more threads only contend on a shared CPU
    try:
        train_config(build_config(demo_model_config(topic, sent, out, epochs=epochs)), quiet=True)
    finally:
        torch.set_num_threads(threads)
    return out
