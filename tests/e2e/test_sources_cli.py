"""A three-task, two-source run from the command line on small real data (sentences + UNER)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

Cli = Callable[..., subprocess.CompletedProcess[str]]

CONFIG = """
data:
  sources:
    - {{name: sentences, dataset: sentiment-sentences, tasks: [sentiment, domain],
       columns: {{sentence: tokens}}}}
    - {{name: uner, dataset: uner-en-ewt, dataset_options: {{limit: 1000}}, tasks: [ner]}}
  sampling: temperature
  temperature: 2.0
inputs: {{tokens: tokens}}
tasks:
  sentiment: {{type: binary}}
  domain: {{type: multiclass}}
  ner: {{type: tagging, scheme: bio}}
model:
  architecture: hps
  encoder: bilstm
  encoder_options: {{hidden: 32, embedding_dim: 32, max_length: 64}}
  hidden: []
  tower: [16]
train: {{epochs: 4, batch_size: 32, lr: 0.005}}
output: {output}
"""


def test_two_sources_train_and_report_per_source(
    cli: Cli, tmp_path: Path, shared_data: Path
) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CONFIG.format(output=tmp_path / "run"))
    checked = cli("validate", str(cfg), cwd=tmp_path, data=shared_data)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    done = cli("train", str(cfg), cwd=tmp_path, data=shared_data)
    assert done.returncode == 0, done.stderr
    assert "sampling temperature (T=2)" in done.stdout + done.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    sources = metrics["sources"]
    assert set(sources["sentences"]["tasks"]) == {"sentiment", "domain"}
    assert set(sources["uner"]["tasks"]) == {"ner"}
    assert sources["sentences"]["tasks"]["domain"]["n"] == 300  # its own test split
    assert sources["uner"]["rows"] == 1000  # UNER's own (limited) test split
    assert sources["sentences"]["tasks"]["domain"]["accuracy"] > 0.5  # chance is 1/3
    per = metrics["sampling"]["sources"]
    assert per["sentences"]["rows"] == 2400
    assert per["uner"]["rows"] == 1000
    assert per["sentences"]["examples_per_epoch"] + per["uner"]["examples_per_epoch"] == 3400
    # predictions for a UNER-like file: tags per word, plus the sentence-level tasks
    rows = [{"tokens": ["Peter", "lives", "in", "Paris", "."]}, {"tokens": ["Great", "phone"]}]
    data = tmp_path / "new.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "pred.jsonl"
    pred = cli("predict", str(tmp_path / "run"), str(data), "-o", str(out), cwd=tmp_path)
    assert pred.returncode == 0, pred.stderr
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [len(r["ner"]) for r in written] == [5, 2]
    assert {r["domain"] for r in written} <= {"amazon", "imdb", "yelp"}
